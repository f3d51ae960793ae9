package tuiapp

import (
	"slices"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/state"
)

// Saved is what the settings screen saved last time, read at the start of
// a run.
type Saved struct {
	Path   string      // the state file (state.Off: none)
	State  state.State // what it holds
	Notice string      // why it could not be read, or ""
}

// LoadSaved reads the state file (cfg.StateFile, else the default path
// under $XDG_STATE_HOME) and applies it to cfg: what the settings screen
// changed last time overrides the config file (flags applied afterwards
// still win). A state file that cannot be found or read is a notice,
// never an error.
func LoadSaved(cfg *config.Config, getenv func(string) string) Saved {
	s := Saved{Path: cfg.StateFile}
	if s.Path == "" {
		var err error
		if s.Path, err = state.DefaultPath(getenv); err != nil {
			s.Path, s.Notice = state.Off, err.Error()
		}
	}
	st, err := state.Load(s.Path)
	if err != nil {
		s.Notice = err.Error()
	}
	s.State = st
	st.ApplyTo(cfg)
	return s
}

// Saver saves the settings screen's changes for user.
func (s Saved) Saver(user string) *state.Saver { return &state.Saver{Path: s.Path, User: user} }

// Contacts are the configured contacts, then those of the flags and more,
// each once.
func Contacts(configured, flags, more []string) []string {
	contacts := slices.Clone(configured)
	for _, c := range append(slices.Clone(flags), more...) {
		if !slices.Contains(contacts, c) {
			contacts = append(contacts, c)
		}
	}
	return contacts
}

// Lang is the UI language: lang when set, else the first of
// $TERMCALL_LANG, $LC_ALL, $LC_MESSAGES and $LANG.
func Lang(lang string, getenv func(string) string) string {
	for _, n := range []string{"TERMCALL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if lang != "" {
			break
		}
		lang = getenv(n)
	}
	return lang
}

// JoinNotice joins two status-line notices.
func JoinNotice(a, b string) string {
	if b == "" {
		return a
	}
	return a + " · " + b
}
