package emulator

// registerLakeFormation registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerLakeFormation() {}

// lfState holds the service's emulated resources, guarded by Emulator.mu.
type lfState struct{}
