package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

const (
	fzAppID  = 1400000042
	fzSecret = "fuzz-secret-key"
	// fzHardLimit is the server's hard read limit (server.hardReadLimit):
	// a bigger frame closes the connection by design.
	fzHardLimit = 1 << 20
	fzWait      = 10 * time.Second
)

// fzServer is one running server for the tests in this file.
type fzServer struct {
	srv  *server.Server
	addr string
	http *http.Client
}

func startFzServer(tb testing.TB) *fzServer { tb.Helper(); return startFzServerWith(tb) }

// startFzServerWith starts a server with the test defaults changed by opts.
func startFzServerWith(tb testing.TB, opts ...func(*server.Config)) *fzServer {
	tb.Helper()
	cfg := server.Config{
		SDKAppID: fzAppID, Secret: fzSecret, DataDir: tb.TempDir(),
		Keepalive: 5 * time.Second, GracePeriod: time.Second,
		Logger: slog.New(slog.DiscardHandler),
		// No call rate or pending-invitation limit: the fuzzer calls bob
		// many times a second and must reach the call handlers.
		CallRate: -1, MaxPendingInvitations: -1,
		MinInviteTimeout: 1, // the corpus rings out in 1 s; the default is the reference's 10 s
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	s := &fzServer{srv: srv, addr: ln.Addr().String(), http: &http.Client{Transport: &http.Transport{}}}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			tb.Errorf("server close: %v", err)
		}
		<-served
		s.http.CloseIdleConnections()
	})
	return s
}

func fzSig(tb testing.TB, user string) string {
	tb.Helper()
	s, err := usersig.Gen(fzAppID, fzSecret, user, 24*time.Hour)
	if err != nil {
		tb.Fatalf("usersig: %v", err)
	}
	return s
}

// admin calls the admin REST API.
func (s *fzServer) admin(tb testing.TB, method, path string, body any) {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+s.addr+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+fzSig(tb, "administrator"))
	resp, err := s.http.Do(req)
	if err != nil {
		tb.Fatalf("admin %s %s: %v", method, path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("admin %s %s: status %d", method, path, resp.StatusCode)
	}
}

// rawClient is a WebSocket speaking the protocol by hand. A goroutine reads
// all the time (so that the server's keepalive pings are answered) and
// hands frames over on a channel, which it closes when the connection ends.
type rawClient struct {
	ws     *websocket.Conn
	frames chan []byte
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *fzServer) dial(tb testing.TB) *rawClient {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fzWait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/v1/ws", &websocket.DialOptions{HTTPClient: s.http})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(fzHardLimit)
	rctx, rcancel := context.WithCancel(context.Background())
	c := &rawClient{ws: ws, frames: make(chan []byte, 4096), cancel: rcancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.frames)
		for {
			_, b, err := ws.Read(rctx)
			if err != nil {
				return
			}
			select {
			case c.frames <- b:
			case <-rctx.Done():
				return
			}
		}
	}()
	return c
}

func (c *rawClient) close() {
	c.cancel()
	c.ws.CloseNow()
	<-c.done
}

// drain discards whatever arrives from now on.
func (c *rawClient) drain() {
	go func() {
		for range c.frames {
		}
	}()
}

func (c *rawClient) send(frame []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), fzWait)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

func (c *rawClient) sendf(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if err := c.send(fmt.Appendf(nil, format, args...)); err != nil {
		tb.Fatalf("send: %v", err)
	}
}

// next returns the next frame, decoded; ok is false once the connection
// closed or nothing came in time (closed tells which).
func (c *rawClient) next(d time.Duration) (m *protocol.Message, raw []byte, ok, closed bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case b, open := <-c.frames:
		if !open {
			return nil, nil, false, true
		}
		m, err := protocol.Decode(b)
		if err != nil {
			// The server must only send well-formed frames.
			return &protocol.Message{Type: "!undecodable"}, b, true, false
		}
		return m, b, true, false
	case <-timer.C:
		return nil, nil, false, false
	}
}

// await returns the first frame of the given type and id, skipping others
// (events in particular).
func (c *rawClient) await(tb testing.TB, typ string, id uint64) *protocol.Message {
	tb.Helper()
	deadline := time.Now().Add(fzWait)
	for {
		m, raw, ok, closed := c.next(time.Until(deadline))
		if !ok {
			tb.Fatalf("no %s %d (connection closed: %v)", typ, id, closed)
		}
		if m.Type == "!undecodable" {
			tb.Fatalf("server sent an undecodable frame %q", raw)
		}
		if m.Type == typ && m.ID == id {
			return m
		}
	}
}

// awaitEvent returns the data of the next event with the given name.
func (c *rawClient) awaitEvent(tb testing.TB, name string) protocol.Event {
	tb.Helper()
	deadline := time.Now().Add(fzWait)
	for {
		m, _, ok, closed := c.next(time.Until(deadline))
		if !ok {
			tb.Fatalf("no event %s (connection closed: %v)", name, closed)
		}
		if m.Type != protocol.TypeEvent {
			continue
		}
		var ev protocol.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			tb.Fatalf("bad event %s: %v", m.Data, err)
		}
		if ev.Event == name {
			return ev
		}
	}
}

// request sends a frame and returns its reply, failing on an error reply.
func (c *rawClient) request(tb testing.TB, id uint64, frame string) *protocol.Message {
	tb.Helper()
	if err := c.send([]byte(frame)); err != nil {
		tb.Fatalf("send: %v", err)
	}
	m := c.await(tb, protocol.TypeReply, id)
	if m.Error != nil {
		tb.Fatalf("%s: %v", frame, m.Error)
	}
	return m
}

func (c *rawClient) login(tb testing.TB, user string) {
	tb.Helper()
	c.request(tb, 1, fmt.Sprintf(`{"type":"login","id":1,"data":{"version":1,"sdkAppId":%d,"userId":%q,"userSig":%q}}`,
		fzAppID, user, fzSig(tb, user)))
}

// loginRaw dials and logs in; the caller closes the client.
func (s *fzServer) loginRaw(tb testing.TB, user string) *rawClient {
	tb.Helper()
	c := s.dial(tb)
	c.login(tb, user)
	return c
}

// keep closes c when tb ends.
func keep(tb testing.TB, c *rawClient) *rawClient {
	tb.Helper()
	tb.Cleanup(c.close)
	return c
}

// placeCall has caller call callee (a group call when groupID is set) and
// the callee accept; it returns the call.
func placeCall(tb testing.TB, caller, callee *rawClient, calleeID, groupID string) protocol.CallState {
	tb.Helper()
	typ, group := "call", ""
	if groupID != "" {
		typ, group = "groupCall", fmt.Sprintf(`,"groupId":%q`, groupID)
	}
	m := caller.request(tb, 2, fmt.Sprintf(`{"type":%q,"id":2,"data":{"userIds":[%q]%s,"mediaType":1,"params":{"roomId":{}}}}`, typ, calleeID, group))
	var rep protocol.CallReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		tb.Fatalf("call reply %s: %v", m.Data, err)
	}
	callee.awaitEvent(tb, protocol.EventCallReceived)
	callee.request(tb, 3, fmt.Sprintf(`{"type":"accept","id":3,"data":{"callId":%q}}`, rep.Call.CallID))
	caller.awaitEvent(tb, protocol.EventCallBegin)
	return rep.Call
}

// fuzzWorld is the server and the clients a fuzz worker shares between
// inputs: "fuzzer", whose connection sends the inputs; "bob", idle and
// callable; "carol" and "dave" in a 1v1 call ({{otherCall}}); "erin" and
// "frank" in a call of group g1 ({{groupCall}}, room {{groupRoom}}).
type fuzzWorld struct {
	s        *fzServer
	c        *rawClient
	sig      string
	repl     *strings.Replacer
	sentinel uint64
}

func newFuzzWorld(tb testing.TB) *fuzzWorld {
	tb.Helper()
	s := startFzServer(tb)
	w := &fuzzWorld{s: s, sig: fzSig(tb, "fuzzer"), sentinel: 1 << 40}
	s.admin(tb, "POST", "/v1/groups", map[string]any{"groupId": "g1", "members": []string{"fuzzer", "bob", "carol", "dave", "erin", "frank"}})
	bob := keep(tb, s.loginRaw(tb, "bob"))
	carol, dave := keep(tb, s.loginRaw(tb, "carol")), keep(tb, s.loginRaw(tb, "dave"))
	other := placeCall(tb, carol, dave, "dave", "")
	erin, frank := keep(tb, s.loginRaw(tb, "erin")), keep(tb, s.loginRaw(tb, "frank"))
	grp := placeCall(tb, erin, frank, "frank", "g1")
	for _, c := range []*rawClient{bob, carol, dave, erin, frank} {
		c.drain()
	}
	room, _ := json.Marshal(grp.RoomID)
	w.repl = strings.NewReplacer(
		"{{otherCall}}", other.CallID,
		"{{groupCall}}", grp.CallID,
		"{{groupRoom}}", string(room),
		"{{sig}}", w.sig,
		"{{appId}}", fmt.Sprint(fzAppID),
	)
	w.c = s.loginRaw(tb, "fuzzer")
	tb.Cleanup(func() { w.c.close() })
	return w
}

// ensure logs the fuzzer in again if an earlier input logged it out.
func (w *fuzzWorld) ensure(t *testing.T) {
	t.Helper()
	select {
	case <-w.c.done:
	default:
		return
	}
	w.c.close()
	w.c = w.s.loginRaw(t, "fuzzer")
}

func (w *fuzzWorld) nextSentinel(avoid uint64) uint64 {
	w.sentinel++
	if w.sentinel == avoid {
		w.sentinel++
	}
	return w.sentinel
}

// fzSeeds are valid and invalid messages of every type. The placeholders
// of fuzzWorld are filled in before sending.
var fzSeeds = []string{
	// Login and session.
	`{"type":"login","id":1,"data":{"version":1,"sdkAppId":{{appId}},"userId":"fuzzer","userSig":"{{sig}}"}}`,
	`{"type":"login","id":1,"data":{"version":2,"sdkAppId":{{appId}},"userId":"fuzzer","userSig":"{{sig}}"}}`,
	`{"type":"login","id":1,"data":{"version":1,"sdkAppId":1,"userId":"x","userSig":"bad"}}`,
	`{"type":"login","id":1,"data":{"version":"1"}}`,
	`{"type":"renewSig","id":2,"data":{"userSig":"{{sig}}"}}`,
	`{"type":"renewSig","id":2,"data":{"userSig":"not a sig"}}`,
	`{"type":"renewSig","id":2,"data":{"userSig":12}}`,
	`{"type":"renewSig","id":2,"data":{"userSig":"eJyrVkrOzFGyUkpJzMnPS1eqBQA1KwWO"}}`,
	`{"type":"logout","id":3}`,
	`{"type":"enableMultiDevice","id":4,"data":{"enable":true}}`,
	`{"type":"enableMultiDevice","id":4,"data":{"enable":1}}`,
	`{"type":"setSelfInfo","id":5,"data":{"nickname":"Fuzzy","avatar":"https://example.org/f.png"}}`,
	`{"type":"setSelfInfo","id":5,"data":{"nickname":"` + strings.Repeat("n", 501) + `"}}`,
	`{"type":"setSelfInfo","id":5,"data":{"avatar":"javascript:alert(1)"}}`,
	`{"type":"setSelfInfo","id":5,"data":{"avatar":"http://"}}`,
	`{"type":"ping","id":6}`,
	`{"type":"ping"}`,
	`{"type":"ping","id":6,"data":{"x":[1,2,3]}}`,
	// Calls.
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":2,"params":{"roomId":{"strRoomId":"team room #1"},"timeout":1,"userData":"hi","offlinePushInfo":{"title":"t"}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["carol"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["fuzzer"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["nobody"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":[],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":null,"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob","bob"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob","carol"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["bad id!"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["` + strings.Repeat("a", 33) + `"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":[""],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["\u0000"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["` + "\xff\xfe" + `"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":[` + strings.Repeat(`"bob",`, 5000) + `"bob"],"mediaType":1}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":0}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":3}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":-1}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":"audio"}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1e3}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":99999999999999999999999}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":2147483648}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":4294967295}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":4294967296}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"strRoomId":"` + strings.Repeat("r", 65) + `"}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"strRoomId":"bad\"room*"}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{{groupRoom}}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"timeout":601}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"timeout":-1}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"userData":"` + strings.Repeat("u", 4097) + `"}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"params":{"offlinePushInfo":{"nope":1}}}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"groupId":"g1"}}`,
	`{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":1,"extra":true}}`,
	`{"type":"call","id":10,"data":{"userIds":"bob","mediaType":1}}`,
	`{"type":"call","id":10,"data":[]}`,
	`{"type":"call","id":10,"data":"call bob"}`,
	`{"type":"call","id":10}`,
	`{"type":"call","data":{"userIds":["bob"],"mediaType":1}}`,
	`{"type":"groupCall","id":11,"data":{"userIds":["bob"],"groupId":"g1","mediaType":1}}`,
	`{"type":"groupCall","id":11,"data":{"userIds":["bob","erin"],"groupId":"g1","mediaType":2}}`,
	`{"type":"groupCall","id":11,"data":{"userIds":["bob"],"groupId":"nogroup","mediaType":1}}`,
	`{"type":"groupCall","id":11,"data":{"userIds":["bob"],"groupId":"bad group","mediaType":1}}`,
	`{"type":"groupCall","id":11,"data":{"userIds":["bob"],"mediaType":1}}`,
	`{"type":"groupCall","id":11,"data":{"userIds":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"],"groupId":"g1","mediaType":1}}`,
	// Acting on calls, including someone else's.
	`{"type":"accept","id":20,"data":{"callId":"{{otherCall}}"}}`,
	`{"type":"reject","id":21,"data":{"callId":"{{otherCall}}"}}`,
	`{"type":"ignore","id":22,"data":{"callId":"{{otherCall}}"}}`,
	`{"type":"hangup","id":23,"data":{"callId":"{{otherCall}}"}}`,
	`{"type":"switchCallMediaType","id":24,"data":{"callId":"{{otherCall}}","mediaType":2}}`,
	`{"type":"inviteUser","id":25,"data":{"callId":"{{otherCall}}","userIds":["bob"]}}`,
	`{"type":"join","id":26,"data":{"callId":"{{otherCall}}"}}`,
	`{"type":"join","id":26,"data":{"callId":"{{groupCall}}"}}`,
	`{"type":"joinInGroupCall","id":27,"data":{"roomId":{{groupRoom}},"groupId":"g1","mediaType":1}}`,
	`{"type":"joinInGroupCall","id":27,"data":{"roomId":{{groupRoom}},"groupId":"g1","mediaType":7}}`,
	`{"type":"joinInGroupCall","id":27,"data":{"roomId":{},"groupId":"g1"}}`,
	`{"type":"joinInGroupCall","id":27,"data":{"roomId":{{groupRoom}},"groupId":"g2"}}`,
	`{"type":"inviteUser","id":28,"data":{"callId":"{{groupCall}}","userIds":["bob"],"params":{"timeout":1}}}`,
	`{"type":"hangup","id":29,"data":{"callId":"{{groupCall}}"}}`,
	`{"type":"accept","id":30,"data":{"callId":"0123456789abcdef0123"}}`,
	`{"type":"accept","id":30,"data":{"callId":""}}`,
	`{"type":"accept","id":30,"data":{"callId":"` + strings.Repeat("c", 65) + `"}}`,
	`{"type":"accept","id":30,"data":{"callId":"../../etc"}}`,
	`{"type":"accept","id":30,"data":{"callId":["x"]}}`,
	`{"type":"accept","id":30,"data":{"callId":"x","x":1}}`,
	`{"type":"hangup","id":31}`,
	`{"type":"switchCallMediaType","id":32,"data":{"callId":"x","mediaType":"video"}}`,
	// Records.
	`{"type":"queryRecentCalls","id":40,"data":{"limit":10,"resultType":1}}`,
	`{"type":"queryRecentCalls","id":40,"data":{"limit":1001}}`,
	`{"type":"queryRecentCalls","id":40,"data":{"limit":-1}}`,
	`{"type":"queryRecentCalls","id":40,"data":{"resultType":9}}`,
	`{"type":"queryRecentCalls","id":40,"data":{"begin":-9223372036854775808,"end":9223372036854775807}}`,
	`{"type":"queryRecentCalls","id":40}`,
	`{"type":"deleteRecordCalls","id":41,"data":{"callIds":["{{otherCall}}"]}}`,
	`{"type":"deleteRecordCalls","id":41,"data":{"callIds":[]}}`,
	`{"type":"deleteRecordCalls","id":41,"data":{"callIds":["bad id"]}}`,
	`{"type":"deleteRecordCalls","id":41,"data":{"callIds":[` + strings.Repeat(`"x",`, 1000) + `"x"]}}`,
	// Envelopes.
	`{"type":"dance","id":50}`,
	`{"type":"reply","id":51}`,
	`{"type":"event","id":52,"data":{"event":"onCallEnd"}}`,
	`{"type":"pong","id":53}`,
	`{"type":"","id":54}`,
	`{"id":55}`,
	`{"type":"call","id":-1}`,
	`{"type":"call","id":18446744073709551615,"data":{}}`,
	`{"type":"call","id":18446744073709551616}`,
	`{"type":"call","id":"1"}`,
	`{"type":["call"],"id":1}`,
	`{"type":"call","id":1,"error":{"code":1}}`,
	`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":1}} trailing`,
	`{"type":"call","id":1,"data":{"a":{"b":{"c":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}}}}`,
	`{"type":"call","id":1,"data":{"userIds":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"mediaType":1}}`,
	`{"type":"ping","id":1}{"type":"ping","id":2}`,
	`{"TYPE":"hangup","Id":60,"DATA":{"CALLID":"x"}}`,
	`{"type":"hang\u0075p","id":61,"data":{"callId":"x"}}`,
	`{"type":"` + strings.Repeat("t", 10000) + `","id":62}`,
	`{"type":"ping","id":63,"data":"` + strings.Repeat("x", protocol.MaxMessageSize) + `"}`,
	`{"type":"call",`,
	`{`,
	`[`,
	`null`,
	`""`,
	`42`,
	``,
	"\x00\x01\x02",
	"{\"type\":\"ping\",\"id\":64,\"data\":\"\xff\"}",
}

func FuzzServerMessages(f *testing.F) {
	for _, s := range fzSeeds {
		f.Add([]byte(s))
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		frame := []byte(w.repl.Replace(string(in)))
		if len(frame) > fzHardLimit {
			t.Skip("frames over the hard limit close the connection by design")
		}
		w.ensure(t)
		c := w.c
		m, decErr := protocol.Decode(frame)
		if err := c.send(frame); err != nil {
			t.Fatalf("send %q: %v", frame, err)
		}

		// A logout answers, then closes the connection.
		if decErr == nil && m.Type == protocol.TypeLogout {
			awaitLogout(t, c, m, frame)
			return
		}

		// Then a ping: everything the server answers to the input comes
		// before its pong.
		answers := answersBeforePong(t, c, w.nextSentinel(idOf(m)), frame)
		checkAnswers(t, frame, m, decErr, answers)

		// Leave no call behind: the next input starts idle.
		hangUpAnswered(t, w, c, answers, frame)
	})
}

// awaitLogout checks that a logout is answered without error and then
// closes the connection.
func awaitLogout(t *testing.T, c *rawClient, m *protocol.Message, frame []byte) {
	t.Helper()
	if rep := awaitAnswer(t, c, m.ID, frame); rep.Error != nil {
		t.Fatalf("logout %q: %v", frame, rep.Error)
	}
	select {
	case <-c.done:
	case <-time.After(fzWait):
		t.Fatalf("the connection stayed open after logout %q", frame)
	}
}

// answersBeforePong sends a ping with id sentinel and returns the replies
// and pongs the server sent before that ping's pong.
func answersBeforePong(t *testing.T, c *rawClient, sentinel uint64, frame []byte) []*protocol.Message {
	t.Helper()
	if err := c.send(fmt.Appendf(nil, `{"type":"ping","id":%d}`, sentinel)); err != nil {
		t.Fatalf("after %q: send ping: %v", frame, err)
	}
	var answers []*protocol.Message
	deadline := time.Now().Add(fzWait)
	for {
		a, raw, ok, closed := c.next(time.Until(deadline))
		if !ok {
			t.Fatalf("after %q: no pong (connection closed: %v)", frame, closed)
		}
		if a.Type == "!undecodable" {
			t.Fatalf("after %q: the server sent an undecodable frame %q", frame, raw)
		}
		if a.Type == protocol.TypePong && a.ID == sentinel {
			return answers
		}
		if a.Type == protocol.TypeReply || a.Type == protocol.TypePong {
			answers = append(answers, a)
		}
	}
}

// checkAnswers checks what the server answered to one input: one error
// reply with the frame's id and the decoder's code to an undecodable frame,
// one pong to a ping, else at most one reply with the frame's id (exactly
// one when it has an id), whose error code, if any, is in 1000..7999.
func checkAnswers(t *testing.T, frame []byte, m *protocol.Message, decErr error, answers []*protocol.Message) {
	t.Helper()
	switch {
	case decErr != nil:
		want := protocol.CodeOf(decErr)
		wantID := protocol.ProbeID(frame)
		if len(answers) != 1 || !isErrorReply(answers[0], wantID, want) {
			t.Fatalf("undecodable %q: answers %s; want one error reply with id %d (the frame's, if it has one) and code %d", frame, show(answers), wantID, want)
		}
	case m.Type == protocol.TypePing:
		if len(answers) != 1 || answers[0].Type != protocol.TypePong || answers[0].ID != m.ID {
			t.Fatalf("ping %q: answers %s; want one pong with id %d", frame, show(answers), m.ID)
		}
	default:
		checkRequestAnswers(t, frame, m, answers)
	}
}

// checkRequestAnswers is checkAnswers for a decodable request other than a
// ping.
func checkRequestAnswers(t *testing.T, frame []byte, m *protocol.Message, answers []*protocol.Message) {
	t.Helper()
	if len(answers) > 1 || (m.ID != 0 && len(answers) == 0) {
		t.Fatalf("%q: answers %s; want exactly one reply with id %d", frame, show(answers), m.ID)
	}
	for _, a := range answers {
		if a.Type != protocol.TypeReply || a.ID != m.ID {
			t.Fatalf("%q: answer %s; want a reply with id %d", frame, show(answers), m.ID)
		}
		if a.Error != nil && (a.Error.Code < 1000 || a.Error.Code > 7999) {
			t.Fatalf("%q: error code %d out of 1000..7999: %v", frame, a.Error.Code, a.Error)
		}
	}
}

// isErrorReply reports whether a is an error reply with the given id and code.
func isErrorReply(a *protocol.Message, id uint64, code protocol.Code) bool {
	return a.Type == protocol.TypeReply && a.ID == id && a.Error != nil && a.Error.Code == code
}

// hangUpAnswered hangs up every call that one of answers started.
func hangUpAnswered(t *testing.T, w *fuzzWorld, c *rawClient, answers []*protocol.Message, frame []byte) {
	t.Helper()
	for _, a := range answers {
		var rep protocol.CallReply
		if a.Error != nil || json.Unmarshal(a.Data, &rep) != nil || rep.Call.CallID == "" {
			continue
		}
		id := w.nextSentinel(0)
		if err := c.send(fmt.Appendf(nil, `{"type":"hangup","id":%d,"data":{"callId":%q}}`, id, rep.Call.CallID)); err != nil {
			t.Fatalf("hangup: %v", err)
		}
		awaitAnswer(t, c, id, frame)
	}
}

func idOf(m *protocol.Message) uint64 {
	if m == nil {
		return 0
	}
	return m.ID
}

// awaitAnswer waits for the reply with the given id.
func awaitAnswer(t *testing.T, c *rawClient, id uint64, frame []byte) *protocol.Message {
	t.Helper()
	deadline := time.Now().Add(fzWait)
	for {
		a, raw, ok, closed := c.next(time.Until(deadline))
		if !ok {
			t.Fatalf("after %q: no reply %d (connection closed: %v)", frame, id, closed)
		}
		if a.Type == "!undecodable" {
			t.Fatalf("after %q: the server sent an undecodable frame %q", frame, raw)
		}
		if a.Type == protocol.TypeReply && a.ID == id {
			return a
		}
	}
}

func show(ms []*protocol.Message) string {
	var b strings.Builder
	b.WriteString("[")
	for i, m := range ms {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s#%d", m.Type, m.ID)
		if m.Error != nil {
			fmt.Fprintf(&b, "(error %d: %.80s)", m.Error.Code, m.Error.Message)
		}
	}
	b.WriteString("]")
	return b.String()
}

// errReply is what the table test expects: the id and code of one error reply.
type errReply struct {
	ID   uint64
	Code protocol.Code
}

// errorRepliesBeforePong sends a ping with id pingID and returns the error
// replies that came before its pong, failing on a success reply.
func errorRepliesBeforePong(t *testing.T, c *rawClient, pingID uint64) []errReply {
	t.Helper()
	if err := c.send(fmt.Appendf(nil, `{"type":"ping","id":%d}`, pingID)); err != nil {
		t.Fatalf("send ping: %v", err)
	}
	var got []errReply
	for {
		m, raw, ok, closed := c.next(fzWait)
		if !ok {
			t.Fatalf("no pong (connection closed: %v); replies so far %+v", closed, got)
		}
		if m.Type == protocol.TypePong && m.ID == pingID {
			return got
		}
		if m.Type != protocol.TypeReply {
			continue
		}
		if m.Error == nil {
			t.Fatalf("unexpected success reply %s", raw)
		}
		got = append(got, errReply{m.ID, m.Error.Code})
	}
}

func TestMalformedMessagesKeepServerUp(t *testing.T) {
	s := startFzServer(t)
	anon := keep(t, s.dial(t))
	mallory := keep(t, s.loginRaw(t, "mallory"))

	big := `{"type":"ping","id":9,"data":"` + strings.Repeat("x", protocol.MaxMessageSize) + `"}`
	for _, tc := range []struct {
		name   string
		c      *rawClient
		frame  string
		want   errReply
		pingID uint64
	}{
		{"malformed JSON", mallory, `{"type":"call","id":1,`, errReply{0, protocol.CodeMalformedMessage}, 101},
		{"not an object", mallory, `[1,2,3]`, errReply{0, protocol.CodeMalformedMessage}, 102},
		{"no type", mallory, `{"id":3}`, errReply{3, protocol.CodeMalformedMessage}, 103},
		{"unknown type", mallory, `{"type":"dance","id":4}`, errReply{4, protocol.CodeUnknownMessageType}, 104},
		{"frame over 64 KiB", mallory, big, errReply{0, protocol.CodeMessageTooLarge}, 105},
		{"unknown field in data", mallory, `{"type":"hangup","id":6,"data":{"callId":"abc","bogus":1}}`, errReply{6, protocol.CodeMalformedMessage}, 106},
		{"wrong field type", mallory, `{"type":"call","id":7,"data":{"userIds":"bob","mediaType":1}}`, errReply{7, protocol.CodeMalformedMessage}, 107},
		{"trailing garbage", mallory, `{"type":"ping","id":8} x`, errReply{0, protocol.CodeMalformedMessage}, 108},
		{"second login", mallory, fmt.Sprintf(`{"type":"login","id":9,"data":{"version":1,"sdkAppId":%d,"userId":"mallory","userSig":%q}}`, fzAppID, fzSig(t, "mallory")),
			errReply{9, protocol.CodeAlreadyLoggedIn}, 109},
		{"bad media type", mallory, `{"type":"call","id":10,"data":{"userIds":["bob"],"mediaType":3}}`, errReply{10, protocol.CodeInvalidMediaType}, 110},
		{"request before login", anon, `{"type":"hangup","id":11,"data":{"callId":"abc"}}`, errReply{11, protocol.CodeNotLoggedIn}, 111},
		{"unknown type before login", anon, `{"type":"dance","id":12}`, errReply{12, protocol.CodeUnknownMessageType}, 112},
		{"wrong sdkAppID login", anon, fmt.Sprintf(`{"type":"login","id":13,"data":{"version":1,"sdkAppId":%d,"userId":"eve","userSig":%q}}`, fzAppID+1, fzSig(t, "eve")),
			errReply{13, protocol.CodeSDKAppIDMismatch}, 113},
		{"bad userId login", anon, fmt.Sprintf(`{"type":"login","id":14,"data":{"version":1,"sdkAppId":%d,"userId":"eve smith","userSig":%q}}`, fzAppID, fzSig(t, "eve")),
			errReply{14, protocol.CodeInvalidUserID}, 114},
		{"unknown field in login", anon, `{"type":"login","id":15,"data":{"version":1,"admin":true}}`, errReply{15, protocol.CodeMalformedMessage}, 115},
		{"login for another user's sig", anon, fmt.Sprintf(`{"type":"login","id":16,"data":{"version":1,"sdkAppId":%d,"userId":"eve","userSig":%q}}`, fzAppID, fzSig(t, "mallory")),
			errReply{16, protocol.CodeUserSigMismatch}, 116},
		{"malformed JSON before login", anon, `}{`, errReply{0, protocol.CodeMalformedMessage}, 117},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.send([]byte(tc.frame)); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := errorRepliesBeforePong(t, tc.c, tc.pingID)
			if diff := cmp.Diff([]errReply{tc.want}, got); diff != "" {
				t.Errorf("error replies (-want +got):\n%s", diff)
			}
		})
	}

	// A frame over the hard limit closes that connection only.
	t.Run("frame over the hard limit", func(t *testing.T) {
		c := keep(t, s.loginRaw(t, "trudy"))
		huge := `{"type":"ping","id":1,"data":"` + strings.Repeat("x", fzHardLimit) + `"}`
		_ = c.send([]byte(huge)) // the server may close before reading it all
		select {
		case <-c.done:
		case <-time.After(fzWait):
			t.Fatal("the connection stayed open after a frame over the hard limit")
		}
	})

	// The anonymous connection can still log in after its failures.
	anon.request(t, 20, fmt.Sprintf(`{"type":"login","id":20,"data":{"version":1,"sdkAppId":%d,"userId":"eve","userSig":%q}}`, fzAppID, fzSig(t, "eve")))

	// Other users' calls still work.
	alice, bob := keep(t, s.loginRaw(t, "alice")), keep(t, s.loginRaw(t, "bob"))
	call := placeCall(t, alice, bob, "bob", "")
	bob.awaitEvent(t, protocol.EventCallBegin)
	alice.request(t, 4, fmt.Sprintf(`{"type":"hangup","id":4,"data":{"callId":%q}}`, call.CallID))
	for _, c := range []*rawClient{alice, bob} {
		if ev := c.awaitEvent(t, protocol.EventCallEnd); ev.CallID != call.CallID || ev.Reason != protocol.ReasonHangup || ev.UserID != "alice" {
			t.Fatalf("got %+v, want CallEnd of %s by alice hanging up", ev, call.CallID)
		}
	}

	// And mallory's battered connection still answers.
	mallory.sendf(t, `{"type":"queryRecentCalls","id":30,"data":{"limit":5}}`)
	if m := mallory.await(t, protocol.TypeReply, 30); m.Error != nil {
		t.Fatalf("mallory: queryRecentCalls: %v", m.Error)
	}
}
