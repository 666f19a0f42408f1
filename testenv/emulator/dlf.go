package emulator

// registerDLF registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerDLF() {}

// dlfState holds the service's emulated resources, guarded by Emulator.mu.
type dlfState struct{}
