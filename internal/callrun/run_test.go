package callrun

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

const (
	appID  = 1400000001
	secret = "callrun-test-secret"
)

// startServer runs a real termcall server on 127.0.0.1 for the test.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{SDKAppID: appID, Secret: secret, DataDir: t.TempDir(),
		MediaIP: "127.0.0.1", Logger: slog.New(slog.DiscardHandler), MinInviteTimeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // returns at Close
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return "http://" + ln.Addr().String()
}

// user is an engine and the channel of its events, as cmd's session.
type user struct {
	id     string
	eng    *engine.Engine
	events chan engine.Event
}

func newUser(t *testing.T, url, id string) *user {
	t.Helper()
	eng, err := engine.New(engine.Options{Server: url, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	u := &user{id: id, eng: eng, events: make(chan engine.Event, 256)}
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		select {
		case u.events <- ev:
		default:
		}
	}))
	t.Cleanup(eng.Destroy)
	return u
}

func (u *user) login(ctx context.Context) error {
	sig, err := usersig.Gen(appID, secret, u.id, time.Hour)
	if err != nil {
		return err
	}
	return u.eng.Init(ctx, appID, u.id, sig)
}

// answering logs bob in and accepts every call he receives.
func answering(t *testing.T, url, id string) {
	t.Helper()
	u := newUser(t, url, id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.login(ctx); err != nil {
		t.Fatal(err)
	}
	u.eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		if _, ok := ev.(engine.CallReceived); ok {
			go u.eng.Accept(context.Background()) //nolint:errcheck // the caller's events tell
		}
	}))
}

// transcript records what a Call says, emits and summarises.
type transcript struct {
	mu      sync.Mutex
	said    []string
	emitted []string
	summary Summary
	lines   int
	ringing chan struct{}
}

func (tr *transcript) wire(c *Call) {
	tr.ringing = make(chan struct{})
	c.Say = func(s string) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.said = append(tr.said, s)
		if strings.HasPrefix(s, "ringing ") {
			close(tr.ringing)
		}
	}
	c.Emit = func(ev engine.Event) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.emitted = append(tr.emitted, ev.Name())
	}
	c.Summary = func(b []byte) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.lines++
		if err := json.Unmarshal(b, &tr.summary); err != nil {
			panic(err)
		}
	}
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return exit.OK
	}
	var e *exit.Error
	if !errors.As(err, &e) || !e.Silent {
		t.Fatalf("Run returned %v, want a silent *exit.Error", err)
	}
	return e.Code
}

// TestRunConnected: a call answered and hung up after --duration: the
// lines said, the events emitted, one summary "connected", exit 0, and
// the ringback on while ringing, off once connected.
func TestRunConnected(t *testing.T) {
	url := startServer(t)
	answering(t, url, "bob")
	alice := newUser(t, url, "alice")
	var rb []bool
	var rbMu sync.Mutex
	c := &Call{Engine: alice.eng, Events: alice.events, Login: alice.login, Server: url, User: "alice",
		Target: Target{Callee: "bob", Media: engine.MediaTypeAudio}, Duration: 300 * time.Millisecond,
		Signals:  make(chan os.Signal),
		Ringback: func(on bool) { rbMu.Lock(); rb = append(rb, on); rbMu.Unlock() }}
	var tr transcript
	tr.wire(c)
	code := exitCode(t, c.Run(context.Background()))
	if code != exit.OK || tr.summary.Result != Connected || tr.lines != 1 || tr.summary.DurationSeconds <= 0 {
		t.Errorf("exit %d, %d summaries %+v; want 0, one connected with a duration", code, tr.lines, tr.summary)
	}
	want := []string{"logging in to " + url + " as alice...", "ringing bob...", "hanging up after 300ms"}
	if diff := cmp.Diff(want, tr.said); diff != "" {
		t.Errorf("said (-want +got):\n%s", diff)
	}
	for _, name := range []string{"onCallBegin", "onCallEnd"} {
		if !strings.Contains(strings.Join(tr.emitted, " "), name) {
			t.Errorf("emitted %v, no %s", tr.emitted, name)
		}
	}
	rbMu.Lock()
	defer rbMu.Unlock()
	if len(rb) == 0 || !rb[0] {
		t.Errorf("ringback calls %v, want it started first", rb)
	}
}

// TestRunSignalDuringSetup: a signal while logging in cancels the setup:
// the result is "cancelled", exit 6, and nothing is placed.
func TestRunSignalDuringSetup(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	c := &Call{Events: make(chan engine.Event), Target: Target{Callee: "bob"}, Signals: sigs,
		Login: func(ctx context.Context) error {
			sigs <- os.Interrupt
			<-ctx.Done()
			return ctx.Err()
		}}
	var tr transcript
	tr.wire(c)
	code := exitCode(t, c.Run(context.Background()))
	if code != exit.Cancelled || tr.summary.Result != Cancelled {
		t.Errorf("exit %d, summary %+v; want 6, cancelled", code, tr.summary)
	}
}

// TestRunLoginFails: a refused login is the run's error, with its code and
// message in the summary.
func TestRunLoginFails(t *testing.T) {
	url := startServer(t)
	alice := newUser(t, url, "alice")
	c := &Call{Engine: alice.eng, Events: alice.events, Target: Target{Callee: "bob"}, Signals: make(chan os.Signal),
		Login: func(ctx context.Context) error { return alice.eng.Init(ctx, appID, "alice", "not-a-usersig") }}
	var tr transcript
	tr.wire(c)
	code := exitCode(t, c.Run(context.Background()))
	if code != exit.Auth || tr.summary.Result != Error || tr.summary.Error == "" {
		t.Errorf("exit %d, summary %+v; want %d, error with a message", code, tr.summary, exit.Auth)
	}
}

// TestRunSignalWhileRinging: a signal while the call rings cancels it:
// "cancelling the call...", result cancelled, exit 6.
func TestRunSignalWhileRinging(t *testing.T) {
	url := startServer(t)
	bob := newUser(t, url, "bob") // logged in, never answers
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bob.login(ctx); err != nil {
		t.Fatal(err)
	}
	alice := newUser(t, url, "alice")
	sigs := make(chan os.Signal, 1)
	c := &Call{Engine: alice.eng, Events: alice.events, Login: alice.login, Signals: sigs,
		Target: Target{Callee: "bob", Media: engine.MediaTypeAudio, Params: engine.CallParams{Timeout: 30}}}
	var tr transcript
	tr.wire(c)
	go func() {
		select {
		case <-tr.ringing:
			sigs <- os.Interrupt
		case <-ctx.Done():
		}
	}()
	code := exitCode(t, c.Run(ctx))
	if code != exit.Cancelled || tr.summary.Result != Cancelled {
		t.Errorf("exit %d, summary %+v; want 6, cancelled", code, tr.summary)
	}
	if !strings.Contains(strings.Join(tr.said, "\n"), "cancelling the call...") {
		t.Errorf("said %q, want the cancelling line", tr.said)
	}
}

func TestTargetValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Target
		ok   bool
	}{
		{"callee", Target{Callee: "bob"}, true},
		{"bad callee", Target{Callee: "b o b"}, false},
		{"group", Target{Group: "g1", Invitees: []string{"a", "b"}}, true},
		{"bad invitee", Target{Group: "g1", Invitees: []string{"a", ""}}, false},
		{"join by call ID, bad", Target{Join: true, CallID: "no spaces allowed"}, false},
	} {
		err := tc.t.Validate()
		if (err == nil) != tc.ok || (err != nil && exit.Code(err) != exit.Usage) {
			t.Errorf("%s: Validate() = %v (exit %d), want ok=%v or a usage error", tc.name, err, exit.Code(err), tc.ok)
		}
	}
}
