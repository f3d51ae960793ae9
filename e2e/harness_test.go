// Package e2e runs the call model end to end: a real termcall server on
// 127.0.0.1, real WebSockets, a real SQLite file, and real engines.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	appID  = 1400000001
	secret = "e2e-secret-key"
	wait   = 5 * time.Second
)

// env is one running server.
type env struct {
	t       *testing.T
	srv     *server.Server
	ln      net.Listener
	url     string
	dir     string
	stopped bool
}

type envOpt func(*server.Config)

func withGrace(d time.Duration) envOpt { return func(c *server.Config) { c.GracePeriod = d } }

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.start(opts...)
	t.Cleanup(e.stop)
	return e
}

func (e *env) start(opts ...envOpt) {
	e.t.Helper()
	cfg := server.Config{SDKAppID: appID, Secret: secret, DataDir: e.dir, Keepalive: time.Second, GracePeriod: 3 * time.Second, MediaIP: "127.0.0.1",
		Logger:           slog.New(slog.DiscardHandler),
		MinInviteTimeout: 1, // tests ring out in 1 s; the default is the reference's 10 s
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatalf("server.New: %v", err)
	}
	addr := "127.0.0.1:0"
	if e.url != "" {
		addr = e.ln.Addr().String() // restart on the same port
	}
	var ln net.Listener
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	e.srv, e.ln, e.url, e.stopped = srv, ln, "http://"+ln.Addr().String(), false
	go srv.Serve(ln) //nolint:errcheck // returns at Close
}

func (e *env) stop() {
	e.t.Helper()
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Close(ctx); err != nil {
		e.t.Errorf("server close: %v", err)
	}
}

func (e *env) sig(user string, expire time.Duration) string {
	e.t.Helper()
	s, err := usersig.Gen(appID, secret, user, expire)
	if err != nil {
		e.t.Fatalf("usersig: %v", err)
	}
	return s
}

// admin calls the admin REST API and decodes the JSON answer into out.
func (e *env) admin(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.sig("administrator", time.Hour))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

func (e *env) group(id string, members ...string) {
	e.t.Helper()
	code, err := e.admin("POST", "/v1/groups", map[string]any{"groupId": id, "members": members}, nil)
	if err != nil || code != 200 {
		e.t.Fatalf("create group %s: %d %v", id, code, err)
	}
}

func (e *env) users(ids ...string) {
	e.t.Helper()
	code, err := e.admin("POST", "/v1/users", map[string]any{"userIds": ids}, nil)
	if err != nil || code != 200 {
		e.t.Fatalf("add users: %d %v", code, err)
	}
}

// client is a logged-in engine with a recorder of its events.
type client struct {
	*engine.Engine
	id  string
	rec *recorder
	t   *testing.T
}

type loginOpt func(*engine.Options, *client)

// connEvents makes the recorder keep ConnectionChanged events.
func connEvents(_ *engine.Options, c *client) { c.rec.conn = true }

func device(id string) loginOpt { return func(o *engine.Options, _ *client) { o.DeviceID = id } }

func (e *env) newClient(id string, opts ...loginOpt) *client {
	e.t.Helper()
	o := engine.Options{Server: e.url, Keepalive: time.Second, MaxBackoff: 200 * time.Millisecond}
	c := &client{id: id, rec: newRecorder(), t: e.t}
	for _, f := range opts {
		f(&o, c)
	}
	eng, err := engine.New(o)
	if err != nil {
		e.t.Fatalf("engine.New: %v", err)
	}
	c.Engine = eng
	eng.AddObserver(c.rec)
	e.t.Cleanup(eng.Destroy)
	return c
}

// login makes a client and logs it in.
func (e *env) login(id string, opts ...loginOpt) *client {
	e.t.Helper()
	c := e.newClient(id, opts...)
	if err := c.Init(ctx(e.t), appID, id, e.sig(id, time.Hour)); err != nil {
		e.t.Fatalf("%s: Init: %v", id, err)
	}
	if c.rec.conn {
		c.expect(engine.ConnectionChanged{State: engine.Connecting}, engine.ConnectionChanged{State: engine.Connected})
	} else {
		c.rec.skipConn()
	}
	return c
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

// recorder keeps the events an engine delivered.
type recorder struct {
	mu     sync.Mutex
	cond   *sync.Cond
	events []engine.Event
	next   int
	conn   bool // keep ConnectionChanged events
	media  bool // keep media events (availability, volume, network quality)
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) OnEvent(ev engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.(type) {
	case engine.ConnectionChanged:
		if !r.conn {
			return
		}
	case engine.UserAudioAvailable, engine.UserVideoAvailable, engine.UserVoiceVolumeChanged, engine.UserNetworkQualityChanged:
		if !r.media {
			return
		}
	}
	r.events = append(r.events, ev)
	r.cond.Broadcast()
}

// skipConn drops what was recorded so far.
func (r *recorder) skipConn() {
	r.mu.Lock()
	r.next = len(r.events)
	r.mu.Unlock()
}

// take waits for n more events and returns them.
func (r *recorder) take(n int, d time.Duration) []engine.Event {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.events)-r.next < n && time.Now().Before(deadline) {
		r.cond.Wait()
	}
	end := min(r.next+n, len(r.events))
	got := append([]engine.Event(nil), r.events[r.next:end]...)
	r.next = end
	return got
}

// expect checks that the client's next events are exactly want.
func (c *client) expect(want ...engine.Event) {
	c.t.Helper()
	got := c.rec.take(len(want), wait)
	if diff := cmp.Diff(want, got, ignoreTotalTime); diff != "" {
		c.t.Fatalf("%s: events (-want +got):\n%s", c.id, diff)
	}
}

// ignoreTotalTime: durations are checked by TestTotalTime and the records
// tests, not in every event sequence.
var ignoreTotalTime = cmpopts.IgnoreFields(engine.CallEnd{}, "TotalTime")

// quiet checks that no further event arrives for a moment.
func (c *client) quiet() {
	c.t.Helper()
	if got := c.rec.take(1, 200*time.Millisecond); len(got) > 0 {
		c.t.Fatalf("%s: unexpected event %s %+v", c.id, got[0].Name(), got[0])
	}
}

func (c *client) mustCall(to string, mt engine.MediaType, p engine.CallParams) engine.CallInfo {
	c.t.Helper()
	info, err := c.Call(ctx(c.t), to, mt, p)
	if err != nil {
		c.t.Fatalf("%s: Call(%s): %v", c.id, to, err)
	}
	return info
}

func (c *client) must(what string, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("%s: %s: %v", c.id, what, err)
	}
}

// wantCode checks that err carries code.
func wantCode(t *testing.T, what string, err error, code engine.Code) {
	t.Helper()
	if !engine.IsCode(err, code) {
		t.Fatalf("%s: got error %v, want code %d (%s)", what, err, int(code), code)
	}
}

func names(evs []engine.Event) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%s ", e.Name())
	}
	return s
}
