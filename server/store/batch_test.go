package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

// TestManyRowsOneCommit: a commit of many rows, starts and finishes
// mixed, some of them updating committed rows, writes each record.
func TestManyRowsOneCommit(t *testing.T) { forEachDB(t, testManyRowsOneCommit) }

func testManyRowsOneCommit(t *testing.T, d testDB) {
	ctx := context.Background()
	s, _ := openTemp(t, d)
	const n = 45 // 32 + 8 + 5
	var started, want []Record
	for i := range n {
		r := fullRecord(fmt.Sprintf("call-%02d", i), fmt.Sprintf("u%02d", i))
		r.BeginTime += int64(i)
		started = append(started, r)
	}
	// The first ten are committed live, then finished among the starts
	// of the others in one commit; the last three finish in it too.
	s.StartRecords(started[:10])
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var finished []Record
	for i, r := range started {
		if i < 10 || i >= n-3 {
			r.Live, r.EndReason, r.TotalTime = false, protocol.ReasonHangup, int64(i)
			finished = append(finished, r)
		}
		want = append(want, r)
	}
	s.StartRecords(started[10:])
	s.FinishRecords(finished)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byCall := func(a, b Record) int { return cmpString(a.CallID, b.CallID) }
	slices.SortFunc(got, byCall)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if st := s.Stats(); st.Written != uint64(n+len(finished)) || st.WriteErrors != 0 {
		t.Errorf("Stats() = %+v, want %d written, no errors", st, n+len(finished))
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestSQLiteRejectedRow: a row SQLite refuses in a batch (a NULL where
// the schema says NOT NULL; the store never binds one) is named by its
// index, and the batch without it commits.
func TestSQLiteRejectedRow(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, testDBs[0])
	db := s.db.(*sqliteDB)
	var recs []Record
	for i := range 40 {
		recs = append(recs, fullRecord(fmt.Sprintf("call-%02d", i), "bob"))
	}
	var rows []*pendingRow
	for _, a := range s.buildRows(recs, "test") {
		rows = append(rows, &pendingRow{args: a})
	}
	const bad = 35
	rows[bad].args[2] = nil
	err := db.writeBatch(ctx, rows, "", 0)
	var re *rowError
	if !errors.As(err, &re) || re.i != bad || db.isFault(re.err) {
		t.Fatalf("writeBatch() = %v, want the rejected row %d", err, bad)
	}
	rows = slices.Delete(rows, bad, bad+1)
	if err := db.writeBatch(ctx, rows, "", 0); err != nil {
		t.Fatalf("writeBatch() without the bad row = %v", err)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 39 {
		t.Errorf("%d records, want 39", len(got))
	}
}

// BenchmarkRecordsServerIDs is BenchmarkRecords/sqlite with call IDs as
// the server makes them (random hex, not in order) and the start and
// finish of each call in one commit, as in BenchmarkCallSetup: the rows
// land all over the table and its indexes.
func BenchmarkRecordsServerIDs(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b, testDBs[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var id [10]byte
		_, _ = rand.Read(id[:])
		r := fullRecord(hex.EncodeToString(id[:]), fmt.Sprintf("u%04d", i%1000))
		c := r
		c.UserID = fmt.Sprintf("v%04d", i%1000)
		s.StartRecords([]Record{r, c})
		r.Live, c.Live = false, false
		s.FinishRecords([]Record{r, c})
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
