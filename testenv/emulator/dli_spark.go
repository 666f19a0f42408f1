package emulator

// registerDLISpark registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerDLISpark() {}

// sparkState holds the service's emulated resources, guarded by Emulator.mu.
type sparkState struct{}
