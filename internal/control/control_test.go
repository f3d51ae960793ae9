package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	appID  = 1400000001
	secret = "control-test-secret"
)

type env struct {
	t   *testing.T
	url string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{SDKAppID: appID, Secret: secret, DataDir: t.TempDir(),
		Keepalive: time.Second, MediaIP: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return &env{t: t, url: "http://" + ln.Addr().String()}
}

func (e *env) sig(user string) string {
	e.t.Helper()
	s, err := usersig.Gen(appID, secret, user, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) group(id string, members ...string) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"groupId": id, "members": members})
	req, _ := http.NewRequest("POST", e.url+"/v1/groups", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e.sig("administrator"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("create group: %v %v", resp, err)
	}
	resp.Body.Close()
}

// user is a logged-in engine recording its events.
type user struct {
	*engine.Engine
	mu     sync.Mutex
	events []engine.Event
}

func (u *user) OnEvent(ev engine.Event) {
	u.mu.Lock()
	u.events = append(u.events, ev)
	u.mu.Unlock()
}

// waitEvent waits for an event that match accepts.
func (u *user) waitEvent(t *testing.T, what string, match func(engine.Event) bool) engine.Event {
	t.Helper()
	var found engine.Event
	testutil.WithTimeout(t, func() string {
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, ev := range u.events {
			if match(ev) {
				found = ev
				return ""
			}
		}
		return fmt.Sprintf("%s: no %s; events: %v", u.UserID(), what, u.namesLocked())
	}, 15*time.Second)
	return found
}

// namesLocked is the names of u's events; u.mu is held.
func (u *user) namesLocked() []string {
	var n []string
	for _, ev := range u.events {
		n = append(n, ev.Name())
	}
	return n
}

// tone is an audio source sending a frame every 20 ms.
type tone struct{}

func (tone) ReadOpusFrame(ctx context.Context) ([]byte, int, error) {
	select {
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-time.After(20 * time.Millisecond):
	}
	return []byte{0xf8, 0xff, 0xfe}, 50, nil // an Opus DTX-sized frame; the relay does not decode
}

func (e *env) login(id string) *user {
	e.t.Helper()
	eng, err := engine.New(engine.Options{Server: e.url})
	if err != nil {
		e.t.Fatal(err)
	}
	u := &user{Engine: eng}
	eng.AddObserver(u)
	eng.SetAudio(tone{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Init(ctx, appID, id, e.sig(id)); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(eng.Destroy)
	return u
}

func hasMethod(v any, name string) bool {
	_, ok := reflect.TypeOf(v).MethodByName(name)
	return ok
}

func isCode(err error, c protocol.Code) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == c
}

// subscribedControl serves u's engine on a control socket and returns a
// client of it that has subscribed to the events.
func subscribedControl(ctx context.Context, t *testing.T, u *user) *control.Client {
	t.Helper()
	_, cl := serveControl(ctx, t, u)
	if _, err := cl.Do(ctx, "subscribe"); err != nil {
		t.Fatal(err)
	}
	return cl
}

// serveControl serves u's engine on a control socket (a unix one) and
// returns the server and a client of it.
func serveControl(ctx context.Context, t *testing.T, u *user) (*control.Server, *control.Client) {
	t.Helper()
	srv := control.New(control.Options{Engine: u.Engine})
	t.Cleanup(func() { srv.Close() })
	addr := "unix:" + filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := control.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	cl, err := control.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return srv, cl
}

// controlStatus asks for the status.
func controlStatus(ctx context.Context, t *testing.T, cl *control.Client) control.Status {
	t.Helper()
	rep, err := cl.Do(ctx, "status")
	if err != nil {
		t.Fatal(err)
	}
	var st control.Status
	b, _ := json.Marshal(rep.Result)
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkBadCommandsInCall checks that bad commands during a call answer
// with stable codes.
func checkBadCommandsInCall(ctx context.Context, t *testing.T, cl *control.Client) {
	t.Helper()
	for _, tt := range []struct {
		cmd  string
		args []string
		code protocol.Code
	}{
		{"fly", nil, protocol.CodeUnknownControlCommand},
		{"camera", []string{"sideways"}, protocol.CodeInvalidArgument},
		{"invite", nil, protocol.CodeInvalidArgument},
		{"invite", []string{"no spaces"}, protocol.CodeInvalidUserID},
		{"beauty", []string{"12"}, protocol.CodeInvalidArgument},
		{"media", []string{"audio"}, protocol.CodeMediaTypeUnchanged},
	} {
		_, err := cl.Do(ctx, tt.cmd, tt.args...)
		if !isCode(err, tt.code) {
			t.Errorf("%s %v: %v, want code %d", tt.cmd, tt.args, err, tt.code)
		}
	}
}

// do runs a control command, failing the test on an error.
func do(ctx context.Context, t *testing.T, cl *control.Client, cmd string, args ...string) control.Reply {
	t.Helper()
	rep, err := cl.Do(ctx, cmd, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func isCallReceived(ev engine.Event) bool { _, ok := ev.(engine.CallReceived); return ok }

// aliceAudioIs matches alice's audio becoming available (on) or not.
func aliceAudioIs(on bool) func(engine.Event) bool {
	return func(ev engine.Event) bool {
		a, ok := ev.(engine.UserAudioAvailable)
		return ok && a.UserID == "alice" && a.IsAudioAvailable == on
	}
}

// checkMuteUnmute mutes alice through the control socket, then unmutes
// her: bob is told her audio is off, then on again.
func checkMuteUnmute(ctx context.Context, t *testing.T, cl *control.Client, alice, bob *user) {
	t.Helper()
	bob.mu.Lock()
	bob.events = nil
	bob.mu.Unlock()
	do(ctx, t, cl, "mute")
	bob.waitEvent(t, "onUserAudioAvailable(alice, false)", aliceAudioIs(false))
	if alice.IsMicrophoneOpen() {
		t.Error("microphone still open after mute")
	}
	do(ctx, t, cl, "unmute")
	bob.waitEvent(t, "onUserAudioAvailable(alice, true) again", aliceAudioIs(true))
}

// checkIdleStatus checks alice's status before any call, and that a
// command needing a call fails with CodeNoCurrentCall.
func checkIdleStatus(ctx context.Context, t *testing.T, cl *control.Client) {
	t.Helper()
	st := controlStatus(ctx, t, cl)
	want := control.Status{User: "alice", Connection: "connected", Status: "none", Microphone: true, CameraID: "front", Playback: "speakerphone"}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if _, err := cl.Do(ctx, "hangup"); !isCode(err, protocol.CodeNoCurrentCall) {
		t.Errorf("hangup without a call: %v, want 5006", err)
	}
}

// checkSettingsInCall sets beauty 5 and the earpiece during alice's call
// in group team, and checks the engine and the status.
func checkSettingsInCall(ctx context.Context, t *testing.T, cl *control.Client, alice *user) {
	t.Helper()
	if _, err := cl.Do(ctx, "beauty", "5"); err != nil || alice.BeautyLevel() != 5 {
		t.Errorf("beauty 5: %v, level %v", err, alice.BeautyLevel())
	}
	if _, err := cl.Do(ctx, "earpiece"); err != nil || alice.AudioPlaybackDevice() != engine.AudioPlaybackEarpiece {
		t.Errorf("earpiece: %v, route %v", err, alice.AudioPlaybackDevice())
	}
	if st := controlStatus(ctx, t, cl); st.Status != "accept" || st.Call == nil || st.Call.GroupID != "team" || st.Playback != "earpiece" || st.Beauty != 5 {
		t.Errorf("status in the call: %+v", st)
	}
}

// TestControlDrivesGroupCall: alice's engine is driven through the socket
// only; bob and carol see what a user would.
func TestControlDrivesGroupCall(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.login("alice"), e.login("bob"), e.login("carol")
	e.group("team", "alice", "bob", "carol")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := subscribedControl(ctx, t, alice)

	// Before any call: status, and commands that need one fail with codes.
	checkIdleStatus(ctx, t, cl)

	if _, err := alice.GroupCall(ctx, "team", []string{"bob"}, engine.MediaTypeAudio, engine.CallParams{}); err != nil {
		t.Fatal(err)
	}
	bob.waitEvent(t, "onCallReceived", isCallReceived)
	if err := bob.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	bob.waitEvent(t, "onUserAudioAvailable(alice, true)", aliceAudioIs(true))

	// mute: bob is told alice's audio is off; unmute: on again.
	checkMuteUnmute(ctx, t, cl, alice, bob)

	// invite: carol rings, with alice as the caller.
	rep := do(ctx, t, cl, "invite", "carol")
	if got := rep.Result.(map[string]any)["invited"]; !cmp.Equal(got, []any{"carol"}) {
		t.Errorf("invite result %v", got)
	}
	rcv := carol.waitEvent(t, "onCallReceived", isCallReceived).(engine.CallReceived)
	if rcv.CallerID != "alice" {
		t.Errorf("carol's invitation is from %q, want alice", rcv.CallerID)
	}

	// Bad commands answer with stable codes and leave the call up; good
	// ones change the settings, and the status shows them.
	checkBadCommandsInCall(ctx, t, cl)
	checkSettingsInCall(ctx, t, cl, alice)

	// hangup: bob sees alice leave; alice's stream carries onCallEnd.
	do(ctx, t, cl, "hangup")
	bob.waitEvent(t, "onUserLeave(alice)", func(ev engine.Event) bool {
		l, ok := ev.(engine.UserLeave)
		return ok && l.UserID == "alice"
	})
	seen := eventLinesUntil(t, cl, "onCallEnd")
	for _, w := range []string{"onCallBegin", "onUserJoin"} {
		if !strings.Contains(strings.Join(seen, " "), w) {
			t.Errorf("event stream %v lacks %s", seen, w)
		}
	}
}

// eventLinesUntil reads the client's event lines, each of which must carry
// a ts, until one names last, and returns the names read.
func eventLinesUntil(t *testing.T, cl *control.Client, last string) []string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	var seen []string
	for {
		select {
		case line := <-cl.Events():
			var ev struct {
				TS    int64  `json:"ts"`
				Event string `json:"event"`
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.TS == 0 {
				t.Errorf("event line without ts: %s", line)
			}
			if seen = append(seen, ev.Event); ev.Event == last {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %s on the event stream; saw %v", last, seen)
		}
	}
}

// rawReplies writes input to the control socket at addr on a plain TCP
// connection and returns the n replies, without their results and error
// messages.
func rawReplies(t *testing.T, addr, input string, n int) []control.Reply {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = nc.Write([]byte(input))
	dec := json.NewDecoder(nc)
	var got []control.Reply
	for range n {
		var r control.Reply
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		r.Result = nil
		got = append(got, r)
	}
	for i := range got {
		if got[i].Error != nil {
			got[i].Error.Message = ""
		}
	}
	return got
}

func TestControlProtocolErrors(t *testing.T) {
	e := newEnv(t)
	alice := e.login("alice")
	srv := control.New(control.Options{Engine: alice.Engine})
	defer srv.Close()
	ln, err := control.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	got := rawReplies(t, ln.Addr().String(), "this is not json\n{\"id\":\"x\",\"cmd\":\"ai-voice\",\"args\":[\"maybe\"]}\n{\"id\":7,\"cmd\":\"nickname\",\"args\":[\"Alice\",\"A.\"]}\n", 3)
	want := []control.Reply{
		{Error: &control.ReplyError{Code: protocol.CodeMalformedMessage, Name: "malformed message"}},
		{ID: json.RawMessage(`"x"`), Error: &control.ReplyError{Code: protocol.CodeInvalidArgument, Name: "invalid argument"}},
		{ID: json.RawMessage(`7`), OK: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}

	// ai-voice and blur answer 5014 until the engine has them.
	cl, err := control.Dial(context.Background(), "tcp:"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, c := range []struct {
		cmd, arg string
		has      bool
	}{
		{"ai-voice", "on", hasMethod(alice.Engine, "EnableAIVoice")},
		{"blur", "3", hasMethod(alice.Engine, "SetBlurBackground")},
	} {
		_, err := cl.Do(context.Background(), c.cmd, c.arg)
		if !c.has && !isCode(err, protocol.CodeNotSupportedYet) {
			t.Errorf("%s %s: %v, want 5014 in a build without it", c.cmd, c.arg, err)
		}
	}

	for _, addr := range []string{"tcp:0.0.0.0:0", "tcp:192.0.2.1:9", "ftp:x", ""} {
		if _, err := control.Listen(addr); !isCode(err, protocol.CodeInvalidArgument) {
			t.Errorf("Listen(%q) = %v, want 1004", addr, err)
		}
	}
	// A unix socket in use is refused; a stale one is replaced.
	checkUnixSocketReuse(t)
}

// checkUnixSocketReuse checks that a unix socket in use is refused, a stale
// one replaced, and that a dial with nobody listening fails with 5015.
func checkUnixSocketReuse(t *testing.T) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	l1, err := control.Listen("unix:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := control.Listen(path); !isCode(err, protocol.CodeControlUnavailable) {
		t.Errorf("second Listen on a live socket: %v, want 5015", err)
	}
	l1.(*net.UnixListener).SetUnlinkOnClose(false)
	l1.Close()
	l2, err := control.Listen(path)
	if err != nil {
		t.Fatalf("Listen on a stale socket: %v", err)
	}
	l2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := control.Dial(ctx, "unix:"+path); !isCode(err, protocol.CodeControlUnavailable) {
		t.Errorf("Dial with nobody listening: %v, want 5015", err)
	}
}

// closeOnEnd closes a control server when the call ends, as a scripted
// call does when its call is over.
type closeOnEnd struct{ srv *control.Server }

func (c closeOnEnd) OnEvent(ev engine.Event) {
	if _, ok := ev.(engine.CallEnd); ok {
		c.srv.Close()
	}
}

// TestControlHangupReplyOutlivesClose: "hangup" ends the call, the call's
// end closes the control server, and the script still reads the hangup's
// ok, never a dropped connection (5015).
func TestControlHangupReplyOutlivesClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for round := range 3 { // the close and the reply race; a few rounds
		e := newEnv(t)
		alice, bob := e.login("alice"), e.login("bob")
		srv, cl := serveControl(ctx, t, alice)
		alice.AddObserver(closeOnEnd{srv})
		if _, err := alice.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{}); err != nil {
			t.Fatal(err)
		}
		bob.waitEvent(t, "onCallReceived", isCallReceived)
		if err := bob.Accept(ctx); err != nil {
			t.Fatal(err)
		}
		alice.waitEvent(t, "onCallBegin", func(ev engine.Event) bool { _, ok := ev.(engine.CallBegin); return ok })
		if _, err := cl.Do(ctx, "hangup"); err != nil {
			t.Errorf("round %d: hangup: %v, want its ok", round, err)
		}
	}
}
