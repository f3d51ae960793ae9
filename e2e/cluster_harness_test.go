package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/server"
)

// cluster is several real servers in this process, each with its own
// port, UDP media port and node ID, on one embedded NATS server (JetStream)
// and one PostgreSQL database.
type cluster struct {
	t     *testing.T
	nats  *natstest.Server
	dsn   string
	nodes []*env
}

// The production heartbeat (1 s, each bounded by that) and DeadAfter (3 s):
// shorter ones are flaky with -race on a loaded 2-core machine, where a
// heartbeat that takes longer than its interval makes the node unready.
// The cluster tests do not call t.Parallel: each runs alone (three nodes,
// NATS and engines in one process), before the package's parallel tests.
const (
	clusterBeat = time.Second
	clusterDead = 3 * time.Second
)

func withCluster(natsURL, dsn, node string) envOpt {
	return func(c *server.Config) {
		c.NATS, c.Database, c.NodeID = natsURL, dsn, node
		c.ClusterHeartbeat, c.ClusterDeadAfter = clusterBeat, clusterDead
	}
}

// noCallLimits lifts the call rate and pending invitation limits.
func noCallLimits(c *server.Config) { c.CallRate, c.MaxPendingInvitations = -1, -1 }

// newCluster starts n nodes, n1..nN.
func newCluster(t *testing.T, n int, opts ...envOpt) *cluster {
	t.Helper()
	cl := &cluster{t: t, nats: natstest.Start(t), dsn: pgtest.NewDB(t)}
	for i := range n {
		o := append([]envOpt{withCluster(cl.nats.URL, cl.dsn, fmt.Sprintf("n%d", i+1))}, opts...)
		cl.nodes = append(cl.nodes, newEnv(t, o...))
	}
	return cl
}

// node is the i-th node (1-based, as its ID).
func (cl *cluster) node(i int) *env { return cl.nodes[i-1] }
