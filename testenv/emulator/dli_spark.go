package emulator

// registerDLISpark registers the routes of this service; they are not
// emulated yet.
func (e *Emulator) registerDLISpark() {}
