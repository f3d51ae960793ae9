package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// httpError is the JSON body of every HTTP error of the server.
type httpError struct {
	Error struct {
		Code    protocol.Code `json:"code"`
		Message string        `json:"message"`
	} `json:"error"`
}

// rawHTTP sends one GET on a fresh TCP connection (from local, if set) and
// returns the answer's status, body and the connection (left open).
func rawHTTP(t *testing.T, addr, path string, local net.Addr) (int, string, net.Conn) {
	t.Helper()
	d := net.Dialer{Timeout: fzWait, LocalAddr: local}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = c.SetDeadline(time.Now().Add(fzWait))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		// A refused connection may already be closed; the answer is
		// still in our receive buffer.
		t.Logf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		t.Fatalf("GET %s: %v", path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return resp.StatusCode, string(body), c
}

// holdConn opens a TCP connection that the server counts (it sends
// nothing, so it stays until the idle/header timeout).
func holdConn(t *testing.T, addr string, local net.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: fzWait, LocalAddr: local}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitOpen polls until the server counts want open connections.
func waitOpen(t *testing.T, s *fzServer, want int) {
	t.Helper()
	testutil.WithTimeout(t, func() string {
		if n := s.srv.ConnStats().Open; n != want {
			return fmt.Sprintf("open connections %d, want %d", n, want)
		}
		return ""
	}, fzWait)
}

// refused checks that a new connection is answered 503 with code 7001.
func refused(t *testing.T, addr string, local net.Addr) {
	t.Helper()
	status, body, c := rawHTTP(t, addr, "/healthz", local)
	c.Close()
	var e httpError
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("refusal body %q: %v", body, err)
	}
	if status != http.StatusServiceUnavailable || e.Error.Code != protocol.CodeTooManyConnections {
		t.Fatalf("over the cap: status %d code %d (%q), want 503 and %d", status, e.Error.Code, body, protocol.CodeTooManyConnections)
	}
}

// pingPong checks that a logged-in client is still answered.
func pingPong(t *testing.T, c *rawClient, id uint64) {
	t.Helper()
	c.sendf(t, `{"type":"ping","id":%d}`, id)
	c.await(t, protocol.TypePong, id)
}

// TestIdleKeepAliveClosed: an idle keep-alive connection is closed by the
// server after serve.idle_timeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	s := startFzServerWith(t, func(c *server.Config) { c.IdleTimeout = 200 * time.Millisecond })
	status, _, c := rawHTTP(t, s.addr, "/healthz", nil)
	defer c.Close()
	if status != http.StatusOK {
		t.Fatalf("healthz: %d", status)
	}
	_ = c.SetReadDeadline(time.Now().Add(fzWait))
	start := time.Now()
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %d bytes, %v; want EOF (closed by the server)", n, err)
	}
	t.Logf("idle connection closed after %v", time.Since(start).Round(time.Millisecond))
	waitOpen(t, s, 0)
}

// TestGlobalConnectionCap: with max_connections 3, the 4th connection gets
// 503/7001 while a call in progress on an existing connection keeps
// working; a freed slot is usable again.
func TestGlobalConnectionCap(t *testing.T) {
	s := startFzServerWith(t, func(c *server.Config) { c.MaxConnections, c.MaxConnectionsPerIP = 3, -1 })
	alice := keep(t, s.loginRaw(t, "alice"))
	bob := keep(t, s.loginRaw(t, "bob"))
	placeCall(t, alice, bob, "bob", "")
	idle := holdConn(t, s.addr, nil)
	waitOpen(t, s, 3)

	refused(t, s.addr, nil)
	refused(t, s.addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}) // the global cap holds for every address
	if got := s.srv.ConnStats().RefusedGlobal; got != 2 {
		t.Errorf("RefusedGlobal %d, want 2", got)
	}
	// The call goes on: both sides are still answered.
	pingPong(t, alice, 100)
	pingPong(t, bob, 101)
	waitOpen(t, s, 3)

	idle.Close()
	waitOpen(t, s, 2)
	status, _, c := rawHTTP(t, s.addr, "/healthz", nil)
	c.Close()
	if status != http.StatusOK {
		t.Errorf("after a slot was freed: healthz %d, want 200", status)
	}
}

// TestPerIPConnectionCap: with max_connections_per_ip 2, a third
// connection from 127.0.0.1 is refused while 127.0.0.2 still gets in, and
// the logged-in client on 127.0.0.1 keeps working.
func TestPerIPConnectionCap(t *testing.T) {
	s := startFzServerWith(t, func(c *server.Config) { c.MaxConnections, c.MaxConnectionsPerIP = 100, 2 })
	alice := keep(t, s.loginRaw(t, "alice"))
	holdConn(t, s.addr, nil)
	waitOpen(t, s, 2)

	refused(t, s.addr, nil)
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	status, _, c := rawHTTP(t, s.addr, "/healthz", other)
	c.Close()
	if status != http.StatusOK {
		t.Errorf("from another address: healthz %d, want 200", status)
	}
	pingPong(t, alice, 100)
	st := s.srv.ConnStats()
	if st.RefusedPerIP != 1 || st.RefusedGlobal != 0 || st.MaxPerIP != 2 || st.MaxTotal != 100 {
		t.Errorf("stats %+v, want 1 refused per IP, caps 100/2", st)
	}
}

// TestAutoConnectionCaps: 0 derives the caps from the open-file limit.
func TestAutoConnectionCaps(t *testing.T) {
	s := startFzServer(t)
	alice := keep(t, s.loginRaw(t, "alice"))
	pingPong(t, alice, 5)
	st := s.srv.ConnStats()
	want := server.AutoMaxConnections()
	if st.MaxTotal != want || st.MaxPerIP != want/8 || want < 64 {
		t.Errorf("automatic caps %d/%d, want %d/%d", st.MaxTotal, st.MaxPerIP, want, want/8)
	}
}

// TestWebSocketOutlivesHTTPTimeouts: read, write and idle timeouts of 150
// ms do not cut a WebSocket that lives ten times as long.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	s := startFzServerWith(t, func(c *server.Config) {
		c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = 150*time.Millisecond, 150*time.Millisecond, 150*time.Millisecond, 150*time.Millisecond
	})
	alice := keep(t, s.loginRaw(t, "alice"))
	for i := range 3 {
		time.Sleep(500 * time.Millisecond)
		pingPong(t, alice, uint64(10+i))
	}
	// And the server's answers are written after the write timeout too:
	// a request that needs the store.
	alice.request(t, 20, `{"type":"queryRecentCalls","id":20,"data":{}}`)
}

// TestBinaryFrame: a binary frame gets error 1008 (with the frame's id when
// it has one) and the connection stays up.
func TestBinaryFrame(t *testing.T) {
	s := startFzServer(t)
	alice := keep(t, s.loginRaw(t, "alice"))
	ctx, cancel := context.WithTimeout(context.Background(), fzWait)
	defer cancel()
	if err := alice.ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping","id":7}`)); err != nil {
		t.Fatal(err)
	}
	m := alice.await(t, protocol.TypeReply, 7)
	if m.Error == nil || m.Error.Code != protocol.CodeBinaryFrame {
		t.Fatalf("binary frame: got %+v, want error %d", m.Error, protocol.CodeBinaryFrame)
	}
	if err := alice.ws.Write(ctx, websocket.MessageBinary, []byte{0xff, 0, 1}); err != nil {
		t.Fatal(err)
	}
	m = alice.await(t, protocol.TypeReply, 0)
	if m.Error == nil || m.Error.Code != protocol.CodeBinaryFrame {
		t.Fatalf("binary garbage: got %+v, want error %d", m.Error, protocol.CodeBinaryFrame)
	}
	pingPong(t, alice, 8)
}

// TestWebSocketOrigins: browsers' origins are checked; clients without an
// Origin header are allowed.
func TestWebSocketOrigins(t *testing.T) {
	s := startFzServerWith(t, func(c *server.Config) {
		c.PublicURL = "https://call.example.com"
		c.AllowedOrigins = []string{"https://app.example.org:8443"}
	})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + s.addr, true},         // the page of this server
		{"https://call.example.com", true}, // the public URL
		{"https://CALL.example.com", true}, // hosts are case-insensitive
		{"https://app.example.org:8443", true},
		{"https://app.example.org", false}, // another port is another origin
		{"https://evil.example", false},
		{"http://call.example.com", false}, // the public URL is https
		{"null", false},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), fzWait)
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ws, resp, err := websocket.Dial(ctx, "ws://"+s.addr+"/v1/ws", &websocket.DialOptions{HTTPClient: s.http, HTTPHeader: h})
		cancel()
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q: %v, want the upgrade", tc.origin, err)
				continue
			}
			ws.CloseNow()
			continue
		}
		if err == nil {
			ws.CloseNow()
			t.Errorf("origin %q: upgraded, want 403", tc.origin)
			continue
		}
		if resp == nil {
			t.Errorf("origin %q: %v, no HTTP answer", tc.origin, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e httpError
		_ = json.Unmarshal(body, &e)
		got := []any{resp.StatusCode, e.Error.Code, resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options")}
		want := []any{http.StatusForbidden, protocol.CodeOriginNotAllowed, "application/json", "nosniff"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("origin %q refused (-want +got):\n%s\nbody %s", tc.origin, diff, body)
		}
	}
}

// TestNosniffAndJSONErrors: admin answers (good and bad) carry nosniff;
// unknown endpoints and methods under /v1/ answer JSON with a code.
func TestNosniffAndJSONErrors(t *testing.T) {
	s := startFzServer(t)
	for _, tc := range []struct {
		method, path, auth string
		status             int
		code               protocol.Code
	}{
		{"GET", "/v1/calls", fzSig(t, "administrator"), 200, 0},
		{"GET", "/v1/calls", "", 401, protocol.CodeInvalidUserSig},
		{"GET", "/v1/calls", fzSig(t, "mallory"), 403, protocol.CodeNotAdministrator},
		{"GET", "/v1/no-such-thing", "", 404, protocol.CodeInvalidArgument},
		{"PUT", "/v1/calls", "", 405, protocol.CodeInvalidArgument},
		{"GET", "/healthz", "", 200, 0},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+s.addr+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", "Bearer "+tc.auth)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", tc.method, tc.path, got)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q, want JSON", tc.method, tc.path, ct)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
		if tc.code != 0 {
			var e httpError
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tc.code {
				t.Errorf("%s %s: body %s, want code %d", tc.method, tc.path, body, tc.code)
			}
		}
	}
}

// BenchmarkRefusedConnection: the cost of one connection refused over the
// cap (dial, the 503 answer, close), seen from a loopback client.
func BenchmarkRefusedConnection(b *testing.B) {
	s := startFzServerWith(b, func(c *server.Config) { c.MaxConnections, c.MaxConnectionsPerIP = 1, -1 })
	hold, err := net.Dial("tcp", s.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer hold.Close()
	for s.srv.ConnStats().Open != 1 {
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, 512)
	b.ResetTimer()
	for range b.N {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.ReadFull(c, buf[:12])
		if n != 12 || string(buf[:12]) != "HTTP/1.1 503" {
			b.Fatalf("got %q", buf[:n])
		}
		c.Close()
	}
	b.StopTimer()
	if got := s.srv.ConnStats().RefusedGlobal; got < uint64(b.N) {
		b.Errorf("refused %d, want %d", got, b.N)
	}
}
