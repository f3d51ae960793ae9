package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/usersig"
)

// Measurement tools against a running `termcall serve` (not run by default).
// Both need
//
//	TERMCALL_MEASURE_URL=http://127.0.0.1:7480  TERMCALL_MEASURE_PID=<server pid>
//	TERMCALL_SECRET=<its secret>  [TERMCALL_SDKAPPID=1400000001]
//
// and run from a shell whose fd limit is high enough for the clients
// (ulimit -n 70000): each client connection is an fd on both sides.

type measure struct {
	url    string
	pid    int
	appID  uint64
	secret string
}

func measureEnv(t *testing.T) measure {
	t.Helper()
	m := measure{url: os.Getenv("TERMCALL_MEASURE_URL"), secret: os.Getenv("TERMCALL_SECRET"), appID: 1400000001}
	if m.url == "" || m.secret == "" {
		t.Skip("set TERMCALL_MEASURE_URL, TERMCALL_MEASURE_PID and TERMCALL_SECRET to measure a running server")
	}
	m.pid, _ = strconv.Atoi(os.Getenv("TERMCALL_MEASURE_PID"))
	if v := os.Getenv("TERMCALL_SDKAPPID"); v != "" {
		m.appID, _ = strconv.ParseUint(v, 10, 64)
	}
	return m
}

// procStat returns the server's RSS (bytes) and CPU time (utime+stime).
func (m measure) procStat() (rss uint64, cpu time.Duration) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.Fields(v)[0], 10, 64)
				rss = kb << 10
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.pid)); err == nil {
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
	}
	return
}

// mconn is a logged-in WebSocket whose reader answers pings and hands
// over replies.
type mconn struct {
	ws      *websocket.Conn
	replies chan *protocol.Message
	events  atomic.Int64
}

func (m measure) login(ctx context.Context, hc *http.Client, user string) (*mconn, error) {
	ws, _, err := websocket.Dial(ctx, strings.Replace(m.url, "http", "ws", 1)+"/v1/ws", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	sig, err := usersig.Gen(m.appID, m.secret, user, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	c := &mconn{ws: ws, replies: make(chan *protocol.Message, 256)}
	go func() {
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				close(c.replies)
				return
			}
			msg, err := protocol.Decode(b)
			if err != nil {
				continue
			}
			if msg.Type == protocol.TypeEvent {
				c.events.Add(1)
				continue
			}
			select {
			case c.replies <- msg:
			default:
			}
		}
	}()
	if err := ws.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"login","id":1,"data":{"version":1,"sdkAppId":%d,"userId":%q,"userSig":%q}}`, m.appID, user, sig)); err != nil {
		ws.CloseNow()
		return nil, err
	}
	select {
	case r, ok := <-c.replies:
		if !ok {
			return nil, fmt.Errorf("closed before the login reply")
		}
		if r.Error != nil {
			ws.CloseNow()
			return nil, r.Error
		}
	case <-ctx.Done():
		ws.CloseNow()
		return nil, ctx.Err()
	}
	return c, nil
}

// TestMeasureLogins logs in TERMCALL_MEASURE_N users (default 30000), 64 at
// a time, until the first failure, then checks /healthz, holds the logins
// for 20 s (keepalives keep running) and reports how many stayed, with the
// server's RSS.
func TestMeasureLogins(t *testing.T) {
	m := measureEnv(t)
	n := 30000
	if v := os.Getenv("TERMCALL_MEASURE_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
	rss0, _ := m.procStat()
	var (
		mu    sync.Mutex
		conns []*mconn
		first error
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if i > int64(n) || stop {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				c, err := m.login(ctx, hc, fmt.Sprintf("cap%06d", i))
				cancel()
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("login %d: %w", i, err)
					}
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("logged in %d of %d in %v; first failure: %v", len(conns), n, time.Since(start).Round(time.Millisecond), first)
	resp, err := hc.Get(m.url + "/healthz")
	if err == nil {
		resp.Body.Close()
		t.Logf("/healthz while holding them: %s", resp.Status)
	} else {
		t.Logf("/healthz while holding them: %v", err)
	}
	time.Sleep(20 * time.Second)
	var alive atomic.Int64
	_ = parallelDo(64, len(conns), func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if conns[i].ws.Ping(ctx) == nil {
			alive.Add(1)
		}
	})
	rss, _ := m.procStat()
	t.Logf("after 20 s: %d connections alive; server RSS %.1f MiB (%.1f MiB before, %.1f KiB per login)",
		alive.Load(), float64(rss)/(1<<20), float64(rss0)/(1<<20), float64(rss-rss0)/1024/float64(max(1, len(conns))))
	for _, c := range conns {
		c.ws.CloseNow()
	}
}

// TestMeasureInviteFlood has one user flood call requests at a victim for
// 10 s over one connection, hanging up each call that gets through, with
// up to 32 requests in flight, and reports refusals per second by code and
// the server's CPU.
func TestMeasureInviteFlood(t *testing.T) {
	m := measureEnv(t)
	hc := &http.Client{Transport: &http.Transport{}}
	ctx := context.Background()
	victim, err := m.login(ctx, hc, "flood-victim")
	if err != nil {
		t.Fatal(err)
	}
	defer victim.ws.CloseNow()
	att, err := m.login(ctx, hc, "flood-attacker")
	if err != nil {
		t.Fatal(err)
	}
	defer att.ws.CloseNow()
	const window = 32
	codes := map[protocol.Code]int{}
	var placed, sent int
	inflight := 0
	_, cpu0 := m.procStat()
	start := time.Now()
	id := uint64(100)
	for time.Since(start) < 10*time.Second || inflight > 0 {
		for inflight < window && time.Since(start) < 10*time.Second {
			id++
			if err := att.ws.Write(ctx, websocket.MessageText, fmt.Appendf(nil,
				`{"type":"call","id":%d,"data":{"userIds":["flood-victim"],"mediaType":1,"params":{"userData":%q}}}`, id, strings.Repeat("x", 4000))); err != nil {
				t.Fatal(err)
			}
			inflight++
			sent++
		}
		r, ok := <-att.replies
		if !ok {
			t.Fatal("attacker's connection closed")
		}
		if r.Type != protocol.TypeReply {
			continue
		}
		inflight--
		if r.Error != nil {
			codes[r.Error.Code]++
			continue
		}
		var rep protocol.CallReply
		if json.Unmarshal(r.Data, &rep) == nil && rep.Call.CallID != "" {
			placed++
			id++
			_ = att.ws.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"hangup","id":%d,"data":{"callId":%q}}`, id, rep.Call.CallID))
			inflight++
		}
	}
	el := time.Since(start)
	_, cpu1 := m.procStat()
	refused := 0
	for _, n := range codes {
		refused += n
	}
	t.Logf("flood of %d call requests in %v: %d placed (%.1f/s), %d refused (%.0f/s) by code %v; victim got %d events; server CPU %.0f%% of one core",
		sent, el.Round(time.Millisecond), placed, float64(placed)/el.Seconds(), refused, float64(refused)/el.Seconds(), codes,
		victim.events.Load(), 100*float64(cpu1-cpu0)/float64(el))
}

// parallelDo runs f(0..n-1) on workers goroutines.
func parallelDo(workers, n int, f func(i int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
	return nil
}
