package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/protocol"
)

// TestGroupCommit: calls that start and end within the writer's linger
// are written as one row each (the finish replaces the start before the
// commit), and every record ends up finished on disk.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "termcall.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var log commitLog
	s.SetCommitObserver(log.observe)
	const calls = 20
	for i := range calls {
		r := fullRecord(fmt.Sprintf("call-%d", i), "alice")
		s.StartRecords([]Record{r})
		time.Sleep(2 * time.Millisecond) // the writer takes the start alone
		r.Live, r.EndReason, r.TotalTime = false, protocol.ReasonHangup, 1
		s.FinishRecords([]Record{r})
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	rows := log.rowsOK
	log.mu.Unlock()
	// Without merging it would be 2 rows a call; only a stall of the
	// writer longer than the linger between a start and its finish
	// splits a pair, and not all twenty.
	t.Logf("%d rows in the commits", rows)
	if rows >= 2*calls {
		t.Errorf("%d rows committed for %d calls started and ended at once; want starts merged into finishes", rows, calls)
	}
	got, err := s.AdminRecords(ctx, AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != calls {
		t.Fatalf("%d records on disk, want %d", len(got), calls)
	}
	for _, r := range got {
		if r.Live || r.EndReason != protocol.ReasonHangup {
			t.Errorf("record %s: live %v, end reason %v; want finished by hangup", r.CallID, r.Live, r.EndReason)
		}
	}
}
