package tui

import (
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
)

var demoContacts = []string{"echo", "alice", "bob", "carol", "group:demo alice bob carol"}

func sampleRecords() []engine.CallRecord {
	at := t0.Add(-time.Hour).Unix()
	return []engine.CallRecord{
		{CallID: "r1", Inviter: "me", InviteList: []string{"echo"}, MediaType: engine.MediaTypeAudio, Result: engine.ResultOutgoing, BeginTime: at, TotalTime: 83},
		{CallID: "r2", Inviter: "dave", InviteList: []string{"me"}, MediaType: engine.MediaTypeVideo, Result: engine.ResultMissed, BeginTime: at - 600, EndReason: engine.ReasonNoResponse},
		{CallID: "r3", Inviter: "alice", InviteList: []string{"me"}, MediaType: engine.MediaTypeAudio, Result: engine.ResultIncoming, BeginTime: at - 3600, TotalTime: 3725},
		{CallID: "r4", Inviter: "me", InviteList: []string{"alice", "bob"}, GroupID: "demo", MediaType: engine.MediaTypeAudio, Result: engine.ResultOutgoing, BeginTime: at - 7200, TotalTime: 12},
	}
}

// Scenarios: each returns a harness showing one screen.

func homeScreen(t *testing.T) *harness {
	t.Helper()
	h := newHarnessWith(t, Options{Contacts: demoContacts}, sampleRecords())
	return h
}

func newHarnessWith(t *testing.T, opts Options, recs []engine.CallRecord) *harness {
	t.Helper()
	eng := &fakeEngine{records: recs}
	opts.Engine = eng
	h := newHarness(t, opts)
	h.eng = eng
	return h
}

func incomingScreen(t *testing.T, banner bool) *harness {
	t.Helper()
	h := newHarnessWith(t, Options{Contacts: demoContacts, IncomingBanner: banner}, sampleRecords())
	h.event(engine.CallReceived{CallID: "in1", CallerID: "alice", CalleeIDList: []string{"me", "bob", "carol"}, GroupID: "demo",
		MediaType: engine.MediaTypeVideo, UserData: "standup in 5", Caller: engine.UserInfo{UserID: "alice", Nickname: "Alice Liddell"}})
	return h
}

func outgoingScreen(t *testing.T) *harness {
	t.Helper()
	h := newHarnessWith(t, Options{Contacts: demoContacts}, nil)
	h.keys("/")
	h.typeText("group:demo alice bob carol dave")
	h.keys("enter")
	h.event(engine.UserReject{CallID: "c1", UserID: "bob"}, engine.UserLineBusy{CallID: "c1", UserID: "carol"},
		engine.UserNoResponse{CallID: "c1", UserID: "dave"})
	return h
}

func inCall1v1(t *testing.T) *harness {
	t.Helper()
	h := newHarnessWith(t, Options{Contacts: demoContacts, FloatWindow: true}, nil)
	h.keys("enter") // echo
	h.event(engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller},
		engine.UserJoin{CallID: "c1", UserID: "echo"},
		engine.UserVoiceVolumeChanged{VolumeMap: map[string]int{"me": 40, "echo": 75}},
		engine.UserNetworkQualityChanged{NetworkQualityList: []engine.NetworkQualityInfo{{UserID: "me", Quality: engine.NetworkQualityExcellent}, {UserID: "echo", Quality: engine.NetworkQualityGood}}})
	h.clock = h.clock.Add(83 * time.Second)
	return h
}

func inCallGroup(t *testing.T) *harness {
	t.Helper()
	h := newHarnessWith(t, Options{Contacts: demoContacts, FloatWindow: true}, nil)
	h.keys("down", "down", "down", "down", "enter") // group:demo alice bob carol
	h.event(engine.UserJoin{CallID: "c1", UserID: "alice"},
		engine.CallBegin{CallID: "c1", MediaType: engine.MediaTypeAudio, Role: engine.RoleCaller},
		engine.UserReject{CallID: "c1", UserID: "bob"},
		engine.UserAudioAvailable{CallID: "c1", UserID: "alice", IsAudioAvailable: false},
		engine.UserVoiceVolumeChanged{VolumeMap: map[string]int{"me": 10, "alice": 0, "carol": 0}},
		engine.UserNetworkQualityChanged{NetworkQualityList: []engine.NetworkQualityInfo{{UserID: "me", Quality: engine.NetworkQualityGood}, {UserID: "alice", Quality: engine.NetworkQualityBad}}})
	h.clock = h.clock.Add(3725 * time.Second)
	return h
}

func compactScreen(t *testing.T) *harness {
	t.Helper()
	h := inCall1v1(t)
	h.keys("f")
	return h
}

func historyScreen(t *testing.T) *harness {
	t.Helper()
	h := newHarnessWith(t, Options{Contacts: demoContacts}, sampleRecords())
	h.keys("h")
	return h
}

func TestGoldenViews(t *testing.T) {
	cases := []struct {
		name string
		make func(*testing.T) *harness
	}{
		{"home", homeScreen},
		{"incoming", func(t *testing.T) *harness { t.Helper(); return incomingScreen(t, false) }},
		{"incoming-banner", func(t *testing.T) *harness { t.Helper(); return incomingScreen(t, true) }},
		{"outgoing", outgoingScreen},
		{"incall-1v1", inCall1v1},
		{"incall-group", inCallGroup},
		{"compact", compactScreen},
		{"history", historyScreen},
		{"settings", settingsScreen},
	}
	for _, c := range cases {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			t.Run(c.name+"-"+itoa(size[0]), func(t *testing.T) {
				golden(t, c.make(t), c.name, size[0], size[1])
			})
		}
	}
}
