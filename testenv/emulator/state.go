package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stateVersion is the state file's format version.
const stateVersion = 1

// stateDoc is the state file. Its fields point at the emulator's own
// state, so one json.Marshal or json.Unmarshal covers every service: each
// service's state type only has to round-trip through encoding/json. Its
// (Un)MarshalJSON must not lock Emulator.mu, which is held meanwhile.
type stateDoc struct {
	Version       int         `json:"version"`
	SavedAt       time.Time   `json:"saved_at"`
	IAM           *iamState   `json:"iam"`
	Rules         *[]Rule     `json:"rules"`
	DLI           *dliState   `json:"dli"`
	CDM           *cdmState   `json:"cdm"`
	DIS           *disState   `json:"dis"`
	Flink         *flinkState `json:"flink"`
	Spark         *sparkState `json:"spark"`
	LakeFormation *lfState    `json:"lakeformation"`
	DLF           *dlfState   `json:"dlf"`
}

// doc returns a stateDoc over e's state. e.mu is held.
func (e *Emulator) doc() *stateDoc {
	return &stateDoc{
		Version:       stateVersion,
		IAM:           &e.iam,
		Rules:         &e.rules,
		DLI:           &e.dli,
		CDM:           &e.cdm,
		DIS:           &e.dis,
		Flink:         &e.flink,
		Spark:         &e.spark,
		LakeFormation: &e.lf,
		DLF:           &e.dlf,
	}
}

// Save writes the state to Options.StateFile, atomically: a crash leaves
// the previous file or the new one, never half of it. It refuses when the
// file existed but could not be loaded, so a bad file is not replaced by
// an empty state.
func (e *Emulator) Save() error {
	if e.stateFile == "" {
		return errors.New("emulator: no state file configured")
	}
	if e.loadErr != nil {
		return fmt.Errorf("emulator: not saving over %s, which could not be loaded: %w", e.stateFile, e.loadErr)
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	d := e.doc()
	d.SavedAt = e.now().UTC()
	b, err := json.MarshalIndent(d, "", "  ")
	e.mu.Unlock()
	if err != nil {
		return fmt.Errorf("emulator: encode state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(e.stateFile), filepath.Base(e.stateFile)+".*.tmp")
	if err != nil {
		return fmt.Errorf("emulator: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("emulator: save state: %w", err)
	}
	// Tokens are credentials: the file is the owner's only (CreateTemp's 0600).
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("emulator: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), e.stateFile); err != nil {
		return fmt.Errorf("emulator: save state: %w", err)
	}
	e.log.Info("emulator state saved", "file", e.stateFile)
	return nil
}

// load reads Options.StateFile into e; a missing file is an empty state.
func (e *Emulator) load() error {
	b, err := os.ReadFile(e.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: load state: %w", err)
	}
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("emulator: load state %s: %w", e.stateFile, err)
	}
	if v.Version != stateVersion {
		return fmt.Errorf("emulator: load state %s: version %d, want %d", e.stateFile, v.Version, stateVersion)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := json.Unmarshal(b, e.doc()); err != nil {
		return fmt.Errorf("emulator: load state %s: %w", e.stateFile, err)
	}
	if e.iam.Tokens == nil {
		e.iam.Tokens = map[string]iamToken{}
	}
	e.log.Info("emulator state loaded", "file", e.stateFile)
	return nil
}
