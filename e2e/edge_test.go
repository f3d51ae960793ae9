package e2e

import (
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
)

// TestGracefulShutdownEndsCalls: a graceful stop (what `termcall serve`
// does on SIGTERM: Server.Close) ends a connected call with endByServer on
// both sides, and after the restart the records are closed with
// endByServer and the connected time.
func TestGracefulShutdownEndsCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice")
	bob := e.login("bob")
	info := connect1v1(t, alice, bob)
	time.Sleep(1100 * time.Millisecond) // connected for more than a second
	e.stop()
	alice.expect(end(info, engine.RoleCaller, "", engine.ReasonEndByServer))
	bob.expect(end(info, engine.RoleCalled, "", engine.ReasonEndByServer))
	e.start()
	for _, c := range []*client{alice, bob} {
		var recs []engine.CallRecord
		var err error
		testutil.Poll(wait, func() bool { // reconnecting to the restarted server
			recs, err = c.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
			return err == nil
		})
		c.must("QueryRecentCalls", err)
		if len(recs) != 1 || recs[0].CallID != info.CallID || recs[0].EndReason != engine.ReasonEndByServer || recs[0].Live || recs[0].TotalTime < 1 {
			t.Errorf("%s's records after the graceful stop: %+v", c.id, recs)
		}
	}
}
