package emulator

// registerCDM registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerCDM() {}

// cdmState holds the service's emulated resources, guarded by Emulator.mu.
type cdmState struct{}
