package protoschema_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/protoschema"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

const (
	appID  = 1400000001
	secret = "schema-test-secret"
	file   = "../../docs/protocol.schema.json"
)

// TestSchemaUpToDate fails when the Go types and the checked-in schema
// drift apart.
func TestSchemaUpToDate(t *testing.T) {
	want, err := protoschema.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/protocol.schema.json is stale (run: go generate ./internal/protoschema):\n%s",
			cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
	}
}

type validator struct {
	client, server *jsonschema.Schema
}

func loadSchema(t *testing.T) validator {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(protoschema.ID, doc); err != nil {
		t.Fatal(err)
	}
	var v validator
	if v.client, err = c.Compile(protoschema.ID + "#/$defs/ClientMessage"); err != nil {
		t.Fatal(err)
	}
	if v.server, err = c.Compile(protoschema.ID + "#/$defs/ServerMessage"); err != nil {
		t.Fatal(err)
	}
	return v
}

func validate(s *jsonschema.Schema, frame []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(frame))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// TestSchemaRejects checks that the schema says no where the server does.
func TestSchemaRejects(t *testing.T) {
	v := loadSchema(t)
	for _, frame := range []string{
		`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":"audio","params":{"roomId":{}}}}`, // mediaType is a number
		`{"type":"accept","id":2,"data":{"callId":"x","extra":1}}`,                                     // unknown key
		`{"type":"nosuch","id":3}`,
		`{"type":"hangup","data":{"callId":"x"}}`, // a request needs an id
	} {
		if validate(v.client, []byte(frame)) == nil {
			t.Errorf("schema accepts %s", frame)
		}
	}
	for _, frame := range []string{
		`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":7}}}}`,
		`{"type":"ping"}`,
	} {
		if err := validate(v.client, []byte(frame)); err != nil {
			t.Errorf("schema rejects %s: %v", frame, err)
		}
	}
	if err := validate(v.server, []byte(`{"type":"event","data":{"event":"onCallEnd","seq":3,"time":1,"scene":2,"reason":"hangup","newKey":true}}`)); err != nil {
		t.Errorf("server messages may carry keys of later versions: %v", err)
	}
	if validate(v.server, []byte(`{"type":"event","data":{"event":"onCallEnd","seq":3,"time":1,"scene":2,"reason":1}}`)) == nil {
		t.Error("schema accepts a numeric end reason")
	}
}

// startSchemaServer serves a server on 127.0.0.1 with a 200 ms
// keepalive, closed when the test ends, and returns its address.
func startSchemaServer(t *testing.T) string {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{SDKAppID: appID, Secret: secret, DataDir: t.TempDir(),
		MediaIP: "127.0.0.1", Keepalive: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
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
		_ = srv.Close(ctx)
	})
	return ln.Addr().String()
}

// relayLogin logs an engine of id in through the relay and returns it with
// its events.
func relayLogin(ctx context.Context, t *testing.T, relay *relay, id string) (*engine.Engine, chan engine.Event) {
	t.Helper()
	eng, err := engine.New(engine.Options{Server: relay.url, Keepalive: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Destroy)
	evs := make(chan engine.Event, 256)
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) { evs <- ev }))
	if err := eng.Init(ctx, appID, id, sig(t, id)); err != nil {
		t.Fatalf("%s: Init: %v", id, err)
	}
	return eng, evs
}

// awaitEvent reads evs until ok accepts an event, failing when ctx ends.
func awaitEvent(ctx context.Context, t *testing.T, evs chan engine.Event, what string, ok func(engine.Event) bool) {
	t.Helper()
	for {
		select {
		case ev := <-evs:
			if ok(ev) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no %s", what)
		}
	}
}

// TestRealSessionConforms runs real engines against a real server through a
// WebSocket relay that checks every frame, both ways, against the schema:
// logins, a 1v1 call with its media negotiation, a media switch, hangup,
// records, profile, a renewed userSig, pings, and error replies.
func TestRealSessionConforms(t *testing.T) {
	relay := newRelay(t, loadSchema(t), "ws://"+startSchemaServer(t)+"/v1/ws")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, _ := relayLogin(ctx, t, relay, "alice")
	bob, bobEvs := relayLogin(ctx, t, relay, "bob")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFor := func(evs chan engine.Event, what string, ok func(engine.Event) bool) {
		t.Helper()
		awaitEvent(ctx, t, evs, what, ok)
	}
	must("setSelfInfo", alice.SetSelfInfo(ctx, "Alice", ""))
	must("multi-device", alice.EnableMultiDeviceAbility(ctx, true))
	_, err := alice.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{UserData: "hi"})
	must("call", err)
	waitFor(bobEvs, "invitation", func(ev engine.Event) bool { _, ok := ev.(engine.CallReceived); return ok })
	must("accept", bob.Accept(ctx))
	waitFor(bobEvs, "call begin", func(ev engine.Event) bool { _, ok := ev.(engine.CallBegin); return ok })
	relay.waitFor(t, ctx, "a media answer", func(dir, typ string, b []byte) bool {
		return dir == "client" && typ == protocol.TypeMedia && bytes.Contains(b, []byte(`"answer"`))
	})
	must("switch", alice.SwitchCallMediaType(ctx, engine.MediaTypeVideo))
	time.Sleep(300 * time.Millisecond) // keepalive pings both ways
	must("hangup", bob.Hangup(ctx))
	waitFor(bobEvs, "call end", func(ev engine.Event) bool { _, ok := ev.(engine.CallEnd); return ok })
	recs, err := alice.QueryRecentCalls(ctx, engine.RecentCallsFilter{})
	must("records", err)
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	_, err = alice.DeleteRecordCalls(ctx, []string{recs[0].CallID})
	must("delete records", err)
	must("renew", alice.Init(ctx, appID, "alice", sig(t, "alice")))
	_, err = alice.Call(ctx, "nobody-known", engine.MediaTypeAudio, engine.CallParams{})
	if protocol.CodeOf(err) != protocol.CodeUnknownUser {
		t.Fatalf("call to an unknown user: %v, want 4001", err)
	}

	// Raw frames: an application ping, a frame that is not JSON (error
	// reply without an id), an unknown type.
	raw := relay.dialRaw(t, ctx)
	for _, f := range []string{`{"type":"ping","id":5}`, `{not json`, `{"type":"nosuch","id":6}`} {
		if err := raw.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	relay.waitFor(t, ctx, "the error reply to an unknown type", func(dir, typ string, b []byte) bool {
		return dir == "server" && bytes.Contains(b, []byte(`"code":1002`))
	})
	raw.Close(websocket.StatusNormalClosure, "")
	checkRelaySaw(t, relay)
}

// checkRelaySaw checks that the relay found no frame against the schema,
// and saw a frame of each kind the session sends.
func checkRelaySaw(t *testing.T, relay *relay) {
	t.Helper()
	relay.mu.Lock()
	defer relay.mu.Unlock()
	for _, e := range relay.errs {
		t.Error(e)
	}
	var seen []string
	for k := range relay.seen {
		seen = append(seen, k)
	}
	slices.Sort(seen)
	for _, want := range []string{"client login", "client call", "client accept", "client media", "client hangup",
		"client switchCallMediaType", "client queryRecentCalls", "client deleteRecordCalls", "client setSelfInfo",
		"client renewSig", "client enableMultiDevice", "server reply", "server event", "server media", "server pong"} {
		if !slices.Contains(seen, want) {
			t.Errorf("the session had no %q frame; it had %v", want, seen)
		}
	}
}

func sig(t *testing.T, user string) string {
	t.Helper()
	s, err := usersig.Gen(appID, secret, user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// relay is a WebSocket relay between clients and the server that checks
// every frame against the schema.
type relay struct {
	url      string
	upstream string
	v        validator

	mu     sync.Mutex
	cond   *sync.Cond
	errs   []string
	seen   map[string]bool
	frames []frameSeen
}

type frameSeen struct {
	dir, typ string
	b        []byte
}

func newRelay(t *testing.T, v validator, upstream string) *relay {
	t.Helper()
	r := &relay{upstream: upstream, v: v, seen: map[string]bool{}}
	r.cond = sync.NewCond(&r.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln) //nolint:errcheck // returns at Close
	t.Cleanup(func() { _ = hs.Close() })
	r.url = "http://" + ln.Addr().String()
	return r
}

func (r *relay) serve(w http.ResponseWriter, req *http.Request) {
	down, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	down.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	up, _, err := websocket.Dial(ctx, r.upstream, nil) //nolint:bodyclose // coder/websocket closes it
	if err != nil {
		down.Close(websocket.StatusInternalError, "upstream")
		return
	}
	up.SetReadLimit(1 << 20)
	pump := func(from, to *websocket.Conn, dir string) {
		defer cancel()
		for {
			typ, b, err := from.Read(ctx)
			if err != nil {
				return
			}
			r.check(dir, b)
			if err := to.Write(ctx, typ, b); err != nil {
				return
			}
		}
	}
	go pump(up, down, "server")
	pump(down, up, "client")
	<-ctx.Done()
	up.Close(websocket.StatusNormalClosure, "")
	down.Close(websocket.StatusNormalClosure, "")
}

func (r *relay) check(dir string, b []byte) {
	s := r.v.client
	if dir == "server" {
		s = r.v.server
	}
	var typ string
	if m, err := protocol.Decode(b); err == nil {
		typ = m.Type
	}
	err := validate(s, b)
	if dir == "client" && typ == "" {
		err = nil // the test's deliberately broken frame
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && !(dir == "client" && typ == "nosuch") {
		r.errs = append(r.errs, fmt.Sprintf("%s frame does not fit the schema: %s\n%v", dir, b, err))
	}
	r.seen[dir+" "+typ] = true
	r.frames = append(r.frames, frameSeen{dir, typ, b})
	r.cond.Broadcast()
}

func (r *relay) waitFor(t *testing.T, ctx context.Context, what string, ok func(dir, typ string, b []byte) bool) {
	t.Helper()
	stop := context.AfterFunc(ctx, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; ; {
		for ; i < len(r.frames); i++ {
			if f := r.frames[i]; ok(f.dir, f.typ, f.b) {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no %s through the relay", what)
		}
		r.cond.Wait()
	}
}

func (r *relay) dialRaw(t *testing.T, ctx context.Context) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, strings.Replace(r.url, "http", "ws", 1)+"/v1/ws", nil) //nolint:bodyclose // coder/websocket closes it
	if err != nil {
		t.Fatal(err)
	}
	login := fmt.Sprintf(`{"type":"login","id":1,"data":{"version":1,"sdkAppId":%d,"userId":"carol","userSig":%q,"deviceId":""}}`, appID, sig(t, "carol"))
	if err := c.Write(ctx, websocket.MessageText, []byte(login)); err != nil {
		t.Fatal(err)
	}
	go func() { // drain
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return c
}
