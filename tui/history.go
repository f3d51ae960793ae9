package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/termcall/termcall/engine"
)

// historyFilters are the filters tab cycles through; Unknown means all.
var historyFilters = []engine.ResultType{engine.ResultUnknown, engine.ResultMissed, engine.ResultIncoming, engine.ResultOutgoing}

// HistoryKeys are the call records screen's keys.
type HistoryKeys struct {
	Up      key.Binding
	Down    key.Binding
	Filter  key.Binding
	Redial  key.Binding
	Delete  key.Binding
	Refresh key.Binding
	Back    key.Binding
	History key.Binding // h goes back too
	Help    key.Binding
	Quit    key.Binding
}

func historyKeys(t keyText, s sharedKeys) HistoryKeys {
	return HistoryKeys{
		Up:      s.up,
		Down:    s.down,
		Filter:  t.b("key.filter", "tab"),
		Redial:  t.b("key.redial", "enter"),
		Delete:  t.b("key.delete", "d"),
		Refresh: t.b("key.refresh", "r"),
		Back:    s.back,
		History: t.b("key.history", "h"),
		Help:    s.Help,
		Quit:    s.Quit,
	}
}

// historyModel is the call records screen.
type historyModel struct {
	st   *Styles
	keys *HistoryKeys
	cat  *Catalog
	me   string
	loc  *time.Location

	records []engine.CallRecord
	loaded  bool
	filter  int // index in historyFilters
	cursor  int

	width, height int
}

func newHistory(st *Styles, keys *HistoryKeys, cat *Catalog, me string, loc *time.Location) historyModel {
	return historyModel{st: st, keys: keys, cat: cat, me: me, loc: loc}
}

func (h *historyModel) SetSize(w, ht int) { h.width, h.height = w, ht }

func (h *historyModel) setRecords(recs []engine.CallRecord) {
	h.records, h.loaded = recs, true
	h.cursor = min(h.cursor, max(0, len(h.visible())-1))
}

// visible are the records that pass the filter.
func (h historyModel) visible() []engine.CallRecord {
	f := historyFilters[h.filter]
	if f == engine.ResultUnknown {
		return h.records
	}
	var out []engine.CallRecord
	for _, r := range h.records {
		if r.Result == f {
			out = append(out, r)
		}
	}
	return out
}

// Update handles the call records loaded, and keys.
func (h historyModel) Update(msg tea.Msg) (historyModel, tea.Cmd) {
	var k tea.KeyPressMsg
	switch msg := msg.(type) {
	case recordsMsg:
		h.setRecords(msg.records)
		return h, nil
	case tea.KeyPressMsg:
		k = msg
	default:
		return h, nil
	}
	vis := h.visible()
	switch {
	case key.Matches(k, h.keys.Up):
		h.cursor = max(0, h.cursor-1)
	case key.Matches(k, h.keys.Down):
		h.cursor = min(max(0, len(vis)-1), h.cursor+1)
	case key.Matches(k, h.keys.Filter):
		h.filter = (h.filter + 1) % len(historyFilters)
		h.cursor = 0
	case key.Matches(k, h.keys.Redial):
		if len(vis) > 0 {
			t := recordTarget(h.me, vis[h.cursor]).String()
			return h, func() tea.Msg { return dialMsg{text: t} }
		}
	case key.Matches(k, h.keys.Delete):
		if len(vis) > 0 {
			id := vis[h.cursor].CallID
			return h, func() tea.Msg { return deleteMsg{ids: []string{id}} }
		}
	case key.Matches(k, h.keys.Refresh):
		return h, func() tea.Msg { return refreshMsg{} }
	case key.Matches(k, h.keys.Back), key.Matches(k, h.keys.History):
		return h, func() tea.Msg { return homeMsg{} }
	}
	return h, nil
}

func (h historyModel) Help() bindings {
	k := h.keys
	return bindings{
		short: []key.Binding{k.Filter, k.Redial, k.Delete, k.Refresh, k.Back, k.Help},
		full:  [][]key.Binding{{k.Up, k.Down, k.Filter}, {k.Redial, k.Delete, k.Refresh}, {k.Back, k.Help, k.Quit}},
	}
}

func (h historyModel) View() string {
	st, c := h.st, h.cat
	lines := []string{st.Section.Render(c.T("history.title")) + "  " + h.tabsView()}
	vis := h.visible()
	switch {
	case !h.loaded:
		lines = append(lines, "", st.Dim.Render("  "+c.T("history.loading")))
	case len(vis) == 0 && len(h.records) > 0:
		// Records exist, none in this filter: say so, and how to see them.
		lines = append(lines, "", st.Dim.Render("  "+c.T("history.emptyfilter", resultName(c, historyFilters[h.filter]))))
	case len(vis) == 0:
		lines = append(lines, "", st.Dim.Render("  "+c.T("history.empty")))
	default:
		lines = append(lines, h.tableView(vis)...)
	}
	return strings.Join(lines, "\n")
}

// tabsView names the filters, the one in use selected.
func (h historyModel) tabsView() string {
	st, c := h.st, h.cat
	var tabs []string
	for i, f := range historyFilters {
		name := c.T("filter.all")
		if f != engine.ResultUnknown {
			name = resultName(c, f)
		}
		if i == h.filter {
			tabs = append(tabs, st.Selected.Render("["+name+"]"))
		} else {
			tabs = append(tabs, st.Dim.Render(" "+name+" "))
		}
	}
	return strings.Join(tabs, " ")
}

// History table column widths (who takes the rest).
const histWhenW, histMediaW, histResultW = 12, 7, 22

// tableView is the records' table: a blank line, the column heads and the
// rows that fit, scrolled to the cursor.
func (h historyModel) tableView(vis []engine.CallRecord) []string {
	st, c := h.st, h.cat
	whoW := h.whoWidth()
	lines := []string{"", st.Dim.Render("  " + pad(c.T("history.when"), histWhenW) + "  " + pad(c.T("history.who"), whoW) + " " +
		pad(c.T("history.media"), histMediaW) + " " + pad(c.T("history.result"), histResultW) + " " + c.T("history.duration"))}
	rows := max(1, h.height-3)
	off := 0
	if h.cursor >= rows {
		off = h.cursor - rows + 1
	}
	for i := off; i < len(vis) && i < off+rows; i++ {
		row := h.rowView(vis[i], whoW)
		if i == h.cursor {
			lines = append(lines, st.Selected.Render("> ")+row)
		} else {
			lines = append(lines, "  "+row)
		}
	}
	return lines
}

func (h historyModel) whoWidth() int {
	return max(8, h.width-2-histWhenW-2-histMediaW-10-histResultW-4)
}

// rowView is one record: when, with whom, audio or video, how it went and
// how long it lasted (— for a missed call).
func (h historyModel) rowView(r engine.CallRecord, whoW int) string {
	st, c := h.st, h.cat
	when := time.Unix(r.BeginTime, 0).In(h.loc).Format("01-02 15:04")
	dur := "—"
	if r.TotalTime > 0 || r.Result != engine.ResultMissed {
		dur = clock(time.Duration(r.TotalTime) * time.Second)
	}
	res := pad(resultName(c, r.Result)+", "+outcomeName(c, r), histResultW)
	if r.Result == engine.ResultMissed {
		res = st.Bad.Render(res)
	}
	return pad(when, histWhenW) + "  " + pad(recordTarget(h.me, r).String(), whoW) + " " +
		pad(mediaName(c, r.MediaType), histMediaW) + " " + res + " " + dur
}

// outcomeName says how a record's call went for its user: connected, or
// why not (rejected, busy, no answer, cancelled, ...), from the end reason.
func outcomeName(c *Catalog, r engine.CallRecord) string {
	if r.TotalTime > 0 || r.ConnectedAt > 0 {
		return c.T("history.connected")
	}
	switch r.EndReason {
	case engine.ReasonHangup, engine.ReasonCanceled, engine.ReasonUnknown:
		return reasonName(c, engine.ReasonCanceled) // hung up before anyone answered
	}
	return reasonName(c, r.EndReason)
}

// onRecords handles the call records: loaded (for the history and the
// home screen's recent callers), deleted, or asked for.
func (m *Model) onRecords(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case recordsMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return nil, true
		}
		m.records = msg.records
		m.history, _ = m.history.Update(msg)
		m.home, _ = m.home.Update(msg)
		return nil, true
	case deletedMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return nil, true
		}
		m.setStatus(m.cat.T("st.deleted", len(msg.ids)))
		return m.act.records(), true
	case refreshMsg:
		return m.act.records(), true
	case deleteMsg:
		return m.act.deleteRecords(msg.ids), true
	}
	return nil, false
}
