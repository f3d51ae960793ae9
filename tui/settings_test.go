package tui

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

func wantAudio(t *testing.T, a *fakeAudio, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, a.Calls()); diff != "" {
		t.Errorf("audio calls (-want +got):\n%s", diff)
	}
}

// settingsHarness opens the settings screen with a fake sound side.
func settingsHarness(t *testing.T, opts Options) (*harness, *fakeAudio) {
	t.Helper()
	au := &fakeAudio{sending: true}
	opts.Audio, opts.Ringer, opts.Ringback, opts.Devices = au, au, au, fakeDevices
	if opts.Contacts == nil {
		opts.Contacts = demoContacts
	}
	h := newHarness(t, opts)
	h.keys(",")
	if h.m.screen != screenSettings {
		t.Fatalf("after ,: screen %v, want settings", h.m.screen)
	}
	return h, au
}

// gotoField moves the settings cursor to f (from the top).
func gotoField(h *harness, f settingField) {
	for range 12 {
		h.keys("up")
	}
	for range int(f) {
		h.keys("down")
	}
}

func settingsScreen(t *testing.T) *harness {
	t.Helper()
	h, _ := settingsHarness(t, Options{AudioDevices: AudioDevices{Mic: "USB Headset"}, Nickname: "Me Myself", FloatWindow: true})
	gotoField(h, fieldRingtone)
	return h
}

func TestSettingsDevices(t *testing.T) {
	h, au := settingsHarness(t, Options{})
	h.keys("enter")                  // microphone: default -> Built-in Mic
	h.keys("down", "right", "right") // speaker: Built-in Speakers, USB Headset
	h.keys("down", "left")           // earpiece: same as speaker -> null (the last)
	want := AudioDevices{Mic: "Built-in Mic", Speaker: "USB Headset", Earpiece: "null"}
	if got := h.m.Settings().Devices; got != want {
		t.Errorf("devices = %+v, want %+v", got, want)
	}
	wantStatus(t, h, "sound devices: Microphone Built-in Mic, Speaker USB Headset, Earpiece null")
	wantAudio(t, au, `SetDevices "Built-in Mic" "" ""`, `SetDevices "Built-in Mic" "Built-in Speakers" ""`,
		`SetDevices "Built-in Mic" "USB Headset" ""`, `SetDevices "Built-in Mic" "USB Headset" "null"`)

	// A device that fails to open keeps the old ones.
	au.errs = map[string]error{"SetDevices": errors.New("capture device \"USB Headset\": busy")}
	gotoField(h, fieldMic)
	h.keys("right")
	if got := h.m.Settings().Devices; got != want {
		t.Errorf("after a failed switch: devices = %+v, want %+v", got, want)
	}
	if !h.m.statusErr || !strings.Contains(h.m.status, "busy") {
		t.Errorf("status = %q (err %v), want the device error", h.m.status, h.m.statusErr)
	}
}

func TestSettingsDevicesDuringCall(t *testing.T) {
	h, au := settingsHarness(t, Options{FloatWindow: true})
	h.keys("esc", "enter") // call echo
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	h.keys("f", ",") // compact, then settings under it
	if h.m.screen != screenSettings {
		t.Fatalf("screen %v, want settings under the compact call", h.m.screen)
	}
	au.sending = false
	h.keys("enter")
	wantStatus(t, h, "sound devices for the next call: Microphone Built-in Mic, Speaker system default, Earpiece same as speaker")
	if !strings.Contains(stripANSI(h.m.Render()), "applies to the next call") {
		t.Error("the settings screen does not say the devices apply to the next call")
	}
	h.event(engine.CallEnd{CallID: "c1", TotalTime: 5, Reason: engine.ReasonHangup, UserID: "me"})
	wantAudio(t, au, "Ringback true", "Ring false", "Ringback false", `SetDevices "Built-in Mic" "" ""`)
	if !h.m.noMic {
		t.Error("SetDevices said nothing is sent; the model still has a microphone")
	}
	h.keys("esc", "enter")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "no audio device") {
		t.Errorf("own tile without a microphone does not say so:\n%s", s)
	}
}

func TestSettingsRingtone(t *testing.T) {
	h, au := settingsHarness(t, Options{Ringtone: "old.wav"})
	gotoField(h, fieldRingtone)
	au.errs = map[string]error{"SetCallingBell": errors.New("bad.txt: not a WAV or Ogg file")}
	h.keys("enter", "ctrl+u")
	h.typeText("bad.txt")
	h.keys("enter")
	if got := h.m.Settings().Ringtone; got != "old.wav" {
		t.Errorf("after a bad file: ringtone %q, want the old one", got)
	}
	wantStatus(t, h, "Ringtone: bad.txt: not a WAV or Ogg file")
	if !h.m.statusErr {
		t.Error("a bad ringtone is not shown as an error")
	}
	au.errs = nil
	h.keys("enter", "ctrl+u")
	h.typeText("ring.ogg")
	h.keys("enter")
	if got := h.m.Settings().Ringtone; got != "ring.ogg" {
		t.Errorf("ringtone %q, want ring.ogg", got)
	}
	h.keys("enter", "ctrl+u", "enter")
	if got := h.m.Settings().Ringtone; got != "" {
		t.Errorf("after an empty file name: ringtone %q, want the default", got)
	}
	wantStatus(t, h, "the built-in ringtone")
	wantAudio(t, au, `SetCallingBell "bad.txt"`, `SetCallingBell "ring.ogg"`, `SetCallingBell ""`)
	// esc leaves the field unchanged.
	h.keys("enter")
	h.typeText("x.wav")
	h.keys("esc")
	if len(au.Calls()) != 3 || h.m.settings.Typing() {
		t.Error("esc in the ringtone field applied it or kept the field open")
	}
}

func TestSettingsToggles(t *testing.T) {
	h, au := settingsHarness(t, Options{FloatWindow: true})
	gotoField(h, fieldMuteMode)
	h.keys("enter")
	gotoField(h, fieldBanner)
	h.keys("space")
	gotoField(h, fieldFloat)
	h.keys("enter")
	got := h.m.Settings()
	if !got.MuteMode || !got.IncomingBanner || got.FloatWindow {
		t.Fatalf("settings = %+v; want mute mode and banner on, compact off", got)
	}
	wantAudio(t, au, "EnableMuteMode true")
	h.event(engine.CallReceived{CallID: "in1", CallerID: "alice", CalleeIDList: []string{"me"}, MediaType: engine.MediaTypeAudio})
	if h.m.call == nil || !h.m.call.banner {
		t.Fatal("incoming call not shown as a banner")
	}
	if len(h.raw) != 0 || len(au.Calls()) != 1 {
		t.Errorf("mute mode rang: bell %q, audio %q", h.raw, au.Calls())
	}
	h.keys("a")
	h.event(engine.CallBegin{CallID: "in1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCalled})
	h.keys("f")
	if h.m.call.compact {
		t.Error("f made the call compact with the compact window off")
	}

	// Mute mode on while it rings stops the ringtone.
	h2, au2 := settingsHarness(t, Options{IncomingBanner: true})
	h2.event(engine.CallReceived{CallID: "in1", CallerID: "alice", CalleeIDList: []string{"me"}, MediaType: engine.MediaTypeAudio})
	gotoField(h2, fieldMuteMode)
	h2.keys("space") // enter would accept the call in the banner
	wantAudio(t, au2, "Ring true", "EnableMuteMode true", "Ring false")
}

func TestSettingsLanguage(t *testing.T) {
	h, _ := settingsHarness(t, Options{Lang: "en"})
	gotoField(h, fieldLang)
	h.keys("enter")
	if got := h.m.Settings().Lang; got != LangChinese {
		t.Fatalf("language %q, want zh-cn", got)
	}
	s := stripANSI(h.m.Render())
	for _, want := range []string{"设置", "麦克风", "语言", "中文", "返回"} {
		if !strings.Contains(s, want) {
			t.Errorf("after switching to Chinese the screen lacks %q:\n%s", want, s)
		}
	}
	wantStatus(t, h, "语言：中文")
	h.keys("right")
	if got := h.m.Settings().Lang; got != LangJapanese || !strings.Contains(stripANSI(h.m.Render()), "設定") {
		t.Errorf("language %q, want ja_JP on screen", got)
	}
	h.keys("right", "esc")
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "Contacts") || !strings.Contains(s, "settings") {
		t.Errorf("back in English, home is not:\n%s", s)
	}
}

func TestSettingsSelfInfo(t *testing.T) {
	h, _ := settingsHarness(t, Options{Nickname: "Me"})
	gotoField(h, fieldNickname)
	h.keys("enter", "backspace", "backspace")
	h.typeText("Moi Meme")
	h.keys("enter")
	gotoField(h, fieldAvatar)
	h.eng.errs = map[string]error{"SetSelfInfo": protocol.Errorf(protocol.CodeInvalidArgument, "avatar \"ftp://x\": want an http(s) URL")}
	h.keys("enter")
	h.typeText("ftp://x")
	h.keys("enter")
	got := h.m.Settings()
	if got.Nickname != "Moi Meme" || got.Avatar != "" {
		t.Errorf("profile = %q %q; want the new nickname and no avatar", got.Nickname, got.Avatar)
	}
	wantStatus(t, h, errorText(protocol.Errorf(protocol.CodeInvalidArgument, "avatar \"ftp://x\": want an http(s) URL")))
	if !strings.HasSuffix(h.m.status, "("+itoa(int(protocol.CodeInvalidArgument))+")") {
		t.Errorf("status %q does not end in the code", h.m.status)
	}
	wantCalls(t, h, "QueryRecentCalls", `SetSelfInfo "Moi Meme" ""`, `SetSelfInfo "Moi Meme" "ftp://x"`)
}

func TestSettingsCamera(t *testing.T) {
	h, _ := settingsHarness(t, Options{})
	if got := h.m.Settings().Camera; got != "pattern:" {
		t.Errorf("camera default %q, want pattern:", got)
	}
	gotoField(h, fieldCamera)
	h.keys("enter", "ctrl+u")
	h.typeText("/dev/video0")
	h.keys("enter")
	if got := h.m.Settings().Camera; got != "/dev/video0" {
		t.Errorf("camera %q", got)
	}
	h.keys("enter", "ctrl+u", "enter")
	if got := h.m.Settings().Camera; got != "pattern:" {
		t.Errorf("empty camera = %q, want pattern:", got)
	}
	// q types into the field rather than quitting.
	h.keys("enter", "q")
	if h.m.quitting {
		t.Error("q in a settings field quit")
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		text   string
		want   []string
		status string
	}{
		{text: "join group:demo room 42", want: []string{"JoinInGroupCall demo 42 audio"}, status: "joined group:demo room 42, connecting…"},
		{text: "join group:demo standup", want: []string{"JoinInGroupCall demo standup audio"}},
		{text: "join c9", want: []string{"Join c9"}, status: "joined c9, connecting…"},
		{text: "join", status: "join what? type join CALLID, or join group:G room N"},
		{text: "join group:demo", status: "join what? type join CALLID, or join group:G room N"},
	} {
		au := &fakeAudio{}
		h := newHarness(t, Options{Ringback: au})
		h.keys("/")
		h.typeText(tc.text)
		h.keys("enter")
		if diff := cmp.Diff(tc.want, h.eng.Calls()[1:], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: engine calls (-want +got):\n%s", tc.text, diff)
		}
		if tc.status != "" {
			wantStatus(t, h, tc.status)
		}
		if len(au.Calls()) != 0 {
			t.Errorf("%q: ringback %q; joining does not ring back", tc.text, au.Calls())
		}
	}

	checkJoinedGroupCall(t)
	// A failed join leaves no call and explains the error.
	checkFailedJoin(t)
}

// checkJoinedGroupCall joins group demo's room 42: a joining call c1 on
// its own screen, active with bob in it at CallBegin, and one that cannot
// invite.
func checkJoinedGroupCall(t *testing.T) {
	t.Helper()
	h := newHarness(t, Options{})
	h.keys("/")
	h.typeText("join group:demo room 42")
	h.keys("enter")
	if h.m.call == nil || !h.m.call.joining || h.m.call.id != "c1" {
		t.Fatalf("call = %+v, want a joining call c1", h.m.call)
	}
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "Joining group:demo room 42") {
		t.Errorf("joining screen:\n%s", s)
	}
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCalled},
		engine.UserJoin{CallID: "c1", UserID: "bob"})
	if h.m.call.phase != phaseActive {
		t.Fatalf("after CallBegin: phase %v, want active", h.m.call.phase)
	}
	for _, p := range h.m.call.peers {
		if p.state != peerJoined {
			t.Errorf("peer %s: %v, want in call", p.id, p.state)
		}
	}
	h.keys("+")
	if !h.m.call.inviting {
		t.Error("a joined group call cannot invite")
	}
}

// checkFailedJoin joins a room without a call: no call, and the error in
// the status line.
func checkFailedJoin(t *testing.T) {
	t.Helper()
	h := newHarness(t, Options{})
	h.eng.errs = map[string]error{"JoinInGroupCall": protocol.Errorf(protocol.CodeNoSuchCall, "no call in room 42 of demo")}
	h.keys("/")
	h.typeText("join group:demo room 42")
	h.keys("enter")
	if h.m.call != nil || !h.m.statusErr || !strings.Contains(h.m.status, "no call in room 42") {
		t.Errorf("failed join: call %v, status %q", h.m.call, h.m.status)
	}
}

func TestRingback(t *testing.T) {
	au := &fakeAudio{}
	h := newHarness(t, Options{Contacts: demoContacts, Ringback: au})
	h.keys("enter")
	wantAudio(t, au, "Ringback true")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	wantAudio(t, au, "Ringback true", "Ringback false")
	h.event(engine.CallEnd{CallID: "c1", TotalTime: 5, Reason: engine.ReasonHangup, UserID: "me"})
	wantAudio(t, au, "Ringback true", "Ringback false")

	// Not answered.
	au = &fakeAudio{}
	h = newHarness(t, Options{Contacts: demoContacts, Ringback: au})
	h.keys("down", "down", "enter") // bob
	h.event(engine.UserReject{CallID: "c1", UserID: "bob"}, engine.CallCancelled{CallID: "c1", UserID: "me", Reason: engine.ReasonReject})
	wantAudio(t, au, "Ringback true", "Ringback false")

	// The call could not be placed.
	au = &fakeAudio{}
	h = newHarness(t, Options{Contacts: demoContacts, Ringback: au})
	h.eng.errs = map[string]error{"Call": errors.New("offline")}
	h.keys("enter")
	wantAudio(t, au, "Ringback true", "Ringback false")

	// Cancelled by this user.
	au = &fakeAudio{}
	h = newHarness(t, Options{Contacts: demoContacts, Ringback: au})
	h.keys("enter", "x")
	h.event(engine.CallCancelled{CallID: "c1", UserID: "me", Reason: engine.ReasonCanceled})
	wantAudio(t, au, "Ringback true", "Ringback false")
}

func TestOwnMicState(t *testing.T) {
	h := newHarness(t, Options{Contacts: demoContacts})
	h.keys("enter")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	h.eng.errs = map[string]error{"CloseMicrophone": protocol.Errorf(protocol.CodeAudioDevice, "no microphone")}
	h.keys("m")
	if h.m.call.muted {
		t.Error("a failed CloseMicrophone shows the mic as muted")
	}
	h.eng.errs = nil
	h.keys("m")
	h.event(engine.CallEnd{CallID: "c1", TotalTime: 5, Reason: engine.ReasonHangup, UserID: "me"})
	// The engine keeps the microphone closed for the next call.
	h.keys("enter")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	if !h.m.call.muted {
		t.Error("the next call shows the mic on; the engine keeps it closed")
	}
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "muted") {
		t.Errorf("own tile:\n%s", s)
	}

	h = newHarness(t, Options{Contacts: demoContacts, NoMicrophone: true})
	h.keys("enter")
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller})
	if s := stripANSI(h.m.Render()); !strings.Contains(s, "no audio device") {
		t.Errorf("own tile with no audio device:\n%s", s)
	}
}

func TestParseJoin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want joinTarget
		err  bool
	}{
		{in: "c1", want: joinTarget{callID: "c1"}},
		{in: "group:g room 7", want: joinTarget{group: "g", room: protocol.IntRoom(7)}},
		{in: "group:g 7", want: joinTarget{group: "g", room: protocol.IntRoom(7)}},
		{in: "group:g room abc", want: joinTarget{group: "g", room: protocol.StrRoom("abc")}},
		{in: "group:g room 0", want: joinTarget{group: "g", room: protocol.StrRoom("0")}},
		{in: "", err: true},
		{in: "group:g", err: true},
		{in: "a b", err: true},
	} {
		got, err := parseJoin(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseJoin(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parseJoin(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// aiEngine is a fake engine with the AI voice hook.
type aiEngine struct {
	fakeEngine
	on    bool
	calls []bool
	err   error
}

func (e *aiEngine) EnableAIVoice(on bool) error {
	e.calls = append(e.calls, on)
	if on && e.err != nil {
		return e.err
	}
	e.on = on
	return nil
}

func (e *aiEngine) AIVoiceEnabled() bool { return e.on }

func TestSettingsAIVoice(t *testing.T) {
	eng := &aiEngine{on: true} // e.g. --ai-voice
	h, _ := settingsHarness(t, Options{Engine: eng})
	if !h.m.Settings().AIVoice {
		t.Fatal("the AI voice row does not show the engine's setting (on)")
	}
	gotoField(h, fieldAIVoice)
	h.keys("enter")
	wantStatus(t, h, "AI voice off")
	h.keys("enter")
	wantStatus(t, h, "AI voice on")
	if diff := cmp.Diff([]bool{false, true}, eng.calls); diff != "" {
		t.Errorf("EnableAIVoice calls (-want +got):\n%s", diff)
	}
	if v := h.m.View().Content; !strings.Contains(v, "AI voice           on") {
		t.Errorf("the settings screen does not show AI voice on:\n%s", v)
	}
	// a model that cannot load: back to off, the error shown
	h.keys("enter")
	eng.err = protocol.Errorf(protocol.CodeAIVoice, "no memory")
	h.keys("enter")
	if h.m.Settings().AIVoice || !h.m.statusErr || !strings.Contains(h.m.status, "no memory") {
		t.Errorf("after a failure: AI voice %v, status %q (err %v)", h.m.Settings().AIVoice, h.m.status, h.m.statusErr)
	}
}

func TestSettingsAIVoiceUnavailable(t *testing.T) {
	h, _ := settingsHarness(t, Options{}) // the plain fake has no AI voice
	gotoField(h, fieldAIVoice)
	h.keys("enter")
	if h.m.Settings().AIVoice || !h.m.statusErr || h.m.status != "AI voice is not available here" {
		t.Errorf("AI voice %v, status %q (err %v)", h.m.Settings().AIVoice, h.m.status, h.m.statusErr)
	}
}

// --- kit: settings that persist, beauty ---

func TestSettingsSaved(t *testing.T) {
	var saved []string
	var last Settings
	fail := false
	h, _ := settingsHarness(t, Options{SaveSettings: func(k string, s Settings) error {
		if fail {
			return errors.New("disk full")
		}
		saved, last = append(saved, k), s
		return nil
	}})
	h.keys("enter") // microphone: default -> Built-in Mic (applied, then saved)
	gotoField(h, fieldMuteMode)
	h.keys("enter")
	gotoField(h, fieldBeauty)
	h.keys("right", "right")
	if diff := cmp.Diff([]string{SetMic, SetMuteMode, SetBeauty, SetBeauty}, saved); diff != "" {
		t.Errorf("saved keys (-want +got):\n%s", diff)
	}
	if last.Beauty != 2 || !last.MuteMode || last.Devices.Mic != "Built-in Mic" {
		t.Errorf("last saved settings %+v", last)
	}
	if !strings.Contains(stripANSI(h.m.Render()), "Beauty             2") {
		t.Errorf("settings screen does not show beauty 2:\n%s", stripANSI(h.m.Render()))
	}
	fail = true
	gotoField(h, fieldBanner)
	h.keys("enter")
	if !h.m.statusErr || !strings.Contains(h.m.status, "disk full") {
		t.Errorf("a failed save shows %q (error %v), want the error", h.m.status, h.m.statusErr)
	}
	if !h.m.Settings().IncomingBanner {
		t.Error("a failed save undid the change for the session")
	}
}

// TestSettingRowsComplete: every row of the settings table has what the
// screen and the root need (a row added without its apply function, or a
// choice row without choices, fails here rather than on a key press), and
// no two rows save under the same key.
func TestSettingRowsComplete(t *testing.T) {
	keys := map[string]settingField{}
	for f := range numFields {
		r := f.row()
		if r.label == "" || r.key == "" || r.get == nil || r.apply == nil || (r.kind == kindChoice) != (r.choices != nil) {
			t.Errorf("row %d (%q): label %q key %q get %v apply %v choices %v", f, r.label, r.label, r.key, r.get != nil, r.apply != nil, r.choices != nil)
		}
		if g, dup := keys[r.key]; dup {
			t.Errorf("rows %d and %d both save as %q", g, f, r.key)
		}
		keys[r.key] = f
		if NewCatalog(LangEnglish).T(r.label) == r.label {
			t.Errorf("row %d: label %q is not in the catalog", f, r.label)
		}
	}
}
