package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the TUI. Each screen uses a subset and
// shows it in its help line; bindings of different screens may share keys.
type KeyMap struct {
	Quit key.Binding
	Help key.Binding

	// Lists.
	Up    key.Binding
	Down  key.Binding
	Enter key.Binding
	Back  key.Binding

	// Home.
	FocusDial   key.Binding
	LeaveDial   key.Binding
	ToggleMedia key.Binding
	History     key.Binding
	Relogin     key.Binding
	Settings    key.Binding

	// Settings.
	Change key.Binding
	Next   key.Binding
	Prev   key.Binding
	Save   key.Binding

	// Incoming.
	Accept key.Binding
	Reject key.Binding
	Ignore key.Binding
	Expand key.Binding

	// Outgoing and in call.
	Cancel      key.Binding
	Mute        key.Binding
	Speaker     key.Binding
	SwitchMedia key.Binding
	Invite      key.Binding
	Hangup      key.Binding
	Compact     key.Binding
	// --- kit: switch camera ---
	SwitchCamera key.Binding

	// History.
	Filter  key.Binding
	Redial  key.Binding
	Delete  key.Binding
	Refresh key.Binding
}

// DefaultKeyMap returns the key bindings with help in the catalog's
// language.
func DefaultKeyMap(c *Catalog) KeyMap {
	b := func(help string, keys ...string) key.Binding {
		label := keys[0]
		if label == " " {
			label = "space"
		}
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(label, c.T(help)))
	}
	return KeyMap{
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", c.T("key.quit"))),
		Help: b("key.help", "?"),

		Up:    key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", c.T("key.up"))),
		Down:  key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", c.T("key.down"))),
		Enter: b("key.call", "enter"),
		Back:  b("key.back", "esc"),

		FocusDial:   key.NewBinding(key.WithKeys("/", "tab"), key.WithHelp("/", c.T("key.dial"))),
		LeaveDial:   key.NewBinding(key.WithKeys("esc", "tab"), key.WithHelp("esc", c.T("key.leavedial"))),
		ToggleMedia: b("key.media", "v"),
		History:     b("key.history", "h"),
		Relogin:     b("key.relogin", "i"),
		Settings:    key.NewBinding(key.WithKeys(",", "s"), key.WithHelp(",", c.T("key.settings"))),

		Change: key.NewBinding(key.WithKeys("enter", "space"), key.WithHelp("enter", c.T("key.change"))),
		Next:   key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("←/→", c.T("key.next"))),
		Prev:   key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←", c.T("key.prev"))),
		Save:   b("key.save", "enter"),

		Accept: key.NewBinding(key.WithKeys("a", "enter"), key.WithHelp("a", c.T("key.accept"))),
		Reject: b("key.reject", "r"),
		Ignore: b("key.ignore", "i"),
		Expand: b("key.expand", "e"),

		Cancel:      key.NewBinding(key.WithKeys("x", "esc"), key.WithHelp("x", c.T("key.cancel"))),
		Mute:        b("key.mute", "m"),
		Speaker:     b("key.speaker", "s"),
		SwitchMedia: b("key.switch", "v"),
		Invite:      b("key.invite", "+"),
		Hangup:      b("key.hangup", "x"),
		Compact:     b("key.compact", "f"),
		// --- kit: switch camera ---
		SwitchCamera: b("key.switchcam", "c"),

		Filter:  b("key.filter", "tab"),
		Redial:  b("key.redial", "enter"),
		Delete:  b("key.delete", "d"),
		Refresh: b("key.refresh", "r"),
	}
}

// bindings is one screen's help: help.KeyMap over a fixed list.
type bindings struct {
	short []key.Binding
	full  [][]key.Binding
}

func (b bindings) ShortHelp() []key.Binding  { return b.short }
func (b bindings) FullHelp() [][]key.Binding { return b.full }
