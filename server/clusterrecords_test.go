package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/store"
)

// dbRecord is a record row as the database holds it.
type dbRecord struct {
	Node      string
	Live      bool
	EndReason protocol.EndReason
}

// dbRecords reads every record row ("callId/userId" → row).
func dbRecords(t *testing.T, pool *pgxpool.Pool) map[string]dbRecord {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT call_id, user_id, node_id, live, end_reason FROM records`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]dbRecord{}
	for rows.Next() {
		var c, u, n string
		var live, reason int64
		if err := rows.Scan(&c, &u, &n, &live, &reason); err != nil {
			t.Fatal(err)
		}
		m[c+"/"+u] = dbRecord{Node: n, Live: live != 0, EndReason: protocol.EndReason(reason)}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitRecords polls the database until want(records) holds.
func waitRecords(t *testing.T, pool *pgxpool.Pool, what string, want func(map[string]dbRecord) bool) map[string]dbRecord {
	t.Helper()
	var got map[string]dbRecord
	testutil.WithTimeout(t, func() string {
		if got = dbRecords(t, pool); want(got) {
			return ""
		}
		return fmt.Sprintf("records: %v; want %s", got, what)
	}, fzWait)
	return got
}

// leaveGhostAndFreshNodes creates the schema and leaves what two earlier
// nodes wrote: "ghost" (last beat a minute ago) and "fresh" (beats now),
// each with a live record.
func leaveGhostAndFreshNodes(ctx context.Context, t *testing.T, dsn string, pool *pgxpool.Pool) {
	t.Helper()
	st, err := store.OpenPostgres(ctx, dsn, store.Options{NodeID: "setup"}) // creates the schema
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO heartbeats(node_id, last_alive, started) VALUES('ghost', %d, %d), ('fresh', %d, %d)`,
			now-60, (now-120)*1000, now+5, (now-120)*1000),
		fmt.Sprintf(`INSERT INTO records(call_id, user_id, node_id, live, begin_time, connected_at) VALUES
			('ghost-call', 'x', 'ghost', 1, %d, %d), ('fresh-call', 'y', 'fresh', 1, %d, %d)`, now-100, now-90, now-10, now-9),
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// recordKeys is the dbRecords keys of the call's users.
func recordKeys(call string, users ...string) []string {
	var k []string
	for _, u := range users {
		k = append(k, call+"/"+u)
	}
	return k
}

// liveOn reports whether every one of keys has a live record of node.
func liveOn(m map[string]dbRecord, keys []string, node string) bool {
	for _, k := range keys {
		if r, ok := m[k]; !ok || !r.Live || r.Node != node {
			return false
		}
	}
	return true
}

// TestClusterRecordsOfDeadNode: two nodes on one NATS and one PostgreSQL
// database. Each writes its calls' records with its node ID. When node-a
// dies (stops heartbeating), node-b reaps it and closes node-a's live
// records (a call in progress and a ringing one) with endByServer; node-b's
// own call's records stay live. A node's start also closes the records of
// a dead node no reaper closed (a stale heartbeat, not registered), and
// not those of a node whose heartbeat is fresh.
func TestClusterRecordsOfDeadNode(t *testing.T) {
	ns := natstest.Start(t)
	dsn := pgtest.NewDB(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// Left by nodes before this test: "ghost" died long ago and its
	// reaper died with it; "fresh" beat a moment ago (it may be starting
	// or being reaped now): its record is not the starting node's to close.
	leaveGhostAndFreshNodes(ctx, t, dsn, pool)

	var logB syncBuffer
	db := func(c *server.Config) { c.Database = dsn }
	a := startFzServerWith(t, clusterOpts(ns.URL, "node-a", nil), db)
	b := startFzServerWith(t, clusterOpts(ns.URL, "node-b", &logB), db)
	got := dbRecords(t, pool)
	if r := got["ghost-call/x"]; r.Live || r.EndReason != protocol.ReasonEndByServer {
		t.Errorf("a dead node's record after a node's start: %+v; want closed with endByServer", r)
	}
	if r := got["fresh-call/y"]; !r.Live {
		t.Errorf("the record of a node with a fresh heartbeat after a node's start: %+v; want live", r)
	}
	waitMetric(t, a, "termcall_cluster_nodes", 2)
	waitMetric(t, b, "termcall_cluster_nodes", 2)

	alice, bob := keep(t, a.loginRaw(t, "alice")), keep(t, a.loginRaw(t, "bob"))
	erin, frank := keep(t, a.loginRaw(t, "erin")), keep(t, a.loginRaw(t, "frank"))
	carol, dave := keep(t, b.loginRaw(t, "carol")), keep(t, b.loginRaw(t, "dave"))
	onA := placeCall(t, alice, bob, "bob", "")
	onB := placeCall(t, carol, dave, "dave", "")
	ring := erin.request(t, 2, callFrame(2, "frank", "", ""))
	frank.awaitEvent(t, protocol.EventCallReceived)
	var ringing protocol.CallReply
	if err := json.Unmarshal(ring.Data, &ringing); err != nil {
		t.Fatal(err)
	}
	aKeys := append(recordKeys(onA.CallID, "alice", "bob"), recordKeys(ringing.Call.CallID, "erin", "frank")...)
	bKeys := recordKeys(onB.CallID, "carol", "dave")
	waitRecords(t, pool, "every call's records live, with its node", func(m map[string]dbRecord) bool {
		return liveOn(m, aKeys, "node-a") && liveOn(m, bKeys, "node-b")
	})

	a.srv.CrashCluster()
	line := waitLine(t, &logB, "cluster: reaped a dead node")
	if line["node"] != "node-a" || line["records"] != float64(len(aKeys)) {
		t.Errorf("reap log line %v; want node-a with %d records", line, len(aKeys))
	}
	got = dbRecords(t, pool)
	checkRecordsAre(t, got, aKeys, dbRecord{Node: "node-a", EndReason: protocol.ReasonEndByServer}, "dead node's record")
	checkRecordsAre(t, got, bKeys, dbRecord{Node: "node-b", Live: true}, "live node's record")
}

// checkRecordsAre checks that each of keys' records in got is want.
func checkRecordsAre(t *testing.T, got map[string]dbRecord, keys []string, want dbRecord, what string) {
	t.Helper()
	for _, k := range keys {
		if diff := cmp.Diff(got[k], want); diff != "" {
			t.Errorf("%s %s (-got +want):\n%s", what, k, diff)
		}
	}
}
