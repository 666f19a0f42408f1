package emulator

// registerDIS registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerDIS() {}

// disState holds the service's emulated resources, guarded by Emulator.mu.
type disState struct{}
