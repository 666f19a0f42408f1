package emulator

// registerDLF registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerDLF() {}
