package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/protocol"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testDB is a backend the store's tests run on.
type testDB struct {
	name   string
	target func(t testing.TB) string // a new, empty database for OpenDatabase
}

var testDBs = []testDB{
	{"sqlite", func(t testing.TB) string { t.Helper(); return filepath.Join(t.TempDir(), "sub", "termcall.db") }},
	{"postgres", pgtest.NewDB}, // skipped without PostgreSQL
}

// forEachDB runs f as a subtest per backend.
func forEachDB(t *testing.T, f func(*testing.T, testDB)) {
	t.Helper()
	for _, d := range testDBs {
		t.Run(d.name, func(t *testing.T) { f(t, d) })
	}
}

// openTemp opens a store on a new database of d, closed when the test ends.
func openTemp(t testing.TB, d testDB) (*Store, string) {
	t.Helper()
	return openTempWith(t, d, Options{})
}

func openTempWith(t testing.TB, d testDB, opt Options) (*Store, string) {
	t.Helper()
	path := d.target(t)
	s, err := OpenDatabase(context.Background(), path, opt)
	if err != nil {
		t.Fatalf("OpenDatabase(%q) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s, path
}

func wantCode(t *testing.T, what string, err error, want protocol.Code) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Errorf("%s: error = %v, want a *protocol.Error with code %d", what, err, want)
		return
	}
	if pe.Code != want {
		t.Errorf("%s: code = %d (%v), want %d", what, pe.Code, err, want)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, ""); err == nil {
		t.Errorf("Open(\"\") = nil error, want an error")
	}
	s, path := openTemp(t, testDBs[0])
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	checkPragmas(ctx, t, s)
	// Close is idempotent, and the file reopens with its schema.
	checkClosed(ctx, t, s)
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
}

// checkPragmas checks the SQLite settings of an open store: WAL, foreign
// keys on, synchronous NORMAL, the busy timeout and the schema version.
func checkPragmas(ctx context.Context, t *testing.T, s *Store) {
	t.Helper()
	var mode string
	if err := s.db.(*sqliteDB).wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want %q", mode, "wal")
	}
	var fk, sync, busy, version int
	for _, p := range []struct {
		pragma string
		v      *int
	}{{"foreign_keys", &fk}, {"synchronous", &sync}, {"busy_timeout", &busy}, {"user_version", &version}} {
		if err := s.db.(*sqliteDB).wdb.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.v); err != nil {
			t.Fatal(err)
		}
	}
	if fk != 1 || sync != 1 || busy != busyTimeoutMS || version != len(schema) {
		t.Errorf("foreign_keys, synchronous, busy_timeout, user_version = %d, %d, %d, %d; want 1, 1, %d, %d",
			fk, sync, busy, version, busyTimeoutMS, len(schema))
	}
}

// checkClosed closes s twice and checks that a closed store refuses to
// flush and drops what it is given.
func checkClosed(ctx context.Context, t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
	s.StartRecords([]Record{{CallID: "c", UserID: "u"}}) // dropped, no panic
	if got := s.Stats().Dropped; got != 1 {
		t.Errorf("Stats().Dropped = %d, want 1", got)
	}
}

func TestUsersAndProfiles(t *testing.T) { forEachDB(t, testUsersAndProfiles) }

func testUsersAndProfiles(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	if err := s.AddUsers(ctx, []string{"carol", "alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsers(ctx, []string{"alice", "alice"}); err != nil {
		t.Fatalf("AddUsers again: %v", err)
	}
	wantCode(t, "AddUsers with empty id", s.AddUsers(ctx, []string{"x", ""}), protocol.CodeInvalidUserID)
	if err := s.SetProfile(ctx, Profile{UserID: "dave", Nickname: "Dave", Avatar: "https://a/d.png"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProfile(ctx, Profile{UserID: "alice", Nickname: "Al"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProfile(ctx, Profile{UserID: "alice", Nickname: "Alice"}); err != nil {
		t.Fatal(err)
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(users, []string{"alice", "bob", "carol", "dave"}); diff != "" {
		t.Errorf("Users() (-got +want):\n%s", diff)
	}
	ps, err := s.Profiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Profile{{UserID: "alice", Nickname: "Alice"}, {UserID: "dave", Nickname: "Dave", Avatar: "https://a/d.png"}}
	if diff := cmp.Diff(ps, want); diff != "" {
		t.Errorf("Profiles() (-got +want):\n%s", diff)
	}
}

func TestGroups(t *testing.T) { forEachDB(t, testGroups) }

// must fails the test at once if err is not nil, naming what returned it.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// groupsOf returns s.Groups, failing on an error.
func groupsOf(ctx context.Context, t *testing.T, s *Store) []Group {
	t.Helper()
	gs, err := s.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func testGroups(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	must(t, "CreateGroup g2", s.CreateGroup(ctx, Group{GroupID: "g2", Name: "Two", Owner: "bob", Members: []string{"bob", "alice"}, CreatedAt: 100}))
	must(t, "CreateGroup g1", s.CreateGroup(ctx, Group{GroupID: "g1", Members: nil}))
	wantCode(t, "CreateGroup existing", s.CreateGroup(ctx, Group{GroupID: "g2"}), protocol.CodeGroupExists)
	wantCode(t, "CreateGroup empty id", s.CreateGroup(ctx, Group{}), protocol.CodeInvalidGroupID)
	must(t, "AddMembers", s.AddMembers(ctx, "g1", []string{"zed", "carol", "zed"}))
	must(t, "AddMembers again", s.AddMembers(ctx, "g1", []string{"carol"}))
	must(t, "RemoveMembers", s.RemoveMembers(ctx, "g2", []string{"bob", "nobody"}))
	wantCode(t, "AddMembers unknown group", s.AddMembers(ctx, "nope", []string{"a"}), protocol.CodeGroupNotFound)
	wantCode(t, "RemoveMembers unknown group", s.RemoveMembers(ctx, "nope", []string{"a"}), protocol.CodeGroupNotFound)
	wantCode(t, "DeleteGroup unknown group", s.DeleteGroup(ctx, "nope"), protocol.CodeGroupNotFound)

	gs := groupsOf(ctx, t, s)
	if len(gs) != 2 || gs[0].CreatedAt == 0 {
		t.Fatalf("Groups() = %+v, want 2 groups with CreatedAt set", gs)
	}
	created := gs[0].CreatedAt
	want := []Group{
		{GroupID: "g1", Members: []string{"carol", "zed"}, CreatedAt: created},
		{GroupID: "g2", Name: "Two", Owner: "bob", Members: []string{"alice"}, CreatedAt: 100},
	}
	if diff := cmp.Diff(gs, want); diff != "" {
		t.Errorf("Groups() (-got +want):\n%s", diff)
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(users, []string{"alice", "bob", "carol", "zed"}); diff != "" {
		t.Errorf("Users() after groups (-got +want):\n%s", diff)
	}

	must(t, "DeleteGroup", s.DeleteGroup(ctx, "g2"))
	wantCode(t, "DeleteGroup twice", s.DeleteGroup(ctx, "g2"), protocol.CodeGroupNotFound)
	if diff := cmp.Diff(groupsOf(ctx, t, s), want[:1]); diff != "" {
		t.Errorf("Groups() after delete (-got +want):\n%s", diff)
	}
	// The group can be created again, without its old members.
	must(t, "CreateGroup again", s.CreateGroup(ctx, Group{GroupID: "g2", CreatedAt: 5}))
	gs = groupsOf(ctx, t, s)
	if diff := cmp.Diff(gs[1], Group{GroupID: "g2", Members: []string{}, CreatedAt: 5}); diff != "" {
		t.Errorf("recreated group (-got +want):\n%s", diff)
	}
}

func fullRecord(callID, userID string) Record {
	return Record{
		CallID:      callID,
		UserID:      userID,
		Inviter:     "alice",
		InviteList:  []string{"bob", "carol"},
		Scene:       protocol.SceneGroupCall,
		MediaType:   protocol.MediaTypeVideo,
		GroupID:     "g1",
		RoomID:      protocol.RoomID{IntRoomID: 4294967295, StrRoomID: "room-x"},
		Role:        protocol.RoleCalled,
		Result:      protocol.ResultIncoming,
		BeginTime:   1700000000,
		ConnectedAt: 1700000005,
		Live:        true,
	}
}

func TestRecordRoundTrip(t *testing.T) { forEachDB(t, testRecordRoundTrip) }

func testRecordRoundTrip(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	start := fullRecord("call-1", "bob")
	s.StartRecords([]Record{start})
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	got, err := s.QueryRecords(ctx, "bob", protocol.RecentCallsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []Record{start}); diff != "" {
		t.Errorf("after start (-got +want):\n%s", diff)
	}

	fin := start
	fin.Live = false
	fin.TotalTime = 42
	fin.EndReason = protocol.ReasonHangup
	fin.MediaType = protocol.MediaTypeAudio
	s.FinishRecords([]Record{fin})
	s.StartRecords([]Record{start}) // late start: ignored
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	got, err = s.QueryRecords(ctx, "bob", protocol.RecentCallsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []Record{fin}); diff != "" {
		t.Errorf("after finish (-got +want):\n%s", diff)
	}

	// Start and finish in one batch: the finish wins. Empty invite list
	// comes back nil.
	r := Record{CallID: "call-2", UserID: "alice", Inviter: "alice", InviteList: []string{}, Role: protocol.RoleCaller,
		Result: protocol.ResultOutgoing, Scene: protocol.SceneSingleCall, BeginTime: 1700000100, Live: true}
	f := r
	f.Live, f.EndReason, f.InviteList = false, protocol.ReasonCanceled, nil
	s.StartRecords([]Record{r})
	s.FinishRecords([]Record{f})
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	got, err = s.QueryRecords(ctx, "alice", protocol.RecentCallsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []Record{f}); diff != "" {
		t.Errorf("start+finish in one batch (-got +want):\n%s", diff)
	}

	// A record without ids is dropped and reported by Flush.
	s.StartRecords([]Record{{CallID: "call-3"}})
	if err := s.Flush(ctx); err == nil {
		t.Errorf("Flush() after a bad record = nil, want an error")
	}
	if err := s.Flush(ctx); err != nil {
		t.Errorf("second Flush() = %v, want nil", err)
	}
	if st := s.Stats(); st.Written != 5 || st.WriteErrors != 1 {
		t.Errorf("Stats() = %+v, want 5 written (the late start included), 1 error", st)
	}
}

func TestCloseLiveAfterCrash(t *testing.T) { forEachDB(t, testCloseLiveAfterCrash) }

func testCloseLiveAfterCrash(t *testing.T, d testDB) {
	ctx := context.Background()
	path := d.target(t)
	s, err := OpenDatabase(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	caller := fullRecord("call-9", "alice")
	caller.Role, caller.Result, caller.ConnectedAt = protocol.RoleCaller, protocol.ResultOutgoing, 1700000010
	callee := fullRecord("call-9", "bob")
	callee.ConnectedAt = 0
	done := fullRecord("call-8", "alice")
	done.Live, done.EndReason, done.TotalTime = false, protocol.ReasonHangup, 3
	s.FinishRecords([]Record{done}) // first: created_at orders rows of the same second
	s.StartRecords([]Record{caller, callee})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenDatabase(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.CloseLive(ctx, 1700000100)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("CloseLive() = %d, want 2", n)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	wantCaller, wantCallee := caller, callee
	wantCaller.Live, wantCaller.EndReason, wantCaller.TotalTime = false, protocol.ReasonEndByServer, 90
	wantCallee.Live, wantCallee.EndReason, wantCallee.TotalTime = false, protocol.ReasonEndByServer, 0
	want := []Record{wantCaller, wantCallee, done} // same BeginTime: call id desc, then user id
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("records after CloseLive (-got +want):\n%s", diff)
	}
	if n, err := s.CloseLive(ctx, 1700000200); err != nil || n != 0 {
		t.Errorf("second CloseLive() = %d, %v; want 0, nil", n, err)
	}
}

func TestQueryRecords(t *testing.T) { forEachDB(t, testQueryRecords) }

func testQueryRecords(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	results := []protocol.ResultType{protocol.ResultMissed, protocol.ResultIncoming, protocol.ResultOutgoing}
	var all []Record
	for i := range 30 {
		r := Record{
			CallID: fmt.Sprintf("c%02d", i), UserID: "u", Inviter: "x",
			Result: results[i%3], BeginTime: int64(1000 + i*10),
		}
		all = append(all, r)
		s.FinishRecords([]Record{r, {CallID: r.CallID, UserID: "other", BeginTime: r.BeginTime}})
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rev := func(rs []Record) []Record {
		out := make([]Record, 0, len(rs))
		for i := len(rs) - 1; i >= 0; i-- {
			out = append(out, rs[i])
		}
		return out
	}
	filter := func(rs []Record, keep func(Record) bool) []Record {
		var out []Record
		for _, r := range rs {
			if keep(r) {
				out = append(out, r)
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    protocol.RecentCallsFilter
		want []Record
	}{
		{"all", protocol.RecentCallsFilter{}, rev(all)},
		{"limit", protocol.RecentCallsFilter{Limit: 5}, rev(all)[:5]},
		{"missed", protocol.RecentCallsFilter{Result: protocol.ResultMissed}, rev(filter(all, func(r Record) bool { return r.Result == protocol.ResultMissed }))},
		{"begin inclusive", protocol.RecentCallsFilter{Begin: 1250}, rev(all[25:])},
		{"end exclusive", protocol.RecentCallsFilter{End: 1030}, rev(all[:3])},
		{"window+result+limit", protocol.RecentCallsFilter{Begin: 1050, End: 1200, Result: protocol.ResultOutgoing, Limit: 2},
			[]Record{all[17], all[14]}},
		{"empty", protocol.RecentCallsFilter{Begin: 5000}, []Record{}},
	}
	for _, tc := range tests {
		got, err := s.QueryRecords(ctx, "u", tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("%s: QueryRecords(%+v) (-got +want):\n%s", tc.name, tc.f, diff)
		}
	}
}

func TestQueryRecordsLimits(t *testing.T) { forEachDB(t, testQueryRecordsLimits) }

func testQueryRecordsLimits(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	var recs []Record
	for i := range MaxRecordsLimit + 10 {
		recs = append(recs, Record{CallID: fmt.Sprintf("c%05d", i), UserID: "u", BeginTime: int64(i)})
	}
	s.FinishRecords(recs)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ limit, want int }{{0, DefaultRecordsLimit}, {-1, DefaultRecordsLimit}, {5000, MaxRecordsLimit}, {7, 7}} {
		got, err := s.QueryRecords(ctx, "u", protocol.RecentCallsFilter{Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("QueryRecords(Limit: %d) returned %d records, want %d", tc.limit, len(got), tc.want)
		}
	}
}

func TestHideRecords(t *testing.T) { forEachDB(t, testHideRecords) }

func testHideRecords(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	a1 := Record{CallID: "c1", UserID: "alice", BeginTime: 10}
	b1 := Record{CallID: "c1", UserID: "bob", BeginTime: 10}
	a2 := Record{CallID: "c2", UserID: "alice", BeginTime: 20}
	s.FinishRecords([]Record{a1, b1, a2})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.HideRecords(ctx, "alice", []string{"c1", "nope", "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{"c1"}); diff != "" {
		t.Errorf("HideRecords (-got +want):\n%s", diff)
	}
	got, err = s.HideRecords(ctx, "alice", []string{"c1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{}); diff != "" {
		t.Errorf("HideRecords again (-got +want):\n%s", diff)
	}
	// A later finish of the hidden row keeps it hidden.
	s.FinishRecords([]Record{a1})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user string
		want []Record
	}{{"alice", []Record{a2}}, {"bob", []Record{b1}}} {
		recs, err := s.QueryRecords(ctx, tc.user, protocol.RecentCallsFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(recs, tc.want); diff != "" {
			t.Errorf("QueryRecords(%s) (-got +want):\n%s", tc.user, diff)
		}
	}
	adm, err := s.AdminRecords(ctx, AdminFilter{CallID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(adm, []Record{a1, b1}); diff != "" {
		t.Errorf("AdminRecords(c1) (-got +want):\n%s", diff)
	}
	adm, err = s.AdminRecords(ctx, AdminFilter{UserID: "alice", Begin: 10, End: 20, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(adm, []Record{a1}); diff != "" {
		t.Errorf("AdminRecords(alice, [10,20)) (-got +want):\n%s", diff)
	}
}

func TestConcurrentRecords(t *testing.T) { forEachDB(t, testConcurrentRecords) }

// writeCalls starts and finishes the records of n calls of worker w,
// flushing and querying every 50 calls.
func writeCalls(ctx context.Context, t *testing.T, s *Store, w, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("w%d-c%d", w, i)
		recs := []Record{
			{CallID: id, UserID: "caller", BeginTime: int64(i), Result: protocol.ResultOutgoing},
			{CallID: id, UserID: "callee", BeginTime: int64(i), Result: protocol.ResultIncoming},
		}
		s.StartRecords(recs)
		if i%50 == 0 {
			if err := s.Flush(ctx); err != nil {
				t.Errorf("Flush() = %v", err)
			}
			if _, err := s.QueryRecords(ctx, "caller", protocol.RecentCallsFilter{Limit: 10}); err != nil {
				t.Errorf("QueryRecords() = %v", err)
			}
		}
		for j := range recs {
			recs[j].TotalTime = 7
			recs[j].EndReason = protocol.ReasonHangup
		}
		s.FinishRecords(recs)
	}
}

func testConcurrentRecords(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	const workers, calls = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			writeCalls(ctx, t, s, w, calls)
		}()
	}
	wg.Wait()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := s.AdminRecords(ctx, AdminFilter{Limit: MaxAdminLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*workers*calls {
		t.Fatalf("AdminRecords() returned %d records, want %d", len(recs), 2*workers*calls)
	}
	for _, r := range recs {
		if r.Live || r.EndReason != protocol.ReasonHangup || r.TotalTime != 7 {
			t.Fatalf("record %+v not finished", r)
		}
	}
	if st := s.Stats(); st.Written != 4*workers*calls || st.WriteErrors != 0 {
		t.Errorf("Stats() = %+v, want %d written, 0 errors", st, 4*workers*calls)
	}
}

// BenchmarkRecords measures 1v1 call setups: each iteration starts the two
// records of one call and finishes those of the call started 1,000
// iterations earlier, so that finishes update committed rows as they do in
// a running server.
func BenchmarkRecords(b *testing.B) {
	for _, d := range testDBs {
		b.Run(d.name, func(b *testing.B) { benchmarkRecords(b, d) })
	}
}

func benchmarkRecords(b *testing.B, d testDB) {
	b.Helper()
	ctx := context.Background()
	s, _ := openTemp(b, d)
	const lag = 1000
	mk := func(i int, live bool) []Record {
		id := fmt.Sprintf("call-%09d", i)
		r := Record{CallID: id, UserID: fmt.Sprintf("u%d", i%5000), Inviter: "caller", InviteList: []string{"callee"},
			Scene: protocol.SceneSingleCall, MediaType: protocol.MediaTypeAudio, RoomID: protocol.IntRoom(uint32(i + 1)),
			Role: protocol.RoleCaller, Result: protocol.ResultOutgoing, BeginTime: 1700000000 + int64(i/2000), Live: live}
		c := r
		c.UserID, c.Role, c.Result = fmt.Sprintf("v%d", i%5000), protocol.RoleCalled, protocol.ResultIncoming
		if !live {
			r.TotalTime, c.TotalTime = 30, 30
			r.EndReason, c.EndReason = protocol.ReasonHangup, protocol.ReasonHangup
		}
		return []Record{r, c}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.StartRecords(mk(i, true))
		if i >= lag {
			s.FinishRecords(mk(i-lag, false))
		}
	}
	for i := max(0, b.N-lag); i < b.N; i++ {
		s.FinishRecords(mk(i, false))
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "calls/s")
	b.ReportMetric(float64(2*b.N)/sec, "start+finish_pairs/s")
}
