package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/internal/tmpfs"
	"github.com/termcall/termcall/protocol"
)

// readyz returns GET /readyz's status and body.
func (e *env) readyz() (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.url + "/readyz")
	if err != nil {
		e.t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// records lists every record through the admin API; code is its HTTP status.
func (e *env) records() (int, []protocol.CallRecord) {
	e.t.Helper()
	var out struct {
		Records []protocol.CallRecord `json:"records"`
	}
	code, err := e.admin("GET", "/v1/calls", nil, &out)
	if err != nil && code == 200 {
		e.t.Fatalf("GET /v1/calls: %v", err)
	}
	return code, out.Records
}

// TestDiskFullLosesNoRecord runs a server whose data directory is a small
// tmpfs, fills it during two calls, and checks that new calls and new
// users are refused with 6005 while the calls in progress go on, that
// /readyz fails, and that every record appears once space returns.
func TestDiskFullLosesNoRecord(t *testing.T) {
	dir := tmpfs.Mount(t, "4m")
	e := &env{t: t, dir: dir}
	e.start()
	t.Cleanup(e.stop)
	if code, body := e.readyz(); code != 200 || body != "{\"status\":\"ready\"}\n" {
		t.Fatalf("/readyz = %d %q; want 200 ready", code, body)
	}
	alice, bob, carol, dave := e.login("alice"), e.login("bob"), e.login("carol"), e.login("dave")
	e.users("frank") // known, never logged in
	call1 := connect1v1(t, alice, bob)
	call2 := connect1v1(t, carol, dave)
	testutil.Until(t, "the 4 live records on disk", 20*time.Second, func() bool {
		code, recs := e.records()
		return code == 200 && len(recs) == 4
	})

	// The database is new and small: SQLite has not checkpointed its WAL
	// yet (that happens at 1,000 pages), so every commit appends frames to
	// the WAL and needs new blocks, which the filler has taken. Commits fail
	// from now on, deterministically.
	filler := tmpfs.Fill(t, dir)
	removed := false
	t.Cleanup(func() {
		if !removed {
			os.Remove(filler)
		}
	})
	// A call in progress ends normally; its records wait in memory.
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(call1, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: call1.CallID, UserID: "alice"}, end(call1, engine.RoleCalled, "alice", engine.ReasonHangup))
	testutil.Until(t, "/readyz to fail", 20*time.Second, func() bool { code, _ := e.readyz(); return code == 503 })
	checkNotReadyStore(t, e)

	// New calls and first logins are refused; the other call goes on.
	_, err := alice.Call(ctx(t), "bob", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "a new call on a full disk", err, protocol.CodeStoreUnavailable)
	erin := e.newClient("erin")
	err = erin.Init(ctx(t), appID, "erin", e.sig("erin", time.Hour))
	wantCode(t, "first login of a new user on a full disk", err, protocol.CodeStoreUnavailable)
	e.login("frank") // a known user needs no write: logs in
	if code, _ := e.records(); code != http.StatusServiceUnavailable {
		t.Errorf("GET /v1/calls with records waiting = %d, want 503", code)
	}
	// The admin API's writes answer the same code.
	checkAdminWritesRefused(t, e)
	carol.must("Hangup", carol.Hangup(ctx(t)))
	carol.expect(end(call2, engine.RoleCaller, "carol", engine.ReasonHangup))
	dave.expect(engine.UserLeave{CallID: call2.CallID, UserID: "carol"}, end(call2, engine.RoleCalled, "carol", engine.ReasonHangup))

	// Space returns: every record is written and the server takes calls again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	removed = true
	var recs []protocol.CallRecord
	testutil.Until(t, "the records to be written", 30*time.Second, func() bool {
		var code int
		code, recs = e.records()
		return code == 200
	})
	checkHungUpRecords(t, recs, call1, call2)
	testutil.Until(t, "/readyz to pass", 20*time.Second, func() bool { code, _ := e.readyz(); return code == 200 })
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	erin.must("Init after space returned", erin.Init(ctx(t), appID, "erin", e.sig("erin", time.Hour)))
}

// checkNotReadyStore checks /readyz on a full disk: 503, not ready, the
// store check failing with 6005.
func checkNotReadyStore(t *testing.T, e *env) {
	t.Helper()
	code, body := e.readyz()
	var ready struct {
		Status  string `json:"status"`
		Failing []struct {
			Check, Error string
		} `json:"failing"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 503 || ready.Status != "not ready" ||
		len(ready.Failing) != 1 || ready.Failing[0].Check != "store" || !strings.Contains(ready.Failing[0].Error, "6005") {
		t.Errorf("/readyz on a full disk = %d %s; want 503 with the store check failing (6005)", code, body)
	}
}

// checkAdminWritesRefused checks that the admin API's writes answer 503
// with CodeStoreUnavailable on a full disk.
func checkAdminWritesRefused(t *testing.T, e *env) {
	t.Helper()
	for _, w := range []struct {
		path string
		body any
	}{
		{"/v1/users", map[string]any{"userIds": []string{"gina"}}},
		{"/v1/groups", map[string]any{"groupId": "g-full", "members": []string{"alice"}}},
	} {
		var out struct {
			Error protocol.Error `json:"error"`
		}
		code, err := e.admin("POST", w.path, w.body, &out)
		if err != nil || code != http.StatusServiceUnavailable || out.Error.Code != protocol.CodeStoreUnavailable {
			t.Errorf("POST %s on a full disk = %d, code %d (%v); want 503 with 6005", w.path, code, out.Error.Code, err)
		}
	}
}

// checkHungUpRecords checks that recs are the four records of the two
// calls, each ended by a hangup.
func checkHungUpRecords(t *testing.T, recs []protocol.CallRecord, call1, call2 engine.CallInfo) {
	t.Helper()
	type key struct {
		call, user string
		live       bool
		reason     protocol.EndReason
	}
	var got []key
	for _, r := range recs {
		got = append(got, key{r.CallID, r.UserID, r.Live, r.EndReason})
	}
	want := []key{
		{call1.CallID, "alice", false, protocol.ReasonHangup}, {call1.CallID, "bob", false, protocol.ReasonHangup},
		{call2.CallID, "carol", false, protocol.ReasonHangup}, {call2.CallID, "dave", false, protocol.ReasonHangup},
	}
	less := func(a, b key) int { return strings.Compare(a.call+a.user, b.call+b.user) }
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	if !slices.Equal(got, want) {
		t.Errorf("records after space returned:\n got %+v\nwant %+v", got, want)
	}
}

// TestCrashRecordCountsConnectedTime: after kill -9 of the server, the
// record of a connected call carries the seconds it was connected, not the
// downtime until the restart.
func TestCrashRecordCountsConnectedTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	child := startChild(t, dir, addr)
	e := &env{t: t, dir: dir, url: "http://" + addr}
	alice := waitChildLogin(t, e, "alice")
	bob := e.login("bob")
	info := connect1v1(t, alice, bob)
	connected := time.Now()
	time.Sleep(3 * time.Second)
	child.Process.Kill() //nolint:errcheck
	child.Wait()         //nolint:errcheck
	upFor := time.Since(connected)
	const downtime = 6 * time.Second
	time.Sleep(downtime)
	startChild(t, dir, addr)
	alice.expect(end(info, engine.RoleCaller, "", engine.ReasonEndByServer))
	bob.expect(end(info, engine.RoleCalled, "", engine.ReasonEndByServer))
	code, recs := e.records()
	if code != 200 || len(recs) != 2 {
		t.Fatalf("records after the crash: %d %+v", code, recs)
	}
	for _, r := range recs {
		// The heartbeat is written every second: the end is at most that early.
		lo, hi := int64(upFor/time.Second)-2, int64(upFor/time.Second)+1
		if r.Live || r.EndReason != protocol.ReasonEndByServer || r.TotalTime < lo || r.TotalTime > hi {
			t.Errorf("%s's record: live %v, reason %v, totalTime %d s; want ended by the server with %d..%d s (connected %v, then %v down)",
				r.UserID, r.Live, r.EndReason, r.TotalTime, lo, hi, upFor.Round(time.Millisecond), downtime)
		}
	}
}

// freeAddr is a free TCP address on 127.0.0.1.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitChildLogin logs id in once the child server is up.
func waitChildLogin(t *testing.T, e *env, id string) *client {
	t.Helper()
	c := waitChildInit(t, e, id)
	c.rec.skipConn()
	return c
}

// waitChildInit tries, for up to 10 s, to log a new client of id in to the
// child server, and returns the first that did.
func waitChildInit(t *testing.T, e *env, id string) *client {
	t.Helper()
	var c *client
	testutil.Until(t, "the child server to come up", 10*time.Second, func() bool {
		c = e.newClient(id)
		return c.Init(ctx(t), appID, id, e.sig(id, time.Hour)) == nil
	})
	return c
}
