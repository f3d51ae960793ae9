package server

import (
	"context"
	"time"
)

// Records of dead nodes (cluster mode). Each node's store writes its
// records with its node ID (store.Options.NodeID = Config.NodeID): the node
// that owns a call writes all of that call's records. A node's start
// closes its own previous run's live records (Store.CloseLive); the
// reaper of a dead node closes that node's (reap, Store.CloseLiveOf); and
// sweepRecords, at a node's start and after every reap, closes those of
// any node that is dead but whose records no reaper closed (the reaper
// died, or the store was unwritable then).

// closeRecordsOf closes a dead node's live records; it returns how many.
// A failure is logged: the records stay live until a later sweep.
func (cn *clusterNode) closeRecordsOf(ctx context.Context, node string, seenStart int64) int {
	n, err := cn.s.store.CloseLiveOf(ctx, node, seenStart)
	if err != nil {
		cn.s.log.Warn("cluster: closing a dead node's live records; a later sweep retries", "node", node, "err", err)
		return 0
	}
	return n
}

// sweepRecords closes the live records of every other node that is not
// registered and whose store heartbeat is stale (older than DeadAfter plus
// a margin, by this node's clock: the nodes' clocks must agree within a
// second or so, as NTP keeps them). The records are listed before the
// registry is read: a node with live records had registered before
// writing them, so one missing from the registry afterwards was reaped,
// left or was fenced. A run newer than the one listed is never touched
// (CloseLiveOf's seenStart).
func (cn *clusterNode) sweepRecords(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*cn.dead)
	defer cancel()
	runs, err := cn.s.store.LiveNodes(ctx)
	if err != nil {
		cn.s.log.Warn("cluster: listing the nodes with live records", "err", err)
		return
	}
	if len(runs) == 0 {
		return
	}
	nodes, err := cn.state.Nodes.List(ctx)
	if err != nil {
		cn.s.log.Warn("cluster: listing the registered nodes", "err", err)
		return
	}
	registered := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		registered[n.ID] = true
	}
	stale := time.Now().Unix() - int64((cn.dead+2*time.Second+time.Second-1)/time.Second)
	for _, r := range runs {
		if r.Node == cn.info.ID || registered[r.Node] || r.LastAlive > stale {
			continue
		}
		if n := cn.closeRecordsOf(ctx, r.Node, r.Started); n > 0 {
			cn.s.log.Info("cluster: closed the live records of a dead node no reaper closed", "node", r.Node,
				"records", n, "lastAlive", time.Unix(r.LastAlive, 0).UTC().Format(time.RFC3339))
		}
	}
}
