// Package state keeps what the TUI's settings screen changed, between
// runs: a JSON file under $XDG_STATE_HOME/termcall (default
// ~/.local/state/termcall/state.json), never the user's config file, whose
// comments and layout stay as the user wrote them.
//
// Only the settings changed on the settings screen are in the file; each
// one set there overrides the config file (and TERMCALL_* variables) on
// the next start, and a command-line flag overrides it. The sound and
// video settings, the ringtone, the toggles and the language belong to the
// device (the machine's state directory) and survive a user switch, as the
// reference says of setCallingBell; the nickname and avatar belong to each
// user. docs/tui.md, "Settings that persist", is the user's account.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileName is the state file's name inside the state directory.
const FileName = "state.json"

// Off, as the state file's path, keeps nothing.
const Off = "off"

// State is the content of the state file. A nil field was never changed
// on the settings screen.
type State struct {
	// Version is the file format's version (1).
	Version int `json:"version"`
	// Device holds the settings of this device.
	Device Device `json:"device"`
	// Users holds each user's own settings by userId.
	Users map[string]User `json:"users,omitempty"`
}

// Device is what belongs to the device, whoever logs in.
type Device struct {
	Mic            *string  `json:"mic,omitempty"`
	Speaker        *string  `json:"speaker,omitempty"`
	Earpiece       *string  `json:"earpiece,omitempty"`
	Camera         *string  `json:"camera,omitempty"`
	Ringtone       *string  `json:"ringtone,omitempty"`
	MuteMode       *bool    `json:"muteMode,omitempty"`
	IncomingBanner *bool    `json:"incomingBanner,omitempty"`
	FloatWindow    *bool    `json:"floatWindow,omitempty"`
	Lang           *string  `json:"lang,omitempty"`
	Beauty         *float64 `json:"beauty,omitempty"`
	AIVoice        *bool    `json:"aiVoice,omitempty"`
	Blur           *int     `json:"blur,omitempty"`
	Background     *string  `json:"background,omitempty"`
}

// User is what belongs to one user.
type User struct {
	Nickname *string `json:"nickname,omitempty"`
	Avatar   *string `json:"avatar,omitempty"`
}

// DefaultPath is the state file's path: $XDG_STATE_HOME/termcall/state.json,
// else ~/.local/state/termcall/state.json. getenv is os.Getenv in use.
func DefaultPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "termcall", FileName), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no state directory: set XDG_STATE_HOME or HOME")
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "termcall", FileName), nil
}

// Load reads the state file. A missing file is an empty state; a file
// that cannot be read or parsed is an error (with an empty state, so the
// caller can go on without it).
func Load(path string) (State, error) {
	if path == "" || path == Off {
		return State{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("state file: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("state file %s: %w (ignored; it is rewritten at the next change)", path, err)
	}
	if s.Version > 1 {
		return State{}, fmt.Errorf("state file %s: version %d is newer than this termcall (ignored)", path, s.Version)
	}
	return s, nil
}

// Save writes the state file atomically (a temporary file renamed over
// it), readable by the owner only, making its directory if needed.
func Save(path string, s State) error {
	if path == "" || path == Off {
		return nil
	}
	s.Version = 1
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*.json")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(b, '\n'))
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("state file: %w", werr)
	}
	return nil
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }
