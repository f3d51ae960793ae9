package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/termcall/termcall/protocol"
)

// Records per node: every record a store writes carries its NodeID, the
// heartbeat is one row per node, CloseLive ends only the own node's live
// records and CloseLiveOf another node's.

// recordNodes maps "callID/userID" to node_id, read from the database.
func recordNodes(t *testing.T, s *Store) map[string]string {
	t.Helper()
	rows, err := s.db.reader().query(context.Background(), `SELECT call_id, user_id, node_id FROM records`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var c, u, n string
		if err := rows.Scan(&c, &u, &n); err != nil {
			t.Fatal(err)
		}
		m[c+"/"+u] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func openNode(t *testing.T, target, node string) *Store {
	t.Helper()
	s, err := OpenDatabase(context.Background(), target, Options{NodeID: node, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenDatabase(%q, node %q) = %v", target, node, err)
	}
	return s
}

func liveRecord(callID, userID string, connectedAgo int64) Record {
	now := time.Now().Unix()
	r := fullRecord(callID, userID)
	r.BeginTime, r.ConnectedAt = now-connectedAgo-2, now-connectedAgo
	return r
}

// flushAll flushes each of stores.
func flushAll(ctx context.Context, t *testing.T, stores ...*Store) {
	t.Helper()
	for _, s := range stores {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// callRecords returns the admin records of one call.
func callRecords(ctx context.Context, t *testing.T, s *Store, callID string) []Record {
	t.Helper()
	got, err := s.AdminRecords(ctx, AdminFilter{CallID: callID})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkStillLive checks that callID has one record, live, naming what it
// is in the failure.
func checkStillLive(ctx context.Context, t *testing.T, s *Store, callID, what string) {
	t.Helper()
	if got := callRecords(ctx, t, s, callID); len(got) != 1 || !got[0].Live {
		t.Errorf("%s: %+v; want it still live", what, got)
	}
}

// liveNodesOfTwo returns the runs of node-a and node-b, each with one live
// record and a heartbeat.
func liveNodesOfTwo(ctx context.Context, t *testing.T, s *Store) []NodeRun {
	t.Helper()
	ns, err := s.LiveNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Node != "node-a" || ns[0].Live != 1 || ns[1].Node != "node-b" || ns[1].Live != 1 ||
		ns[0].Started == 0 || ns[1].Started == 0 || ns[0].LastAlive == 0 || ns[1].LastAlive == 0 {
		t.Fatalf("LiveNodes() = %+v; want node-a and node-b with 1 live record each and their heartbeats", ns)
	}
	return ns
}

// runOf returns node's run among s's live nodes.
func runOf(ctx context.Context, t *testing.T, s *Store, node string) NodeRun {
	t.Helper()
	ns, err := s.LiveNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var run NodeRun
	for _, n := range ns {
		if n.Node == node {
			run = n
		}
	}
	return run
}

func TestRecordsPerNode(t *testing.T) { forEachDB(t, testRecordsPerNode) }

func testRecordsPerNode(t *testing.T, d testDB) {
	ctx := context.Background()
	target := d.target(t)
	a, b := openNode(t, target, "node-a"), openNode(t, target, "node-b")
	defer a.Close()
	aLive, aDone := liveRecord("call-a1", "alice", 10), liveRecord("call-a2", "carol", 5)
	aDone.Live, aDone.EndReason, aDone.TotalTime = false, protocol.ReasonHangup, 5
	bLive := liveRecord("call-b1", "bob", 20)
	a.StartRecords([]Record{aLive, aDone})
	a.FinishRecords([]Record{aDone})
	b.StartRecords([]Record{bLive})
	flushAll(ctx, t, a, b)
	if diff := cmp.Diff(recordNodes(t, a), map[string]string{
		"call-a1/alice": "node-a", "call-a2/carol": "node-a", "call-b1/bob": "node-b"}); diff != "" {
		t.Errorf("node_id of the records (-got +want):\n%s", diff)
	}
	bRun := liveNodesOfTwo(ctx, t, a)[1]
	// node-b stops without finishing its call (a crash), then restarts:
	// its start closes its own live record, never node-a's.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openNode(t, target, "node-b")
	defer b.Close()
	checkRestartClosesOwn(ctx, t, a, b)
	// A reaper that saw node-b's previous run closes nothing more: node-b
	// is back (a newer run) and its new calls stay live.
	b.StartRecords([]Record{liveRecord("call-b2", "dave", 1)})
	flushAll(ctx, t, b)
	if n, err := a.CloseLiveOf(ctx, "node-b", bRun.Started); err != nil || n != 0 {
		t.Errorf("CloseLiveOf(node-b, its previous run) after it restarted = %d, %v; want 0, nil", n, err)
	}
	checkStillLive(ctx, t, a, "call-b2", "node-b's new call after a stale CloseLiveOf")

	// node-a dies: another node closes its live records at its last
	// heartbeat; its finished record is untouched.
	aRun := runOf(ctx, t, b, "node-a")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the heartbeat is in seconds: make "now" later than it
	if n, err := b.CloseLiveOf(ctx, "node-a", aRun.Started); err != nil || n != 1 {
		t.Fatalf("CloseLiveOf(node-a) = %d, %v; want 1", n, err)
	}
	checkReaped(ctx, t, b, aRun, aLive, aDone)
	if n, err := b.CloseLiveOf(ctx, "node-a", aRun.Started); err != nil || n != 0 {
		t.Errorf("second CloseLiveOf(node-a) = %d, %v; want 0", n, err)
	}
}

// checkRestartClosesOwn checks that restarted node-b's CloseLive ends its
// own live record (call-b1, at its last heartbeat about 20 s after it
// connected), not node-a's (call-a1).
func checkRestartClosesOwn(ctx context.Context, t *testing.T, a, b *Store) {
	t.Helper()
	if n, err := b.CloseLive(ctx, time.Now().Unix()+3600); err != nil || n != 1 {
		t.Fatalf("node-b's CloseLive() = %d, %v; want 1 (its own record only)", n, err)
	}
	checkStillLive(ctx, t, a, "call-a1", "node-a's live record after node-b's start")
	got := callRecords(ctx, t, a, "call-b1")
	if len(got) != 1 || got[0].Live || got[0].EndReason != protocol.ReasonEndByServer || got[0].TotalTime < 20 || got[0].TotalTime > 25 {
		t.Errorf("node-b's record after its restart: %+v; want ended by the server after about 20 s (its last heartbeat), not the hour", got)
	}
}

// checkReaped checks the records after node-a's were closed by another
// node: its live one ended by the server at its last heartbeat, its
// finished one as it was, node-b's call-b2 still live.
func checkReaped(ctx context.Context, t *testing.T, b *Store, aRun NodeRun, aLive, aDone Record) {
	t.Helper()
	got, err := b.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byCall := map[string]Record{}
	for _, r := range got {
		byCall[r.CallID] = r
	}
	wantA1 := aLive
	wantA1.Live, wantA1.EndReason = false, protocol.ReasonEndByServer
	// Ended at node-a's last heartbeat (written at its Close, at or after
	// aRun.LastAlive), not now: at least a second later.
	if tt := byCall["call-a1"].TotalTime; tt < aRun.LastAlive-aLive.ConnectedAt || tt > time.Now().Unix()-1-aLive.ConnectedAt {
		t.Errorf("node-a's record ended after %d s; want its last heartbeat's %d s (or up to its Close)", tt, aRun.LastAlive-aLive.ConnectedAt)
	}
	wantA1.TotalTime = byCall["call-a1"].TotalTime
	if diff := cmp.Diff(byCall["call-a1"], wantA1); diff != "" {
		t.Errorf("node-a's live record after CloseLiveOf (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(byCall["call-a2"], aDone); diff != "" {
		t.Errorf("node-a's finished record after CloseLiveOf (-got +want):\n%s", diff)
	}
	if !byCall["call-b2"].Live {
		t.Errorf("node-b's live record after CloseLiveOf(node-a): %+v; want live", byCall["call-b2"])
	}
}

// TestCloseLiveOfRacesOwner: a close of a node's live records racing the
// owner's final record, at a barrier, 50 rounds: the owner's final record
// always stands (a close that lands first is overwritten by the finish; a
// finish that lands first is not touched by the close).
func TestCloseLiveOfRacesOwner(t *testing.T) { forEachDB(t, testCloseLiveOfRacesOwner) }

func testCloseLiveOfRacesOwner(t *testing.T, d testDB) {
	ctx := context.Background()
	target := d.target(t)
	owner, reaper := openNode(t, target, "owner"), openNode(t, target, "reaper")
	defer owner.Close()
	defer reaper.Close()
	ns, err := reaper.LiveNodes(context.Background())
	if err != nil || len(ns) != 0 {
		t.Fatalf("LiveNodes() = %v, %v; want none", ns, err)
	}
	var ownerRun int64
	if err := reaper.db.reader().queryRow(ctx, `SELECT started FROM heartbeats WHERE node_id = ?`, "owner").Scan(&ownerRun); err != nil {
		t.Fatal(err)
	}
	closedFirst := 0
	for n := range 50 {
		live := liveRecord(fmt.Sprintf("call-%02d", n), "alice", 3)
		owner.StartRecords([]Record{live})
		if err := owner.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		fin := live
		fin.Live, fin.EndReason, fin.TotalTime = false, protocol.ReasonHangup, 3
		var wg sync.WaitGroup
		start := make(chan struct{})
		var closed int
		var errs [2]error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			// Staggered so that both orders happen.
			time.Sleep(time.Duration(n%5) * 500 * time.Microsecond)
			owner.FinishRecords([]Record{fin})
			errs[0] = owner.Flush(ctx)
		}()
		go func() {
			defer wg.Done()
			<-start
			closed, errs[1] = reaper.CloseLiveOf(ctx, "owner", ownerRun)
		}()
		close(start)
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: Flush, CloseLiveOf = %v", n, errs)
		}
		closedFirst += closed
		got, err := reaper.AdminRecords(ctx, AdminFilter{CallID: live.CallID})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, []Record{fin}); diff != "" {
			t.Fatalf("round %d (close ended %d): the owner's final record racing a close (-got +want):\n%s", n, closed, diff)
		}
	}
	t.Logf("the close landed first in %d of 50 rounds", closedFirst)
}

// oldSchemaDB makes a database at target with the schema before records
// per node (closed when the test ends) and returns a function that runs a
// statement in it, failing the test on an error.
func oldSchemaDB(ctx context.Context, t *testing.T, d testDB, target string) func(q string, args ...any) {
	t.Helper()
	var exec func(q string, args ...any)
	switch d.name {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		exec = func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, q := range schema[:2] {
			exec(q)
		}
		exec("PRAGMA user_version = 2")
		exec(fmt.Sprintf("PRAGMA application_id = %d", applicationID))
	default:
		pool, err := pgxpool.New(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		exec = func(q string, args ...any) {
			t.Helper()
			if _, err := pool.Exec(ctx, rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL)`)
		exec(pgSchema[0])
		exec(`INSERT INTO meta(key, value) VALUES('schema_version', 1)`)
	}
	return exec
}

// TestMigrateNodeRecords: a database of the schema before records per node
// opens; its records belong to node "" (single-node mode) and its old
// heartbeat is that node's, so CloseLive still ends them at it.
func TestMigrateNodeRecords(t *testing.T) { forEachDB(t, testMigrateNodeRecords) }

func testMigrateNodeRecords(t *testing.T, d testDB) {
	ctx := context.Background()
	target := d.target(t)
	now := time.Now().Unix()
	exec := oldSchemaDB(ctx, t, d, target)
	exec(`INSERT INTO records(call_id, user_id, begin_time, connected_at, live, role, result) VALUES('old-call', 'alice', ?, ?, 1, 1, 3)`, now-32, now-30)
	exec(`INSERT INTO meta(key, value) VALUES('last_alive', ?)`, now-20)

	s := openNode(t, target, "")
	defer s.Close()
	if n, err := s.CloseLive(ctx, now+3600); err != nil || n != 1 {
		t.Fatalf("CloseLive() on a migrated database = %d, %v; want 1", n, err)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Live || got[0].EndReason != protocol.ReasonEndByServer || got[0].TotalTime != 10 {
		t.Errorf("migrated record after CloseLive: %+v; want ended by the server after 10 s (the old heartbeat)", got)
	}
	if diff := cmp.Diff(recordNodes(t, s), map[string]string{"old-call/alice": ""}); diff != "" {
		t.Errorf("node_id of a migrated record (-got +want):\n%s", diff)
	}
}
