package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/internal/tmpfs"
	"github.com/termcall/termcall/protocol"
)

// commitLog records the commit observer's calls.
type commitLog struct {
	mu             sync.Mutex
	ok, failed     int
	rowsOK, rowsKO int
}

func (l *commitLog) observe(rows int, _ time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		l.rowsKO += rows
	} else {
		l.ok++
		l.rowsOK += rows
	}
}

func (l *commitLog) counts() (ok, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.failed
}

// checkFullDiskHolds checks a store on a full disk with two rows to write:
// Flush answers at once with CodeStoreUnavailable, the two rows wait, and
// reads still work.
func checkFullDiskHolds(ctx context.Context, t *testing.T, s *Store) {
	t.Helper()
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := s.Flush(fctx) // answers at once, without waiting for the retries
	cancel()
	wantCode(t, "Flush() on a full disk", err, protocol.CodeStoreUnavailable)
	if st := s.Stats(); st.Pending != 2 {
		t.Errorf("Stats().Pending = %d on a full disk, want 2 (call-1/alice, call-2/carol)", st.Pending)
	}
	// Reads still work.
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatalf("AdminRecords() on a full disk = %v", err)
	}
	if len(got) != 2 || !got[0].Live || !got[1].Live {
		t.Errorf("records on disk while full: %+v, want the 2 live ones", got)
	}
}

// checkRecovered checks a store that can write again (when says since
// what): writable, holding want, all 5 rows written after retries, and the
// commit observer told of both failed and good commits.
func checkRecovered(ctx context.Context, t *testing.T, s *Store, log *commitLog, want []Record, when string) {
	t.Helper()
	if err := s.Writable(); err != nil {
		t.Errorf("Writable() = %v %s", err, when)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("records %s (-got +want):\n%s", when, diff)
	}
	st := s.Stats()
	if st.Pending != 0 || st.Retries == 0 || st.WriteErrors != 0 || st.Dropped != 0 || st.Written != 5 {
		t.Errorf("Stats() = %+v; want 0 pending, some retries, 0 errors, 0 dropped, 5 written", st)
	}
	if ok, failed := log.counts(); ok == 0 || failed == 0 {
		t.Errorf("commit observer: %d ok, %d failed; want both", ok, failed)
	}
}

// TestDiskFull runs the record writer on a real tmpfs that the test fills:
// commits fail, nothing is lost, and everything is written once space
// returns.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := tmpfs.Mount(t, "2m")
	path := filepath.Join(dir, "termcall.db")
	s, err := OpenWith(ctx, path, Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var log commitLog
	s.SetCommitObserver(log.observe)
	a, b := fullRecord("call-1", "alice"), fullRecord("call-1", "bob")
	s.StartRecords([]Record{a, b})
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	if err := s.Writable(); err != nil {
		t.Fatalf("Writable() = %v before the disk is full", err)
	}

	filler := tmpfs.Fill(t, dir)
	// The heartbeat finds the full disk without any record to write.
	testutil.Until(t, "Writable() to fail on the full disk", 20*time.Second, func() bool { return s.Writable() != nil })
	wantCode(t, "Writable() on a full disk", s.Writable(), protocol.CodeStoreUnavailable)

	doneA := a
	doneA.Live, doneA.EndReason, doneA.TotalTime = false, protocol.ReasonHangup, 7
	c := fullRecord("call-2", "carol")
	s.FinishRecords([]Record{doneA})
	s.StartRecords([]Record{c})
	s.StartRecords([]Record{a}) // after the finish: ignored, as on disk
	checkFullDiskHolds(ctx, t, s)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.Until(t, "Flush() to succeed once space returns", 30*time.Second, func() bool { return s.Flush(ctx) == nil })
	checkRecovered(ctx, t, s, &log, []Record{c, doneA, b}, "after space returned") // call id desc, then user id

	// Closing on a full disk: one last attempt, then an error naming what
	// could not be written.
	filler = tmpfs.Fill(t, dir)
	doneB := b
	doneB.Live, doneB.EndReason = false, protocol.ReasonHangup
	s.FinishRecords([]Record{doneB})
	err = s.Close()
	wantCode(t, "Close() on a full disk", err, protocol.CodeStoreUnavailable)
	if err == nil || !strings.Contains(err.Error(), "1 record rows could not be written") || !strings.Contains(err.Error(), "call-1") {
		t.Errorf("Close() = %v; want it to say 1 row of call-1 could not be written", err)
	}
	if st := s.Stats(); st.WriteErrors != 1 || st.Pending != 0 {
		t.Errorf("Stats() after Close = %+v; want 1 write error, 0 pending", st)
	}
	os.Remove(filler)
}

// TestPendingCap: past Options.MaxPending records, rows of new records are
// discarded and counted; rows of records already waiting still merge.
func TestPendingCap(t *testing.T) {
	ctx := context.Background()
	dir := tmpfs.Mount(t, "2m")
	s, err := OpenWith(ctx, filepath.Join(dir, "termcall.db"), Options{MaxPending: 2, Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	filler := tmpfs.Fill(t, dir)
	s.StartRecords([]Record{fullRecord("c1", "u1"), fullRecord("c1", "u2")})
	testutil.Until(t, "Writable() to fail", 20*time.Second, func() bool { return s.Writable() != nil })
	s.StartRecords([]Record{fullRecord("c2", "u3")}) // a third record: discarded
	done := fullRecord("c1", "u1")
	done.Live = false
	s.FinishRecords([]Record{done}) // merges
	if err := s.Flush(ctx); err == nil {
		t.Errorf("Flush() = nil after a discarded row, want an error")
	}
	if st := s.Stats(); st.Pending != 2 || st.Dropped != 1 {
		t.Errorf("Stats() = %+v; want 2 pending, 1 dropped", st)
	}
	os.Remove(filler)
	testutil.Until(t, "Flush() to succeed", 30*time.Second, func() bool { return s.Flush(ctx) == nil })
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].UserID != "u1" || got[0].Live || got[1].UserID != "u2" || !got[1].Live {
		t.Errorf("records = %+v; want c1/u1 finished and c1/u2 live", got)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// TestCloseLiveUsesHeartbeat: a live record left by a crash ends when the
// server was last alive, not at the next start.
func TestCloseLiveUsesHeartbeat(t *testing.T) { forEachDB(t, testCloseLiveUsesHeartbeat) }

func testCloseLiveUsesHeartbeat(t *testing.T, d testDB) {
	ctx := context.Background()
	path := d.target(t)
	s, err := OpenDatabase(ctx, path, Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	r := fullRecord("call-1", "alice")
	r.BeginTime, r.ConnectedAt = now-12, now-10
	s.StartRecords([]Record{r})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // like a crash: the record stays live
		t.Fatal(err)
	}
	s, err = OpenDatabase(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CloseLive(ctx, now+3600); err != nil || n != 1 {
		t.Fatalf("CloseLive() = %d, %v; want 1, nil", n, err)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Live || got[0].EndReason != protocol.ReasonEndByServer ||
		got[0].TotalTime < 10 || got[0].TotalTime > 12 {
		t.Errorf("record after CloseLive: %+v; want ended by the server with about 10 s, not the hour of downtime", got)
	}
}

// makePlainDB makes an SQLite database at path with a plain connection
// (not termcall's) and runs stmts in it.
func makePlainDB(ctx context.Context, t *testing.T, path, stmts string) {
	t.Helper()
	db, err := openPlain(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmts); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesForeignFiles: an empty file, a file that is not SQLite and
// another program's database are errors that leave the file alone; an
// older termcall database (no application id) is accepted.
func TestOpenRefusesForeignFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign.db")
	{
		s, err := Open(ctx, filepath.Join(dir, "tmp.db"))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	// Another program's database: made with a plain connection.
	makePlainDB(ctx, t, foreign, "CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = 3")
	before, _ := os.ReadFile(foreign)
	for _, tt := range []struct {
		name, path, want string
	}{
		{"empty", write("empty.db", nil), "is empty (0 bytes)"},
		{"text", write("text.db", []byte("hello, this is not a database at all\n")), "is not an SQLite database"},
		{"foreign", foreign, "another program's SQLite database"},
	} {
		_, err := Open(ctx, tt.path)
		if !errors.Is(err, ErrNotTermcall) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: Open() = %v; want ErrNotTermcall saying %q and naming the file", tt.name, err, tt.want)
		}
	}
	if after, _ := os.ReadFile(foreign); !cmp.Equal(before, after) {
		t.Errorf("Open changed the foreign database file")
	}
	if fi, err := os.Stat(filepath.Join(dir, "empty.db")); err != nil || fi.Size() != 0 {
		t.Errorf("Open changed the empty file: %v, %v", fi, err)
	}

	// A termcall database of schema 1, before the application id.
	old := filepath.Join(dir, "old.db")
	makePlainDB(ctx, t, old, schema[0]+"; PRAGMA user_version = 1")
	s, err := Open(ctx, old)
	if err != nil {
		t.Fatalf("Open(older termcall database) = %v", err)
	}
	var app, v int
	s.db.(*sqliteDB).wdb.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app) //nolint:errcheck
	s.db.(*sqliteDB).wdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)     //nolint:errcheck
	if app != applicationID || v != len(schema) {
		t.Errorf("after Open: application_id %#x, user_version %d; want %#x, %d", app, v, applicationID, len(schema))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLockDir: one owner per data directory; released on Release.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir() = %v", err)
	}
	_, err = LockDir(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Dir != dir {
		t.Fatalf("second LockDir() = %v; want a *LockedError naming pid %d", err, os.Getpid())
	}
	if !strings.Contains(err.Error(), "pid") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q should name the directory and the pid", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release() = %v", err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir() after Release = %v", err)
	}
	_ = l2.Release()
}

func openPlain(path string) (*sql.DB, error) { return sql.Open("sqlite", path) }

// TestManyPendingRows: more records than one transaction holds wait through
// a full disk and are all written, in several transactions, once space
// returns.
func TestManyPendingRows(t *testing.T) {
	ctx := context.Background()
	dir := tmpfs.Mount(t, "4m")
	s, err := OpenWith(ctx, filepath.Join(dir, "termcall.db"), Options{Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var log commitLog
	s.SetCommitObserver(log.observe)
	filler := tmpfs.Fill(t, dir)
	const n = 3*maxBatch + 7
	for i := range n {
		r := fullRecord(fmt.Sprintf("call-%04d", i), "alice")
		s.StartRecords([]Record{r})
		if i%2 == 0 {
			r.Live = false
			s.FinishRecords([]Record{r})
		}
	}
	testutil.Until(t, "Writable() to fail", 20*time.Second, func() bool { return s.Writable() != nil })
	if err := s.Flush(ctx); protocol.CodeOf(err) != protocol.CodeStoreUnavailable {
		t.Fatalf("Flush() = %v on a full disk, want code 6005", err)
	}
	if st := s.Stats(); st.Pending != n {
		t.Errorf("Stats().Pending = %d, want %d", st.Pending, n)
	}
	os.Remove(filler)
	testutil.Until(t, "Flush() to succeed", 30*time.Second, func() bool { return s.Flush(ctx) == nil })
	got, err := s.AdminRecords(ctx, AdminFilter{Limit: MaxAdminLimit})
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, r := range got {
		if r.Live {
			live++
		}
	}
	if len(got) != n || live != n/2 {
		t.Errorf("%d records (%d live) after space returned, want %d (%d live)", len(got), live, n, n/2)
	}
	if st := s.Stats(); st.Pending != 0 || st.Written != n+(n+1)/2 {
		t.Errorf("Stats() = %+v; want 0 pending, %d written", st, n+(n+1)/2)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.rowsOK != n {
		t.Errorf("commit observer: %d rows committed, want %d", log.rowsOK, n)
	}
}
