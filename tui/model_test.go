package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

func wantCalls(t *testing.T, h *harness, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, h.eng.Calls()); diff != "" {
		t.Errorf("engine calls (-want +got):\n%s", diff)
	}
}

func wantStatus(t *testing.T, h *harness, want string) {
	t.Helper()
	if h.m.status != want {
		t.Errorf("status = %q, want %q", h.m.status, want)
	}
}

func TestOneToOneCallFlow(t *testing.T) {
	h := newHarness(t, Options{Contacts: demoContacts})
	h.keys("enter") // echo
	if h.m.call == nil || h.m.call.phase != phaseOutgoing {
		t.Fatalf("after enter on echo: call = %+v, want an outgoing call", h.m.call)
	}
	wantStatus(t, h, "ringing echo")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	if h.m.call.phase != phaseActive {
		t.Fatalf("after CallBegin: phase %v, want active", h.m.call.phase)
	}
	if diff := cmp.Diff([]string{"c1"}, h.ticks); diff != "" {
		t.Errorf("clock started for (-want +got):\n%s", diff)
	}
	h.send(tickMsg{callID: "c1"})
	h.send(tickMsg{callID: "old"})
	if len(h.ticks) != 2 {
		t.Errorf("after a tick of the call and one of another call: %d ticks, want 2", len(h.ticks))
	}
	h.keys("m")
	if !h.m.call.muted {
		t.Error("after m: not muted")
	}
	h.keys("m", "s", "v")
	h.event(engine.CallMediaTypeChanged{CallID: "c1", OldType: engine.MediaTypeAudio, NewType: engine.MediaTypeVideo, UserID: "me"})
	if h.m.call.media != engine.MediaTypeVideo || h.m.call.route != engine.AudioPlaybackEarpiece || h.m.call.muted {
		t.Errorf("call = media %v route %v muted %v; want video, earpiece, unmuted", h.m.call.media, h.m.call.route, h.m.call.muted)
	}
	h.keys("x")
	h.event(engine.CallEnd{CallID: "c1", TotalTime: 65, Reason: engine.ReasonHangup, UserID: "me"})
	if h.m.call != nil {
		t.Fatal("after CallEnd: still in a call")
	}
	wantStatus(t, h, "call ended · 01:05")
	h.send(tickMsg{callID: "c1"})
	if len(h.ticks) != 2 {
		t.Errorf("the clock ran on after the call: %d ticks", len(h.ticks))
	}
	wantCalls(t, h, "QueryRecentCalls", "Call echo audio", "CloseMicrophone", "OpenMicrophone",
		"SelectAudioPlaybackDevice earpiece", "SwitchCallMediaType video", "Hangup", "QueryRecentCalls")
}

func TestDialBox(t *testing.T) {
	for _, tc := range []struct {
		text, defGroup string
		video          bool
		want           []string
		status         string
	}{
		{text: "alice", want: []string{"Call alice audio"}},
		{text: "alice", video: true, want: []string{"Call alice video"}},
		{text: "group:g1 alice bob", want: []string{"GroupCall g1 alice,bob audio"}},
		{text: "alice, bob", defGroup: "demo", want: []string{"GroupCall demo alice,bob audio"}},
		{text: "alice bob", status: "several people need a group: type group:G user user…"},
		{text: "bad/id", status: "userId \"bad/id\" has '/'; only a-z A-Z 0-9 - _ are allowed (1101)"},
	} {
		h := newHarness(t, Options{DefaultGroup: tc.defGroup})
		if tc.video {
			h.keys("v")
		}
		h.keys("/")
		h.typeText(tc.text)
		h.keys("enter")
		got := h.eng.Calls()[1:]
		if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
			t.Errorf("dial %q: engine calls (-want +got):\n%s", tc.text, diff)
		}
		if tc.status != "" && !strings.HasPrefix(h.m.status, strings.SplitN(tc.status, " (", 2)[0]) {
			t.Errorf("dial %q: status %q, want %q", tc.text, h.m.status, tc.status)
		}
	}
}

func TestCallErrorIsOneLine(t *testing.T) {
	h := newHarness(t, Options{Contacts: []string{"ghost"}})
	h.eng.errs = map[string]error{"Call": protocol.Errorf(protocol.CodeServerUnreachable, "cannot reach ws://x:1/v1/ws: dial tcp: refused\nmore")}
	h.keys("enter")
	if h.m.call != nil {
		t.Error("a failed Call left a call on screen")
	}
	wantStatus(t, h, "cannot reach ws://x:1/v1/ws: dial tcp: refused (5002)")
	if !h.m.statusErr {
		t.Error("a failed Call is not shown as an error")
	}
}

func TestOutgoingNotConnected(t *testing.T) {
	h := newHarness(t, Options{Contacts: demoContacts})
	h.keys("down", "down", "down", "down", "enter")
	h.event(engine.UserReject{CallID: "c1", UserID: "bob"}, engine.UserLineBusy{CallID: "c1", UserID: "carol"},
		engine.UserNoResponse{CallID: "c1", UserID: "alice"}, engine.CallCancelled{CallID: "c1", UserID: "me", Reason: engine.ReasonNoResponse})
	wantStatus(t, h, "call not connected: alice no answer, bob rejected, carol busy")

	h.keys("enter")
	h.keys("x")
	h.event(engine.CallCancelled{CallID: "c1", UserID: "me", Reason: engine.ReasonCanceled})
	wantStatus(t, h, "call cancelled")
	wantCalls(t, h, "QueryRecentCalls", "GroupCall demo alice,bob,carol audio", "QueryRecentCalls",
		"GroupCall demo alice,bob,carol audio", "Hangup", "QueryRecentCalls")
}

func TestEventOvertakesCallReply(t *testing.T) {
	h := newHarness(t, Options{Contacts: []string{"echo"}})
	// The reply to Call has not arrived yet: send the keys without running
	// the command, then the events, then the reply.
	_, cmd := h.m.Update(keyMsg("enter"))
	_, cmd = h.m.Update(cmd())
	h.event(engine.CallBegin{CallID: "c9", MediaType: engine.MediaTypeAudio})
	h.run(cmd)
	if h.m.call == nil || h.m.call.id != "c9" || h.m.call.phase != phaseActive {
		t.Fatalf("call = %+v, want c9 active", h.m.call)
	}
}

func TestIncoming(t *testing.T) {
	recv := engine.CallReceived{CallID: "in1", CallerID: "alice", CalleeIDList: []string{"me"}, MediaType: engine.MediaTypeAudio}
	for _, tc := range []struct {
		key    string
		want   string
		status string
	}{
		{"a", "Accept", "connected"},
		{"enter", "Accept", "connected"},
		{"r", "Reject", "call cancelled"},
		{"i", "Ignore", "call cancelled"},
		{"", "", "missed call from alice"},
	} {
		h := newHarness(t, Options{})
		h.event(recv)
		if diff := cmp.Diff([]string{"\a"}, h.raw); diff != "" {
			t.Errorf("bell (-want +got):\n%s", diff)
		}
		if h.m.call == nil || h.m.call.phase != phaseIncoming || h.m.call.Overlay() {
			t.Fatalf("after CallReceived: call %+v, want full-screen incoming", h.m.call)
		}
		var want []string
		if tc.key != "" {
			h.keys(tc.key)
			want = []string{tc.want}
		}
		if tc.want == "Accept" {
			h.event(engine.CallBegin{CallID: "in1", Role: engine.RoleCalled})
		} else {
			want = append(want, "QueryRecentCalls") // the records, after the call
			h.event(engine.CallCancelled{CallID: "in1", UserID: "me", Reason: engine.ReasonReject})
		}
		if got := h.eng.Calls()[1:]; !cmp.Equal(want, got, cmp.Comparer(func(a, b []string) bool { return len(a)+len(b) == 0 || cmp.Equal(a, b) })) {
			t.Errorf("key %q: engine calls %q, want %q", tc.key, got, want)
		}
		wantStatus(t, h, tc.status)
	}
}

type ringer struct{ log []bool }

func (r *ringer) Ring(on bool) { r.log = append(r.log, on) }

func TestBannerAndRinger(t *testing.T) {
	r := &ringer{}
	h := newHarness(t, Options{IncomingBanner: true, Ringer: r, Contacts: []string{"bob"}})
	h.keys("/") // typing in the dial box
	h.event(engine.CallReceived{CallID: "in1", CallerID: "alice", MediaType: engine.MediaTypeAudio})
	if !h.m.call.Overlay() {
		t.Fatal("with IncomingBanner the call is not a banner")
	}
	h.typeText("a")
	if string(h.m.home.dial) != "a" || len(h.eng.Calls()) != 1 {
		t.Errorf("typing 'a' in the dial box under a banner: dial %q, calls %q", string(h.m.home.dial), h.eng.Calls())
	}
	h.keys("esc", "e")
	if h.m.call.Overlay() {
		t.Error("e did not expand the banner")
	}
	h.keys("a")
	h.event(engine.CallBegin{CallID: "in1"})
	if diff := cmp.Diff([]bool{true, false}, r.log); diff != "" {
		t.Errorf("ringer (-want +got):\n%s", diff)
	}
	wantCalls(t, h, "QueryRecentCalls", "Accept")

	mute := newHarness(t, Options{MuteMode: true})
	mute.event(engine.CallReceived{CallID: "in2", CallerID: "bob"})
	if len(mute.raw) != 0 {
		t.Errorf("mute mode rang the bell: %q", mute.raw)
	}
}

func TestConnectionStates(t *testing.T) {
	logins := 0
	login := func(context.Context) error { logins++; return nil }
	h := newHarness(t, Options{Login: login})
	if h.m.conn != connOnline || logins != 1 {
		t.Fatalf("after Init: conn %v logins %d; want online, 1", h.m.conn, logins)
	}
	h.event(engine.ConnectionChanged{State: engine.Reconnecting})
	if !strings.Contains(h.m.Render(), "reconnecting") {
		t.Error("reconnecting is not shown")
	}
	h.event(engine.ConnectionChanged{State: engine.Connected}, engine.KickedOffline{}, engine.ConnectionChanged{State: engine.Disconnected})
	if h.m.conn != connKicked || !strings.Contains(h.m.Render(), "press i to log in again") {
		t.Errorf("after KickedOffline: conn %v; screen:\n%s", h.m.conn, h.m.Render())
	}
	h.keys("i")
	if logins != 2 || h.m.conn != connOnline {
		t.Errorf("after i: logins %d conn %v; want 2, online", logins, h.m.conn)
	}
	h.event(engine.UserSigExpired{})
	if !strings.Contains(h.m.Render(), "restart with a new --usersig") {
		t.Errorf("sig expired without CanRenewSig: screen:\n%s", h.m.Render())
	}
	h.keys("i")
	if logins != 2 {
		t.Error("i logged in again although the userSig cannot be renewed")
	}

	r := newHarness(t, Options{Login: login, CanRenewSig: true})
	r.event(engine.UserSigExpired{})
	if !strings.Contains(r.m.Render(), "press i to renew") {
		t.Errorf("sig expired with CanRenewSig: screen:\n%s", r.m.Render())
	}
	r.keys("i")
	if logins != 4 || r.m.sigExpired {
		t.Errorf("after i: logins %d sigExpired %v", logins, r.m.sigExpired)
	}

	failed := newHarness(t, Options{Login: func(context.Context) error {
		return protocol.Errorf(protocol.CodeUserSigExpired, "userSig expired at 2026-01-01")
	}})
	if failed.m.conn != connOffline || failed.m.status != "userSig expired at 2026-01-01 (2002)" {
		t.Errorf("failed login: conn %v status %q", failed.m.conn, failed.m.status)
	}
}

func TestGroupCallInviteAndGrid(t *testing.T) {
	h := inCallGroup(t)
	h.keys("+")
	h.typeText("dave erin")
	h.keys("enter")
	h.event(engine.UserLeave{CallID: "c1", UserID: "alice"}, engine.UserJoin{CallID: "c1", UserID: "dave"},
		engine.UserJoin{CallID: "other", UserID: "zed"})
	got := map[string]peerState{}
	for _, p := range h.m.call.peers {
		got[p.id] = p.state
	}
	want := map[string]peerState{"alice": peerLeft, "bob": peerRejected, "carol": peerRinging, "dave": peerJoined, "erin": peerRinging}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("peers (-want +got):\n%s", diff)
	}
	wantStatus(t, h, "invited dave, erin")
	wantCalls(t, h, "QueryRecentCalls", "GroupCall demo alice,bob,carol audio", "InviteUser dave,erin")

	one := inCall1v1(t)
	one.keys("+")
	if one.m.call.inviting {
		t.Error("+ opened the invite box in a 1v1 call")
	}
}

func TestCompactNeedsFloatWindow(t *testing.T) {
	h := newHarness(t, Options{Contacts: []string{"echo"}})
	h.keys("enter")
	h.event(engine.CallBegin{CallID: "c1"})
	h.keys("f")
	if h.m.call.compact {
		t.Error("f made the call compact without FloatWindow")
	}
	c := compactScreen(t)
	c.keys("h") // the screen below takes other keys
	if c.m.screen != screenHistory {
		t.Error("h under the compact line did not open the history")
	}
	c.keys("m", "f")
	if !c.m.call.muted || c.m.call.compact {
		t.Errorf("m, f in compact mode: muted %v compact %v", c.m.call.muted, c.m.call.compact)
	}
}

func TestHistory(t *testing.T) {
	h := historyScreen(t)
	if len(h.m.history.visible()) != 4 {
		t.Fatalf("all: %d records", len(h.m.history.visible()))
	}
	h.keys("tab")
	if v := h.m.history.visible(); len(v) != 1 || v[0].CallID != "r2" {
		t.Errorf("missed: %+v", v)
	}
	h.keys("tab", "tab")
	if v := h.m.history.visible(); len(v) != 2 {
		t.Errorf("outgoing: %d records, want 2", len(v))
	}
	h.keys("down", "d")
	if len(h.m.history.records) != 3 {
		t.Errorf("after delete: %d records, want 3", len(h.m.history.records))
	}
	h.keys("tab") // all
	h.keys("down", "enter")
	wantCalls(t, h, "QueryRecentCalls", "QueryRecentCalls", "DeleteRecordCalls r4", "QueryRecentCalls", "Call dave audio")
	if h.m.call == nil {
		t.Error("redial did not place a call")
	}
}

func TestLanguages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "en"}, {"en_US.UTF-8", "en"}, {"zh_CN.UTF-8", "zh-cn"}, {"zh-cn", "zh-cn"}, {"ja_JP", "ja_JP"}, {"ja_JP.UTF-8", "ja_JP"}, {"C", "en"},
	} {
		if got := ParseLang(tc.in); got != tc.want {
			t.Errorf("ParseLang(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	zh := newHarness(t, Options{Lang: "zh-cn", Contacts: []string{"alice"}})
	if s := zh.m.Render(); !strings.Contains(s, "在线") || !strings.Contains(s, "联系人") {
		t.Errorf("zh-cn home:\n%s", s)
	}
	ja := newHarness(t, Options{Lang: "ja_JP"})
	if s := ja.m.Render(); !strings.Contains(s, "オンライン") {
		t.Errorf("ja_JP home:\n%s", s)
	}
}

func TestResize(t *testing.T) {
	for _, mk := range []func(*testing.T) *harness{homeScreen, inCallGroup, outgoingScreen, historyScreen, compactScreen,
		func(t *testing.T) *harness { t.Helper(); return incomingScreen(t, false) }} {
		h := mk(t)
		for _, sz := range [][2]int{{40, 10}, {20, 5}, {200, 60}} {
			h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			if n := len(strings.Split(h.m.Render(), "\n")); n != sz[1] {
				t.Errorf("at %dx%d: %d lines", sz[0], sz[1], n)
			}
		}
	}
}

func TestQuit(t *testing.T) {
	h := newHarness(t, Options{})
	_, cmd := h.m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q: no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q did not quit")
	}
	// q while typing is a letter.
	h2 := newHarness(t, Options{})
	h2.keys("/", "q")
	if string(h2.m.home.dial) != "q" {
		t.Errorf("q in the dial box: %q", string(h2.m.home.dial))
	}
}

type fakeVideo struct{ users map[string]bool }

func (f fakeVideo) Frame(userID string, cols, rows int) (string, bool) {
	if !f.users[userID] {
		return "", false
	}
	return fmt.Sprintf("[video of %s %dx%d]", userID, cols, rows), true
}

// TestVideoInCall: a video call draws the other's picture above the tiles;
// an audio call, or a video call without a picture yet, does not.
func TestVideoInCall(t *testing.T) {
	h := newHarness(t, Options{Contacts: []string{"bob"}, Video: fakeVideo{users: map[string]bool{"bob": true}}})
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.keys("enter")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller},
		engine.UserJoin{CallID: "c1", UserID: "bob"})
	if v := h.m.View().Content; strings.Contains(v, "[video of") {
		t.Errorf("an audio call draws video:\n%s", v)
	}
	h.event(engine.CallMediaTypeChanged{CallID: "c1", OldType: engine.MediaTypeAudio, NewType: engine.MediaTypeVideo, UserID: "bob"})
	if v := h.m.View().Content; !strings.Contains(v, "[video of bob") {
		t.Errorf("a video call does not draw bob's video:\n%s", v)
	}
}

func TestIncomingNotifies(t *testing.T) {
	var got []string
	h := newHarness(t, Options{Notify: func(title, body string) string { got = append(got, title+": "+body); return "" }})
	h.event(engine.CallReceived{CallID: "in1", CallerID: "bob", CalleeIDList: []string{"me"}, MediaType: engine.MediaTypeAudio,
		Caller: engine.UserInfo{UserID: "bob", Nickname: "Bob B."}})
	if diff := cmp.Diff([]string{"termcall: Incoming call from Bob B."}, got); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

// --- kit: switch camera ---

// camEngine is the fake engine with cameras.
type camEngine struct {
	*fakeEngine
	cam      engine.Camera
	switched []engine.Camera
}

func (e *camEngine) SwitchCamera(_ context.Context, c engine.Camera) error {
	e.cam = c
	e.switched = append(e.switched, c)
	return nil
}
func (e *camEngine) CurrentCamera() engine.Camera { return e.cam }

func TestSwitchCameraKey(t *testing.T) {
	eng := &camEngine{fakeEngine: &fakeEngine{}}
	h := newHarness(t, Options{Contacts: demoContacts, Engine: eng})
	h.keys("enter") // echo
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	h.keys("c") // an audio call: no camera
	if len(eng.switched) != 0 {
		t.Errorf("c in an audio call switched cameras: %v", eng.switched)
	}
	h.event(engine.CallMediaTypeChanged{CallID: "c1", OldType: engine.MediaTypeAudio, NewType: engine.MediaTypeVideo, UserID: "me"})
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "switch camera") {
		t.Errorf("the help line of a video call lacks the switch camera key:\n%s", s)
	}
	h.keys("c")
	wantStatus(t, h, "switched to the back camera")
	h.keys("c")
	wantStatus(t, h, "switched to the front camera")
	if diff := cmp.Diff([]engine.Camera{engine.CameraBack, engine.CameraFront}, eng.switched); diff != "" {
		t.Errorf("SwitchCamera calls (-want +got):\n%s", diff)
	}
}

// --- kit: match the reference ---

func TestMissedWhileInCall(t *testing.T) {
	h := newHarness(t, Options{Contacts: demoContacts})
	h.keys("enter") // echo
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	h.event(engine.CallMissed{CallID: "c2", CallerID: "dave", MediaType: engine.MediaTypeAudio, Caller: engine.UserInfo{UserID: "dave", Nickname: "Dave D."},
		Reason: engine.ReasonLineBusy})
	wantStatus(t, h, "missed call from Dave D. (you were in a call)")
	if h.m.call == nil || h.m.call.id != "c1" || h.m.call.phase != phaseActive {
		t.Errorf("the call in progress changed: %+v", h.m.call)
	}
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "missed call from Dave D. (you were in a call)") {
		t.Errorf("the screen does not show the missed call:\n%s", s)
	}
}

// --- kit: control ---

// stateEngine is the fake engine with state the UI reads back.
type stateEngine struct {
	*fakeEngine
	micOpen bool
	route   engine.AudioPlaybackDevice
	beauty  float64
}

func (e *stateEngine) IsMicrophoneOpen() bool                          { return e.micOpen }
func (e *stateEngine) AudioPlaybackDevice() engine.AudioPlaybackDevice { return e.route }
func (e *stateEngine) BeautyLevel() float64                            { return e.beauty }

func TestExternalChangeReadsEngineBack(t *testing.T) {
	eng := &stateEngine{fakeEngine: &fakeEngine{}, micOpen: true, route: engine.AudioPlaybackSpeakerphone}
	h := newHarness(t, Options{Contacts: demoContacts, Engine: eng})
	h.keys("enter")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	eng.micOpen, eng.route, eng.beauty = false, engine.AudioPlaybackEarpiece, 4
	h.send(ExternalChange("mute"))
	if !h.m.call.muted || h.m.call.route != engine.AudioPlaybackEarpiece || h.m.Settings().Beauty != 4 {
		t.Errorf("after an external change: muted %v route %v beauty %v", h.m.call.muted, h.m.call.route, h.m.Settings().Beauty)
	}
	wantStatus(t, h, "control: mute")
}

// TestStatusProgressInEveryLanguage: the status line follows a call being
// placed and a login in each language, also when the language changes
// while the request runs (the UI decides from what it set, not from the
// text on the line).
func TestStatusProgressInEveryLanguage(t *testing.T) {
	for _, lang := range []string{LangEnglish, LangChinese, LangJapanese} {
		cat := NewCatalog(lang)
		h := newHarness(t, Options{Contacts: []string{"echo"}, Lang: lang})
		h.keys("enter")
		wantStatus(t, h, cat.T("st.placed", "echo"))

		l := newHarness(t, Options{Lang: lang, Login: func(context.Context) error { return nil }})
		wantStatus(t, l, cat.T("st.loggedin", "me"))

		// The language changes between placing the call and the reply.
		s := newHarness(t, Options{Contacts: []string{"echo"}})
		_, cmd := s.m.Update(keyMsg("enter"))
		_, cmd = s.m.Update(cmd())
		s.m.setLang(lang)
		s.run(cmd)
		wantStatus(t, s, cat.T("st.placed", "echo"))
	}
}
