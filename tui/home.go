package tui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/termcall/termcall/engine"
)

// recentEntry is someone from the call records who is not a contact.
type recentEntry struct {
	who    string // a dial string: "bob" or "group:G a b"
	result engine.ResultType
}

// HomeKeys are the home screen's keys.
type HomeKeys struct {
	Up          key.Binding
	Down        key.Binding
	Enter       key.Binding
	FocusDial   key.Binding
	LeaveDial   key.Binding
	ToggleMedia key.Binding
	History     key.Binding
	Settings    key.Binding
	Relogin     key.Binding
	Help        key.Binding
	Quit        key.Binding
}

func homeKeys(t keyText, s sharedKeys) HomeKeys {
	return HomeKeys{
		Up:          s.up,
		Down:        s.down,
		Enter:       s.enter,
		FocusDial:   t.as("/", "key.dial", "/", "tab"),
		LeaveDial:   t.as("esc", "key.leavedial", "esc", "tab"),
		ToggleMedia: t.b("key.media", "v"),
		History:     t.b("key.history", "h"),
		Settings:    t.as(",", "key.settings", ",", "s"),
		Relogin:     s.Relogin,
		Help:        s.Help,
		Quit:        s.Quit,
	}
}

// homeModel is the home screen: contacts, recent callers and the dial box.
type homeModel struct {
	st   *Styles
	keys *HomeKeys
	cat  *Catalog
	me   string

	contacts []string
	recent   []recentEntry
	cursor   int
	typing   bool // the dial box has the focus
	dial     []rune
	video    bool

	width, height int
}

func newHome(st *Styles, keys *HomeKeys, cat *Catalog, me string, contacts []string) homeModel {
	return homeModel{st: st, keys: keys, cat: cat, me: me, contacts: slices.Clone(contacts)}
}

func (h *homeModel) SetSize(w, ht int) { h.width, h.height = w, ht }

// items are the selectable entries: contacts, then recent callers.
func (h homeModel) items() []string {
	out := slices.Clone(h.contacts)
	for _, r := range h.recent {
		out = append(out, r.who)
	}
	return out
}

func (h homeModel) media() engine.MediaType {
	if h.video {
		return engine.MediaTypeVideo
	}
	return engine.MediaTypeAudio
}

// setRecent takes the call records: the other parties of the newest calls,
// without the contacts, at most 10.
func (h *homeModel) setRecent(me string, recs []engine.CallRecord) {
	h.recent = h.recent[:0]
	seen := map[string]bool{}
	for _, c := range h.contacts {
		seen[c] = true
	}
	for _, r := range recs {
		who := recordTarget(me, r).String()
		if who == "" || seen[who] {
			continue
		}
		seen[who] = true
		h.recent = append(h.recent, recentEntry{who: who, result: r.Result})
		if len(h.recent) == 10 {
			break
		}
	}
	h.cursor = min(h.cursor, max(0, len(h.items())-1))
}

// recordTarget is whom a record's call was with, as a dial target.
func recordTarget(me string, r engine.CallRecord) target {
	var others []string
	for _, u := range append([]string{r.Inviter}, r.InviteList...) {
		if u != "" && u != me && !slices.Contains(others, u) {
			others = append(others, u)
		}
	}
	if r.GroupID != "" {
		return target{group: r.GroupID, users: others}
	}
	return target{users: others}
}

// Typing says whether keys go to the dial box.
func (h homeModel) Typing() bool { return h.typing }

// Update handles the call records loaded (the recent callers), and keys:
// the dial box's while it has the focus, else the list's and the screen's.
func (h homeModel) Update(msg tea.Msg) (homeModel, tea.Cmd) {
	var k tea.KeyPressMsg
	switch msg := msg.(type) {
	case recordsMsg:
		h.setRecent(h.me, msg.records)
		return h, nil
	case tea.KeyPressMsg:
		k = msg
	default:
		return h, nil
	}
	if h.typing {
		return h.dialKey(k)
	}
	items := h.items()
	switch {
	case key.Matches(k, h.keys.Up):
		h.cursor = max(0, h.cursor-1)
	case key.Matches(k, h.keys.Down):
		h.cursor = min(max(0, len(items)-1), h.cursor+1)
	case key.Matches(k, h.keys.Enter):
		if len(items) == 0 {
			h.typing = true
			return h, nil
		}
		return h, h.dialCmd(items[h.cursor])
	case key.Matches(k, h.keys.FocusDial):
		h.typing = true
	case key.Matches(k, h.keys.ToggleMedia):
		h.video = !h.video
	case key.Matches(k, h.keys.History):
		return h, func() tea.Msg { return historyMsg{} }
	case key.Matches(k, h.keys.Settings):
		return h, func() tea.Msg { return settingsMsg{} }
	}
	return h, nil
}

// dialKey is a key in the dial box: enter dials what it says, esc or tab
// leaves it, the rest edits it.
func (h homeModel) dialKey(k tea.KeyPressMsg) (homeModel, tea.Cmd) {
	switch {
	case k.String() == "enter":
		s := strings.TrimSpace(string(h.dial))
		if s == "" {
			return h, func() tea.Msg { return statusMsg{h.cat.T("st.dial.empty")} }
		}
		return h, h.dialCmd(s)
	case key.Matches(k, h.keys.LeaveDial):
		h.typing = false
	default:
		h.dial = editLine(h.dial, k, true)
	}
	return h, nil
}

func (h homeModel) dialCmd(s string) tea.Cmd {
	return func() tea.Msg { return dialMsg{text: s} }
}

func (h homeModel) Help() bindings {
	k := h.keys
	if h.typing {
		return bindings{
			short: []key.Binding{k.Enter, k.LeaveDial},
			full:  [][]key.Binding{{k.Enter, k.LeaveDial}},
		}
	}
	return bindings{
		short: []key.Binding{k.Enter, k.FocusDial, k.ToggleMedia, k.History, k.Settings, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down, k.Enter}, {k.FocusDial, k.ToggleMedia, k.History, k.Settings}, {k.Relogin, k.Help, k.Quit}},
	}
}

func (h homeModel) View() string {
	return h.listView(max(1, h.height-4)) + "\n" + h.dialView()
}

// listView is the contacts and the recent callers, scrolled so that the
// cursor's line is visible, in exactly height lines.
func (h homeModel) listView(height int) string {
	lines := h.listLines()
	cur := h.cursor + 1
	if h.cursor >= len(h.contacts) && len(h.recent) > 0 {
		cur += 2 // the blank line and the Recent heading
	}
	off := 0
	if cur >= height {
		off = cur - height + 1
	}
	end := min(len(lines), off+height)
	var b strings.Builder
	b.WriteString(strings.Join(lines[off:end], "\n"))
	for i := end - off; i < height; i++ {
		b.WriteString("\n")
	}
	return b.String()
}

// listLines are the list's lines: the contacts heading and contacts, then
// the recent heading and recent callers with how their last call went.
func (h homeModel) listLines() []string {
	st, c := h.st, h.cat
	lines := []string{st.Section.Render(c.T("home.contacts"))}
	if len(h.contacts) == 0 {
		lines = append(lines, st.Dim.Render("  "+c.T("home.nocontacts")))
	}
	for i, it := range h.items() {
		if i == len(h.contacts) {
			lines = append(lines, "", st.Section.Render(c.T("home.recent")))
		}
		label := it
		if i >= len(h.contacts) {
			r := h.recent[i-len(h.contacts)]
			label = pad(it, 28) + " " + st.Dim.Render(resultName(c, r.result))
		}
		if i == h.cursor && !h.typing {
			lines = append(lines, st.Selected.Render("> "+truncate(label, h.width-2)))
		} else {
			lines = append(lines, "  "+truncate(label, h.width-2))
		}
	}
	return lines
}

// dialView is the dial box and its label (the media a call gets).
func (h homeModel) dialView() string {
	st, c := h.st, h.cat
	box := st.Input
	text := string(h.dial)
	if h.typing {
		box = st.Focused
		text += "█"
	} else if text == "" {
		text = st.Dim.Render(c.T("home.dial.hint"))
	}
	label := c.T("home.dial") + " · " + mediaName(c, h.media())
	inner := max(10, h.width-4-lipgloss.Width(label)-3)
	return lipgloss.JoinHorizontal(lipgloss.Center, box.Width(inner+4).Render(truncateLeft(text, inner)), " ", label)
}

// truncateLeft keeps the end of s (where the cursor is) within width cells.
func truncateLeft(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > width {
		r = r[1:]
	}
	return "…" + string(r)
}
