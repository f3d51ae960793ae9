package engine

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWebSocketURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:7480", "ws://127.0.0.1:7480/v1/ws"},
		{"https://call.example.org/", "wss://call.example.org/v1/ws"},
		{"ws://h:1/custom/path", "ws://h:1/custom/path"},
		{"wss://h", "wss://h/v1/ws"},
	} {
		got, err := WebSocketURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("WebSocketURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:7480", "ftp://h", "http://"} {
		if _, err := WebSocketURL(bad); !IsCode(err, 1004) {
			t.Errorf("WebSocketURL(%q): got %v, want code 1004", bad, err)
		}
	}
}

func TestServerURLs(t *testing.T) {
	got, err := ServerURLs("http://a:7481, https://b/ ,ws://c:7483/custom")
	if diff := cmp.Diff(got, []string{"ws://a:7481/v1/ws", "wss://b/v1/ws", "ws://c:7483/custom"}); err != nil || diff != "" {
		t.Errorf("ServerURLs(a list) = %v, %v; (-got +want):\n%s", got, err, diff)
	}
	for _, bad := range []string{"", " ", "http://a:1,", "http://a:1,,http://b:2", "http://a:1,ftp://b"} {
		if _, err := ServerURLs(bad); !IsCode(err, 1004) {
			t.Errorf("ServerURLs(%q): got %v, want code 1004", bad, err)
		}
	}
}

func TestMarshalEvent(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		{CallEnd{CallID: "c1", RoomID: IntRoom(7), MediaType: MediaTypeAudio, Role: RoleCaller, TotalTime: 3, Reason: ReasonHangup, UserID: "bob"},
			`{"event":"onCallEnd","callId":"c1","roomId":{"intRoomId":7},"mediaType":1,"role":1,"totalTime":3,"reason":"hangup","userId":"bob"}`},
		{KickedOffline{}, `{"event":"onKickedOffline"}`},
		{ConnectionChanged{State: Reconnecting}, `{"event":"onConnectionChanged","state":"reconnecting"}`},
	} {
		b, err := MarshalEvent(tc.ev)
		if err != nil || string(b) != tc.want {
			t.Errorf("MarshalEvent(%T):\n got %s %v\nwant %s", tc.ev, b, err, tc.want)
		}
	}
}

// TestDispatcherOrder: every observer sees every event once, in order;
// a removed observer sees nothing more.
func TestDispatcherOrder(t *testing.T) {
	d := newDispatcher()
	var mu sync.Mutex
	got := map[string][]string{}
	obs := func(name string) Observer {
		return NewObserver(func(ev Event) {
			mu.Lock()
			got[name] = append(got[name], ev.(UserJoin).UserID)
			mu.Unlock()
		})
	}
	a, b := obs("a"), obs("b")
	d.add(a)
	d.add(b)
	var want []string
	for i := 0; i < 100; i++ {
		id := string(rune('A' + i%26))
		want = append(want, id)
		d.push(UserJoin{UserID: id})
	}
	d.close()
	if diff := cmp.Diff(want, got["a"]); diff != "" {
		t.Errorf("observer a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got["b"]); diff != "" {
		t.Errorf("observer b (-want +got):\n%s", diff)
	}

	d2 := newDispatcher()
	d2.add(a)
	d2.remove(a)
	d2.push(UserJoin{UserID: "late"})
	d2.close()
	if n := len(got["a"]); n != 100 {
		t.Errorf("removed observer got %d events, want 100", n)
	}
}

type fakeRouter struct{ got []AudioPlaybackDevice }

func (r *fakeRouter) SelectPlayback(d AudioPlaybackDevice) error {
	r.got = append(r.got, d)
	if d == AudioPlaybackEarpiece && len(r.got) > 2 {
		return errTest
	}
	return nil
}

var errTest = &Error{Code: 1, Message: "test"}

func TestSelectAudioPlaybackDevice(t *testing.T) {
	e, err := New(Options{Server: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	if got := e.AudioPlaybackDevice(); got != AudioPlaybackSpeakerphone {
		t.Errorf("default route: got %v, want speakerphone", got)
	}
	if err := e.SelectAudioPlaybackDevice(AudioPlaybackEarpiece); err != nil {
		t.Fatalf("select without a router: %v", err)
	}
	r := &fakeRouter{}
	if err := e.SetAudioRouter(r); err != nil {
		t.Fatal(err)
	}
	if err := e.SelectAudioPlaybackDevice(AudioPlaybackSpeakerphone); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]AudioPlaybackDevice{AudioPlaybackEarpiece, AudioPlaybackSpeakerphone}, r.got); diff != "" {
		t.Errorf("router calls (-want +got):\n%s", diff)
	}
	if err := e.SelectAudioPlaybackDevice(AudioPlaybackEarpiece); !IsCode(err, 5007) {
		t.Errorf("a failing route: got %v, want code 5007", err)
	}
	if got := e.AudioPlaybackDevice(); got != AudioPlaybackSpeakerphone {
		t.Errorf("route after a failed switch: got %v, want speakerphone", got)
	}
	if err := e.SelectAudioPlaybackDevice(7); !IsCode(err, 1004) {
		t.Errorf("bad route: got %v, want 1004", err)
	}
}
