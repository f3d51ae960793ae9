package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// startObsServer is startFzServer with a logger and a hook on the config.
func startObsServer(tb testing.TB, log *slog.Logger, mod func(*server.Config)) *fzServer {
	tb.Helper()
	return startFzServerWith(tb, func(c *server.Config) {
		c.Logger = log
		if mod != nil {
			mod(c)
		}
	})
}

// scrape fetches a /metrics page and returns its samples by series, as
// written: `name{label="v",...}` (labels in the exposition's order).
func scrape(tb testing.TB, c *http.Client, url string) map[string]float64 {
	tb.Helper()
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			tb.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetric polls /metrics until series has the value want.
func waitMetric(tb testing.TB, s *fzServer, series string, want float64) {
	tb.Helper()
	testutil.WithTimeout(tb, func() string {
		got, ok := scrape(tb, s.http, "http://"+s.addr+"/metrics")[series]
		if ok && got == want {
			return ""
		}
		return fmt.Sprintf("%s = %v (present %v), want %v", series, got, ok, want)
	}, fzWait)
}

// TestMetricsFollowUsersAndCalls: a login raises devices and users; a call
// raises active calls and setups, and its end the outcome by reason; a
// refused request counts under its code.
func TestMetricsFollowUsersAndCalls(t *testing.T) {
	s := startObsServer(t, slog.New(slog.DiscardHandler), nil)
	m := scrape(t, s.http, "http://"+s.addr+"/metrics")
	for series, want := range map[string]float64{
		`termcall_devices{state="connected"}`:                      0,
		`termcall_users_logged_in`:                                 0,
		`termcall_calls_active{media_type="audio",scene="single"}`: 0,
		`termcall_sfu_peers`:                                       0,
		`termcall_websocket_connections`:                           0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("before anything: %s = %v (present %v), want %v", series, got, ok, want)
		}
	}

	alice := keep(t, s.loginRaw(t, "alice"))
	bob := keep(t, s.loginRaw(t, "bob"))
	waitMetric(t, s, `termcall_devices{state="connected"}`, 2)
	waitMetric(t, s, `termcall_users_logged_in`, 2)
	waitMetric(t, s, `termcall_logins_total{resumed="false"}`, 2)
	waitMetric(t, s, `termcall_websocket_connections`, 2)

	call := placeCall(t, alice, bob, "bob", "")
	waitMetric(t, s, `termcall_calls_active{media_type="audio",scene="single"}`, 1)
	waitMetric(t, s, `termcall_call_setups_total{media_type="audio",scene="single"}`, 1)
	waitMetric(t, s, `termcall_invite_to_ring_seconds_count`, 1)
	waitMetric(t, s, `termcall_sfu_peers`, 2)

	alice.request(t, 4, fmt.Sprintf(`{"type":"hangup","id":4,"data":{"callId":%q}}`, call.CallID))
	waitMetric(t, s, `termcall_calls_active{media_type="audio",scene="single"}`, 0)
	waitMetric(t, s, `termcall_calls_ended_total{answered="true",media_type="audio",reason="hangup",scene="single"}`, 1)

	// Calling oneself is refused with 3011, three times.
	for i := range 3 {
		id := 10 + i
		if err := alice.send(fmt.Appendf(nil, `{"type":"call","id":%d,"data":{"userIds":["alice"],"mediaType":1,"params":{"roomId":{}}}}`, id)); err != nil {
			t.Fatal(err)
		}
		if r := alice.await(t, protocol.TypeReply, uint64(id)); r.Error == nil || r.Error.Code != protocol.CodeCannotCallSelf {
			t.Fatalf("call yourself: reply %+v, want code %d", r.Error, protocol.CodeCannotCallSelf)
		}
	}
	waitMetric(t, s, fmt.Sprintf(`termcall_refusals_total{code="%d",via="ws"}`, protocol.CodeCannotCallSelf), 3)

	// An HTTP-level refusal reported by the edge code counts under via="http".
	s.srv.RefusedHTTP(protocol.CodeTooManyConnections)
	waitMetric(t, s, fmt.Sprintf(`termcall_refusals_total{code="%d",via="http"}`, protocol.CodeTooManyConnections), 1)

	// Other parts of the server can add their own.
	if err := s.srv.RegisterMetrics(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "termcall_test_gauge", Help: "test"}, func() float64 { return 42 })); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, s, `termcall_test_gauge`, 42)

	bob.close()
	waitMetric(t, s, `termcall_devices{state="disconnected"}`, 1)
	waitMetric(t, s, `termcall_websocket_connections`, 1)
}

// TestMetricsListen: with MetricsListen, /metrics is served there and not
// on the main listener.
func TestMetricsListen(t *testing.T) {
	s := startObsServer(t, slog.New(slog.DiscardHandler), func(c *server.Config) { c.MetricsListen = "127.0.0.1:0" })
	a := s.srv.MetricsAddr()
	if a == nil {
		t.Fatal("MetricsAddr is nil with MetricsListen set")
	}
	m := scrape(t, s.http, "http://"+a.String()+"/metrics")
	if _, ok := m[`termcall_users_logged_in`]; !ok {
		t.Errorf("the metrics listener's page has no termcall_users_logged_in")
	}
	resp, err := s.http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("main listener GET /metrics: status %d, want 404", resp.StatusCode)
	}
	resp, err = s.http.Get("http://" + a.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("metrics listener GET /healthz: status %d, want 404 (it serves /metrics only)", resp.StatusCode)
	}

	// Without it, the main listener serves it and MetricsAddr is nil.
	s2 := startObsServer(t, slog.New(slog.DiscardHandler), nil)
	if s2.srv.MetricsAddr() != nil {
		t.Errorf("MetricsAddr = %v without MetricsListen", s2.srv.MetricsAddr())
	}
	scrape(t, s2.http, "http://"+s2.addr+"/metrics")
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// lines decodes the JSON log lines written so far.
func (b *syncBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	b.mu.Lock()
	data := append([]byte{}, b.b.Bytes()...)
	b.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			tb.Fatalf("log is not JSON lines: %v\n%s", err, data)
		}
		out = append(out, m)
	}
}

func findLine(lines []map[string]any, msg string) map[string]any {
	for _, l := range lines {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// waitLine polls the log for a line with msg.
func waitLine(tb testing.TB, buf *syncBuffer, msg string) map[string]any {
	tb.Helper()
	var l map[string]any
	testutil.WithTimeout(tb, func() string {
		lines := buf.lines(tb)
		if l = findLine(lines, msg); l != nil {
			return ""
		}
		return fmt.Sprintf("no %q line in the log; its last lines: %v", msg, lines[max(0, len(lines)-8):])
	}, fzWait)
	return l
}

// TestOperatorLogJSON: login, logout, call start and call end are JSON log
// lines with the fields an operator needs.
func TestOperatorLogJSON(t *testing.T) {
	buf := &syncBuffer{}
	s := startObsServer(t, slog.New(slog.NewJSONHandler(buf, nil)), nil)
	alice := keep(t, s.loginRaw(t, "alice"))
	bob := keep(t, s.loginRaw(t, "bob"))
	call := placeCall(t, alice, bob, "bob", "")
	alice.request(t, 4, fmt.Sprintf(`{"type":"hangup","id":4,"data":{"callId":%q}}`, call.CallID))
	bob.request(t, 5, `{"type":"logout","id":5}`)

	login := waitLine(t, buf, "login")
	if login["level"] != "INFO" || login["user"] != "alice" || login["device"] == "" || login["resumed"] != false ||
		!strings.HasPrefix(login["remote"].(string), "127.0.0.1:") {
		t.Errorf("login line %v", login)
	}
	start := waitLine(t, buf, "call start")
	if diff := cmp.Diff(map[string]any{"callId": call.CallID, "scene": "single", "mediaType": "audio", "caller": "alice", "invitees": []any{"bob"}},
		map[string]any{"callId": start["callId"], "scene": start["scene"], "mediaType": start["mediaType"], "caller": start["caller"], "invitees": start["invitees"]}); diff != "" {
		t.Errorf("call start line (-want +got):\n%s", diff)
	}
	end := waitLine(t, buf, "call end")
	if diff := cmp.Diff(map[string]any{"callId": call.CallID, "participants": []any{"alice", "bob"}, "reason": "hangup", "answered": true, "by": "alice", "connected": 2.0},
		map[string]any{"callId": end["callId"], "participants": end["participants"], "reason": end["reason"], "answered": end["answered"], "by": end["by"], "connected": end["connected"]}); diff != "" {
		t.Errorf("call end line (-want +got):\n%s", diff)
	}
	if d, ok := end["duration"].(float64); !ok || d < 0 {
		t.Errorf("call end duration %v", end["duration"])
	}
	logout := waitLine(t, buf, "logout")
	if logout["user"] != "bob" || logout["reason"] != "logout" {
		t.Errorf("logout line %v", logout)
	}
}

// countRefusalLines counts the "refused" lines, each of which must be
// alice's renewSig refused with CodeInvalidUserSig at INFO, and the
// refusals the "refusals suppressed" lines say they left out.
func countRefusalLines(t *testing.T, lines []map[string]any) (logged, suppressed int) {
	t.Helper()
	for _, l := range lines {
		switch l["msg"] {
		case "refused":
			logged++
			if l["code"] != float64(protocol.CodeInvalidUserSig) || l["level"] != "INFO" || l["user"] != "alice" || l["type"] != "renewSig" {
				t.Errorf("refused line %v", l)
			}
		case "refusals suppressed":
			suppressed += int(l["suppressed"].(float64))
		}
	}
	return logged, suppressed
}

// TestRefusalLogIsRateLimited: a client repeating a refused request makes a
// handful of log lines and one count of the rest; the metric counts all.
func TestRefusalLogIsRateLimited(t *testing.T) {
	buf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := server.New(ctx, server.Config{SDKAppID: fzAppID, Secret: fzSecret, DataDir: t.TempDir(), Logger: log, NoMedia: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	s := &fzServer{srv: srv, addr: ln.Addr().String(), http: &http.Client{Transport: &http.Transport{}}}
	defer s.http.CloseIdleConnections()

	c := s.loginRaw(t, "alice")
	const n = 200
	for i := range n {
		id := 100 + i
		if err := c.send(fmt.Appendf(nil, `{"type":"renewSig","id":%d,"data":{"userSig":"not-a-sig"}}`, id)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if r := c.await(t, protocol.TypeReply, uint64(100+i)); r.Error == nil || r.Error.Code != protocol.CodeInvalidUserSig {
			t.Fatalf("renewSig with a bad sig: %+v, want code %d", r.Error, protocol.CodeInvalidUserSig)
		}
	}
	waitMetric(t, s, fmt.Sprintf(`termcall_refusals_total{code="%d",via="ws"}`, protocol.CodeInvalidUserSig), n)
	c.close()
	if err := srv.Close(ctx); err != nil { // flushes the suppressed count
		t.Fatal(err)
	}
	<-served

	logged, suppressed := countRefusalLines(t, buf.lines(t))
	if logged > 20 || logged+suppressed != n {
		t.Errorf("%d refused lines and %d suppressed, want a handful and %d in all", logged, suppressed, n)
	}
}
