package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// fakeEngine records the calls the TUI makes; errs makes a method fail.
type fakeEngine struct {
	mu      sync.Mutex
	calls   []string
	errs    map[string]error
	records []engine.CallRecord
	callID  string
}

func (f *fakeEngine) rec(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	name, _, _ := strings.Cut(s, " ")
	return f.errs[name]
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeEngine) info(ids []string) engine.CallInfo {
	id := f.callID
	if id == "" {
		id = "c1"
	}
	info := engine.CallInfo{CallID: id}
	for _, u := range ids {
		info.Participants = append(info.Participants, protocol.Participant{UserID: u, Status: engine.StatusWaiting})
	}
	return info
}

func (f *fakeEngine) Call(_ context.Context, u string, mt engine.MediaType, _ engine.CallParams) (engine.CallInfo, error) {
	if err := f.rec(fmt.Sprintf("Call %s %s", u, mt)); err != nil {
		return engine.CallInfo{}, err
	}
	return f.info([]string{u}), nil
}

func (f *fakeEngine) GroupCall(_ context.Context, g string, ids []string, mt engine.MediaType, _ engine.CallParams) (engine.CallInfo, error) {
	if err := f.rec(fmt.Sprintf("GroupCall %s %s %s", g, strings.Join(ids, ","), mt)); err != nil {
		return engine.CallInfo{}, err
	}
	return f.info(ids), nil
}

func (f *fakeEngine) Accept(context.Context) error { return f.rec("Accept") }
func (f *fakeEngine) Reject(context.Context) error { return f.rec("Reject") }
func (f *fakeEngine) Ignore(context.Context) error { return f.rec("Ignore") }
func (f *fakeEngine) Hangup(context.Context) error { return f.rec("Hangup") }
func (f *fakeEngine) InviteUser(_ context.Context, ids []string, _ engine.CallParams) ([]string, error) {
	return ids, f.rec("InviteUser " + strings.Join(ids, ","))
}
func (f *fakeEngine) SwitchCallMediaType(_ context.Context, mt engine.MediaType) error {
	return f.rec("SwitchCallMediaType " + mt.String())
}
func (f *fakeEngine) OpenMicrophone(context.Context) error  { return f.rec("OpenMicrophone") }
func (f *fakeEngine) CloseMicrophone(context.Context) error { return f.rec("CloseMicrophone") }
func (f *fakeEngine) SelectAudioPlaybackDevice(d engine.AudioPlaybackDevice) error {
	return f.rec("SelectAudioPlaybackDevice " + d.String())
}
func (f *fakeEngine) QueryRecentCalls(context.Context, engine.RecentCallsFilter) ([]engine.CallRecord, error) {
	if err := f.rec("QueryRecentCalls"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.CallRecord(nil), f.records...), nil
}
func (f *fakeEngine) DeleteRecordCalls(_ context.Context, ids []string) ([]string, error) {
	if err := f.rec("DeleteRecordCalls " + strings.Join(ids, ",")); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []engine.CallRecord
	for _, r := range f.records {
		if r.CallID != ids[0] {
			keep = append(keep, r)
		}
	}
	f.records = keep
	return ids, nil
}

// t0 is the tests' fixed time.
var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// harness drives a Model synchronously: every command runs at once and its
// message goes back into Update. Blocking commands (the event wait, the
// clock tick) are switched off; tests send events and ticks themselves.
type harness struct {
	t     *testing.T
	m     *Model
	eng   *fakeEngine
	clock time.Time
	ticks []string // call IDs the clock was started for
	raw   []string // raw output (the bell)
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, eng: &fakeEngine{}, clock: t0}
	if opts.Engine == nil {
		opts.Engine = h.eng
	}
	if opts.User == "" {
		opts.User = "me"
	}
	opts.Now = func() time.Time { return h.clock }
	opts.Location = time.UTC
	h.m = New(opts)
	h.m.tick = func(id string) tea.Cmd {
		h.ticks = append(h.ticks, id)
		return nil
	}
	h.run(h.m.Init())
	return h
}

// run executes cmd and everything that follows from it.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.RawMsg:
		h.raw = append(h.raw, fmt.Sprint(msg.Msg))
	case tea.QuitMsg:
	default:
		if fmt.Sprintf("%T", msg) == "tea.backgroundColorMsg" {
			return
		}
		h.send(msg)
	}
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) event(evs ...engine.Event) {
	h.t.Helper()
	for _, ev := range evs {
		h.send(eventMsg{ev: ev})
	}
}

// keys presses each key: "a", "enter", "esc", "ctrl+c", or text to type.
func (h *harness) keys(ks ...string) {
	h.t.Helper()
	for _, k := range ks {
		h.send(keyMsg(k))
	}
}

func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		if r == ' ' {
			h.send(keyMsg("space"))
		} else {
			h.send(keyMsg(string(r)))
		}
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}
