package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the TUI, by screen: each screen matches
// keys against its own part and shows that part in its help line. Bindings
// of different screens may share keys.
type KeyMap struct {
	Global   GlobalKeys
	Home     HomeKeys
	History  HistoryKeys
	Settings SettingsKeys
	Call     CallKeys
}

// GlobalKeys work on every screen, and are shown in the screens' help
// (q and ? not while a text box has the keys).
type GlobalKeys struct {
	Quit    key.Binding
	Help    key.Binding
	Relogin key.Binding
}

// keyText makes bindings with their help in the catalog's language.
type keyText struct{ c *Catalog }

// b is a binding whose help shows its first key.
func (t keyText) b(help string, keys ...string) key.Binding {
	label := keys[0]
	if label == " " {
		label = "space"
	}
	return t.as(label, help, keys...)
}

// as is a binding whose help shows label.
func (t keyText) as(label, help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(label, t.c.T(help)))
}

// sharedKeys are the bindings several screens use.
type sharedKeys struct {
	GlobalKeys
	up, down, enter, back key.Binding
}

// DefaultKeyMap returns the key bindings with help in the catalog's
// language.
func DefaultKeyMap(c *Catalog) KeyMap {
	t := keyText{c}
	g := GlobalKeys{
		Quit:    t.as("q", "key.quit", "q", "ctrl+c"),
		Help:    t.b("key.help", "?"),
		Relogin: t.b("key.relogin", "i"),
	}
	s := sharedKeys{
		GlobalKeys: g,
		up:         t.as("↑/k", "key.up", "up", "k"),
		down:       t.as("↓/j", "key.down", "down", "j"),
		enter:      t.b("key.call", "enter"),
		back:       t.b("key.back", "esc"),
	}
	return KeyMap{Global: g, Home: homeKeys(t, s), History: historyKeys(t, s), Settings: settingsKeys(t, s), Call: callKeys(t, s)}
}

// bindings is one screen's help: help.KeyMap over a fixed list.
type bindings struct {
	short []key.Binding
	full  [][]key.Binding
}

func (b bindings) ShortHelp() []key.Binding  { return b.short }
func (b bindings) FullHelp() [][]key.Binding { return b.full }
