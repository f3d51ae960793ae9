package e2e

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

func withDatabase(dsn string) envOpt { return func(c *server.Config) { c.Database = dsn } }

// recKey is what the PostgreSQL tests compare of a record.
type recKey struct {
	call, user string
	live       bool
	reason     protocol.EndReason
	result     protocol.ResultType
}

func recKeys(recs []protocol.CallRecord) []recKey {
	out := []recKey{}
	for _, r := range recs {
		out = append(out, recKey{r.CallID, r.UserID, r.Live, r.EndReason, r.Result})
	}
	slices.SortFunc(out, func(a, b recKey) int { return strings.Compare(a.call+a.user, b.call+b.user) })
	return out
}

// TestPostgresServer: a server on PostgreSQL (no SQLite file) runs calls;
// their records are in the history and the admin API; a server restarted
// on the same database finds users, groups and records, and ends the
// records of a call it left live.
func TestPostgresServer(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDB(t)
	e := newEnv(t, withDatabase(dsn))
	e.group("team", "alice", "bob", "carol")
	alice, bob := e.login("alice"), e.login("bob")
	info := connect1v1(t, alice, bob)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))

	recs, err := bob.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	bob.must("QueryRecentCalls", err)
	if len(recs) != 1 || recs[0].CallID != info.CallID || recs[0].Result != engine.ResultIncoming ||
		recs[0].EndReason != engine.ReasonHangup || recs[0].Inviter != "alice" {
		t.Errorf("bob's history on PostgreSQL: %+v; want the one incoming call from alice, ended by hangup", recs)
	}
	code, all := e.records()
	want := []recKey{
		{info.CallID, "alice", false, protocol.ReasonHangup, protocol.ResultOutgoing},
		{info.CallID, "bob", false, protocol.ReasonHangup, protocol.ResultIncoming},
	}
	if got := recKeys(all); code != http.StatusOK || !slices.Equal(got, want) {
		t.Errorf("GET /v1/calls = %d\n got %+v\nwant %+v", code, got, want)
	}
	if code, body := e.readyz(); code != 200 {
		t.Errorf("/readyz = %d %s; want 200", code, body)
	}

	// Stopped with a call up, the server ends it (endByServer); the
	// server started again on the database lists every record.
	live := connect1v1(t, alice, bob)
	e.stop()
	e.start(withDatabase(dsn))
	code, all = e.records()
	want = append(want,
		recKey{live.CallID, "alice", false, protocol.ReasonEndByServer, protocol.ResultOutgoing},
		recKey{live.CallID, "bob", false, protocol.ReasonEndByServer, protocol.ResultIncoming})
	slices.SortFunc(want, func(a, b recKey) int { return strings.Compare(a.call+a.user, b.call+b.user) })
	if got := recKeys(all); code != http.StatusOK || !slices.Equal(got, want) {
		t.Errorf("GET /v1/calls after the restart = %d\n got %+v\nwant %+v", code, got, want)
	}
	var groups struct {
		Groups []struct {
			GroupID string   `json:"groupId"`
			Members []string `json:"members"`
		} `json:"groups"`
	}
	if code, err := e.admin("GET", "/v1/groups", nil, &groups); err != nil || code != 200 ||
		len(groups.Groups) != 1 || !slices.Equal(groups.Groups[0].Members, []string{"alice", "bob", "carol"}) {
		t.Errorf("GET /v1/groups after the restart = %d %v %+v; want team with alice, bob, carol", code, err, groups)
	}
}

// TestPostgresLostLosesNoRecord is the disk-full test with PostgreSQL
// stopped under a running server: calls in progress go on, new calls and
// new users are refused with 6005, /readyz fails; once PostgreSQL is back
// every record is written and calls are taken again.
func TestPostgresLostLosesNoRecord(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	dsn, err := pg.CreateDB(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withDatabase(dsn))
	alice, bob := e.login("alice"), e.login("bob")
	call1 := connect1v1(t, alice, bob)
	testutil.Until(t, "the 2 live records", 20*time.Second, func() bool { code, recs := e.records(); return code == 200 && len(recs) == 2 })

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			pg.Restart() //nolint:errcheck // for the server's Close to write
		}
	})
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(call1, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: call1.CallID, UserID: "alice"}, end(call1, engine.RoleCalled, "alice", engine.ReasonHangup))
	testutil.Until(t, "/readyz to fail", 20*time.Second, func() bool { code, _ := e.readyz(); return code == 503 })
	if code, body := e.readyz(); !strings.Contains(body, "6005") {
		t.Errorf("/readyz with PostgreSQL stopped = %d %s; want the store check failing with 6005", code, body)
	}
	_, err = alice.Call(ctx(t), "bob", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "a new call with PostgreSQL stopped", err, protocol.CodeStoreUnavailable)
	erin := e.newClient("erin")
	err = erin.Init(ctx(t), appID, "erin", e.sig("erin", time.Hour))
	wantCode(t, "first login of a new user with PostgreSQL stopped", err, protocol.CodeStoreUnavailable)

	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	var recs []protocol.CallRecord
	testutil.Until(t, "the records to be written", 30*time.Second, func() bool {
		var code int
		code, recs = e.records()
		return code == 200
	})
	want := []recKey{
		{call1.CallID, "alice", false, protocol.ReasonHangup, protocol.ResultOutgoing},
		{call1.CallID, "bob", false, protocol.ReasonHangup, protocol.ResultIncoming},
	}
	if got := recKeys(recs); !slices.Equal(got, want) {
		t.Errorf("records after PostgreSQL returned:\n got %+v\nwant %+v", got, want)
	}
	testutil.Until(t, "/readyz to pass", 20*time.Second, func() bool { code, _ := e.readyz(); return code == 200 })
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	erin.must("Init after PostgreSQL returned", erin.Init(ctx(t), appID, "erin", e.sig("erin", time.Hour)))
}

// countingProxy forwards TCP to target and counts the client's writes
// toward the server: with pgx, which writes a request (or a whole
// pipelined batch) and then waits for its answer, one write is one round
// trip.
type countingProxy struct {
	ln     net.Listener
	target string
	writes atomic.Int64
	wg     sync.WaitGroup
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(2)
			go func() { // client -> server, counted
				defer p.wg.Done()
				defer s.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						p.writes.Add(1)
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer p.wg.Done()
				defer c.Close()
				io.Copy(c, s) //nolint:errcheck
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// TestPostgresRoundTripsPerCall measures the PostgreSQL round trips of a
// 1v1 call (invite, ring, accept, hangup) between users already known: the
// records of the start, the connection and the end, one pipelined batch
// each when the server is idle (fewer under load, when batches merge), plus
// the heartbeat once a second.
func TestPostgresRoundTripsPerCall(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDB(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCountingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	e := newEnv(t, withDatabase(u.String()))
	alice, bob := e.login("rtalice"), e.login("rtbob")
	const calls = 20
	before, t0 := proxy.writes.Load(), time.Now()
	for range calls {
		info := connect1v1(t, alice, bob)
		alice.must("Hangup", alice.Hangup(ctx(t)))
		alice.expect(end(info, engine.RoleCaller, "rtalice", engine.ReasonHangup))
		bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "rtalice"}, end(info, engine.RoleCalled, "rtalice", engine.ReasonHangup))
	}
	took := time.Since(t0)
	rts := proxy.writes.Load() - before
	perCall := float64(rts) / calls
	t.Logf("PostgreSQL round trips: %d for %d sequential 1v1 calls in %v (%.2f per call, heartbeats included)", rts, calls, took.Round(time.Millisecond), perCall)
	// At most three commits per call (start, connect, end) plus the
	// heartbeat; fewer when the writer's group commit (10 ms) merges
	// records of calls that follow each other closely. None would mean the
	// records never reached PostgreSQL.
	if rts == 0 || perCall > 4+took.Seconds()/calls {
		t.Errorf("%.2f PostgreSQL round trips per call; want more than 0 and at most 3 (start, connect, end) plus the heartbeat", perCall)
	}
}
