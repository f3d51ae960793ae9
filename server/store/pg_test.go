package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
)

// TestPostgresStopped is the disk-full test's PostgreSQL twin, with a
// real fault: the server is stopped (pg_ctl stop -m fast) mid-run. Commits
// fail, Writable reports 6005, records are kept; once it is restarted every
// record is written, the late start ignored as always.
func TestPostgresStopped(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.StartPrivate(t)
	dsn, err := pg.CreateDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(ctx, dsn, Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var log commitLog
	s.SetCommitObserver(log.observe)
	a, b := fullRecord("call-1", "alice"), fullRecord("call-1", "bob")
	s.StartRecords([]Record{a, b})
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// The heartbeat finds the server gone without any record to write.
	testutil.Until(t, "Writable() to fail with PostgreSQL stopped", 20*time.Second, func() bool { return s.Writable() != nil })
	wantCode(t, "Writable() with PostgreSQL stopped", s.Writable(), protocol.CodeStoreUnavailable)

	doneA := a
	doneA.Live, doneA.EndReason, doneA.TotalTime = false, protocol.ReasonHangup, 7
	c := fullRecord("call-2", "carol")
	s.FinishRecords([]Record{doneA})
	s.StartRecords([]Record{c})
	s.StartRecords([]Record{a}) // after the finish: ignored
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = s.Flush(fctx)
	cancel()
	wantCode(t, "Flush() with PostgreSQL stopped", err, protocol.CodeStoreUnavailable)
	if st := s.Stats(); st.Pending != 2 {
		t.Errorf("Stats().Pending = %d with PostgreSQL stopped, want 2", st.Pending)
	}
	// Other writes answer the same 6005 (and are not retried: the caller is told).
	wantCode(t, "AddUsers() with PostgreSQL stopped", s.AddUsers(ctx, []string{"zed"}), protocol.CodeStoreUnavailable)

	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	testutil.Until(t, "Flush() to succeed after the restart", 30*time.Second, func() bool { return s.Flush(ctx) == nil })
	checkRecovered(ctx, t, s, &log, []Record{c, doneA, b}, "after the restart")
	if err := s.AddUsers(ctx, []string{"zed"}); err != nil {
		t.Errorf("AddUsers() after the restart = %v", err)
	}
}

// TestPostgresRejectedRow: a row PostgreSQL refuses (a NUL byte in a text)
// is dropped and reported by Flush, without holding the others back: the
// batch is rolled back and committed again without it.
func TestPostgresRejectedRow(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, testDBs[1])
	good1, good2 := fullRecord("call-1", "alice"), fullRecord("call-3", "carol")
	bad := fullRecord("call-2", "bob")
	bad.Inviter = "nul\x00byte"
	s.StartRecords([]Record{good1, bad, good2})
	err := s.Flush(ctx)
	wantCode(t, "Flush() after a rejected row", err, protocol.CodeStorage)
	if err := s.Writable(); err != nil {
		t.Errorf("Writable() = %v after a rejected row; a rejected row is not a storage fault", err)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []Record{good2, good1}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
	if st := s.Stats(); st.Written != 2 || st.WriteErrors != 1 || st.Pending != 0 {
		t.Errorf("Stats() = %+v; want 2 written, 1 error, 0 pending", st)
	}
}

// openTwiceAtOnce opens two stores on dsn at the same time and closes
// them, failing on any error.
func openTwiceAtOnce(ctx context.Context, t *testing.T, dsn string) {
	t.Helper()
	errs := make(chan error, 2)
	stores := make(chan *Store, 2)
	for range 2 {
		go func() {
			s, err := OpenPostgres(ctx, dsn, Options{})
			errs <- err
			stores <- s
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("OpenPostgres() = %v", err)
		}
		if s := <-stores; s != nil {
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		}
	}
}

// openPostgresFails opens a store on dsn, closing it if that worked, and
// returns OpenPostgres's error.
func openPostgresFails(ctx context.Context, dsn string) error {
	s, err := OpenPostgres(ctx, dsn, Options{})
	if s != nil {
		s.Close()
	}
	return err
}

// TestOpenPostgres: the schema is created once, with its version; a
// database with foreign tables of termcall's names, a newer schema and an
// unreachable server are clear errors.
func TestOpenPostgres(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Shared(t)
	dsn := pgtest.NewDB(t)
	// Two stores open the new database at once: one migrates, the other
	// waits on the advisory lock and finds it done.
	openTwiceAtOnce(ctx, t, dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v); err != nil || v != len(pgSchema) {
		t.Errorf("schema_version = %d, %v; want %d", v, err, len(pgSchema))
	}

	// A newer schema is refused.
	if _, err := conn.Exec(ctx, `UPDATE meta SET value = 99 WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	if err := openPostgresFails(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("OpenPostgres(newer schema) = %v; want an error saying it is newer", err)
	}

	// Another program's tables.
	foreign, err := pg.CreateDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.DropDB(ctx, foreign) //nolint:errcheck
	fc, err := pgx.Connect(ctx, foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Exec(ctx, `CREATE TABLE users (id serial PRIMARY KEY, email text)`); err != nil {
		t.Fatal(err)
	}
	fc.Close(ctx)
	if err := openPostgresFails(ctx, foreign); !errors.Is(err, ErrNotTermcall) {
		t.Errorf("OpenPostgres(foreign tables) = %v; want ErrNotTermcall", err)
	}

	// Nothing listens: a prompt, clear error that hides the password.
	checkUnreachablePostgres(ctx, t)
}

// checkUnreachablePostgres opens a PostgreSQL DSN where nothing listens:
// a prompt, clear error that hides the password.
func checkUnreachablePostgres(ctx context.Context, t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t0 := time.Now()
	bad := fmt.Sprintf("postgres://termcall:s3cret@127.0.0.1:%d/termcall?sslmode=disable", port)
	s, err := OpenDatabase(ctx, bad, Options{})
	if err == nil {
		s.Close()
		t.Fatal("OpenDatabase(unreachable) = nil error")
	}
	if !strings.Contains(err.Error(), "cannot connect") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("OpenDatabase(unreachable) = %q; want it to say it cannot connect, without the password", err)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Errorf("OpenDatabase(unreachable) took %v", d)
	}
}

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ? LIMIT ?", "a = $1 AND b = $2 LIMIT $3"},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// raceTwo runs f(0) and f(1) at once, released together once both are
// ready, and returns their errors.
func raceTwo(f func(i int) error) [2]error {
	var errs [2]error
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// raceCreateGroup has both stores create group g<n> at once: exactly one
// succeeds, the other gets CodeGroupExists.
func raceCreateGroup(ctx context.Context, t *testing.T, st [2]*Store, n int) {
	t.Helper()
	gid := fmt.Sprintf("g%02d", n)
	errs := raceTwo(func(i int) error {
		return st[i].CreateGroup(ctx, Group{GroupID: gid, Owner: fmt.Sprintf("node%d", i), Members: []string{"m1", "m2"}})
	})
	ok, exists := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case protocol.CodeOf(err) == protocol.CodeGroupExists:
			exists++
		default:
			t.Errorf("round %d: CreateGroup = %v", n, err)
		}
	}
	if ok != 1 || exists != 1 {
		t.Fatalf("round %d: %d successes and %d CodeGroupExists, want exactly 1 and 1 (%v)", n, ok, exists, errs)
	}
}

// raceLiveAndFinal has one store write a call's live record while the
// other writes its final one: the final record stands.
func raceLiveAndFinal(ctx context.Context, t *testing.T, st [2]*Store, n int) {
	t.Helper()
	live := fullRecord(fmt.Sprintf("call-%02d", n), "alice")
	fin := live
	fin.Live, fin.EndReason, fin.TotalTime = false, protocol.ReasonHangup, int64(n)
	errs := raceTwo(func(i int) error {
		if i == 0 {
			st[0].StartRecords([]Record{live})
		} else {
			st[1].FinishRecords([]Record{fin})
		}
		return st[i].Flush(ctx)
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("round %d: Flush = %v", n, errs)
	}
	got, err := st[0].AdminRecords(ctx, AdminFilter{CallID: live.CallID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []Record{fin}); diff != "" {
		t.Fatalf("round %d: a live write racing a final one (-got +want):\n%s", n, diff)
	}
}

// TestPostgresRacesTwoStores: two stores on one database, as two nodes
// will be, race at a barrier, 50 times each: creating the same group gives
// exactly one success and one CodeGroupExists; a node's "live" write and
// another's final write of the same record always end finished; a first
// login of the same user on both succeeds on both, the user stored once.
func TestPostgresRacesTwoStores(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	var st [2]*Store
	for i := range st {
		s, err := OpenPostgres(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		st[i] = s
	}
	const rounds = 50
	for n := range rounds {
		raceCreateGroup(ctx, t, st, n)
		raceLiveAndFinal(ctx, t, st, n)
		user := fmt.Sprintf("u%02d", n)
		errs := raceTwo(func(i int) error { return st[i].AddUsers(ctx, []string{user}) })
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: AddUsers = %v", n, errs)
		}
	}
	gs, err := st[1].Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != rounds {
		t.Errorf("%d groups, want %d", len(gs), rounds)
	}
	for _, g := range gs {
		if !cmp.Equal(g.Members, []string{"m1", "m2"}) {
			t.Errorf("group %s members %v, want [m1 m2]", g.GroupID, g.Members)
		}
	}
	users, err := st[0].Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != rounds+2 { // u00..u49, m1, m2
		t.Errorf("%d users, want %d", len(users), rounds+2)
	}
}
