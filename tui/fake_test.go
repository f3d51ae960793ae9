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

func (f *fakeEngine) JoinInGroupCall(_ context.Context, room engine.RoomID, g string, mt engine.MediaType) (engine.CallInfo, error) {
	r := room.StrRoomID
	if room.IntRoomID != 0 {
		r = fmt.Sprint(room.IntRoomID)
	}
	if err := f.rec(fmt.Sprintf("JoinInGroupCall %s %s %s", g, r, mt)); err != nil {
		return engine.CallInfo{}, err
	}
	info := f.info(nil)
	info.GroupID = g
	info.Participants = []protocol.Participant{{UserID: "alice", Status: engine.StatusAccept}, {UserID: "bob", Status: engine.StatusWaiting}}
	return info, nil
}

func (f *fakeEngine) Join(_ context.Context, callID string) (engine.CallInfo, error) {
	if err := f.rec("Join " + callID); err != nil {
		return engine.CallInfo{}, err
	}
	info := f.info(nil)
	info.CallID = callID
	info.GroupID = "demo"
	return info, nil
}

func (f *fakeEngine) SetSelfInfo(_ context.Context, nickname, avatar string) error {
	return f.rec(fmt.Sprintf("SetSelfInfo %q %q", nickname, avatar))
}

// fakeAudio records what the TUI asks of the sound side (Ringer,
// Ringbacker, AudioControl); errs makes SetCallingBell or SetDevices fail.
type fakeAudio struct {
	mu      sync.Mutex
	calls   []string
	errs    map[string]error
	sending bool
}

func (a *fakeAudio) rec(s string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, s)
	name, _, _ := strings.Cut(s, " ")
	return a.errs[name]
}

func (a *fakeAudio) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func (a *fakeAudio) Ring(on bool)           { _ = a.rec(fmt.Sprint("Ring ", on)) }
func (a *fakeAudio) Ringback(on bool)       { _ = a.rec(fmt.Sprint("Ringback ", on)) }
func (a *fakeAudio) EnableMuteMode(on bool) { _ = a.rec(fmt.Sprint("EnableMuteMode ", on)) }
func (a *fakeAudio) SetCallingBell(path string) error {
	return a.rec(fmt.Sprintf("SetCallingBell %q", path))
}
func (a *fakeAudio) SetDevices(d AudioDevices) (bool, error) {
	if err := a.rec(fmt.Sprintf("SetDevices %q %q %q", d.Mic, d.Speaker, d.Earpiece)); err != nil {
		return false, err
	}
	return a.sending, nil
}

// fakeDevices is a sound card with two microphones and two outputs.
func fakeDevices() ([]DeviceInfo, error) {
	return []DeviceInfo{
		{Name: "Built-in Mic", Capture: true, Default: true},
		{Name: "USB Headset", Capture: true},
		{Name: "Built-in Speakers", Default: true},
		{Name: "USB Headset"},
		{Name: "null", Capture: true},
		{Name: "null"},
	}, nil
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
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
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
