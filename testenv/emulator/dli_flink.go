package emulator

// registerDLIFlink registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerDLIFlink() {}

// flinkState holds the service's emulated resources, guarded by Emulator.mu.
type flinkState struct{}
