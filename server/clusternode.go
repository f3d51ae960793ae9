package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
)

// clusterNode is this server's membership of a cluster (Config.NATS): the
// NATS connection, the cluster state, the registration with its heartbeat
// and the node watcher. The call state machine uses it through the router
// (route.go); this file makes the node visible to the others,
// reaps dead nodes' leftovers and drives readiness (a node that cannot
// heartbeat refuses new calls and logins with 6006).
type clusterNode struct {
	s     *Server
	nc    *nats.Conn
	back  *cluster.NATS
	state *cluster.State
	every time.Duration // heartbeat interval
	dead  time.Duration // DeadAfter of the watcher

	mu     sync.Mutex
	member *cluster.Member
	info   cluster.NodeInfo // what we register
	beat   error            // why the last heartbeat failed; nil: it worked
	live   map[string]bool  // nodes the watcher sees up (self included)

	failures atomic.Uint64
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// defaultNodeID is the host name: stable across restarts of one node, so
// that a restarted node clears its previous run's leftovers. Two nodes on
// one host need --node-id.
func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		return "node-" + hex.EncodeToString(b[:])
	}
	return h
}

// joinCluster dials NATS (bounded), opens the state, releases what a
// previous run of this node ID left, registers and starts the heartbeat and
// the watcher. Close stops them with leave.
func (s *Server) joinCluster(ctx context.Context) (*clusterNode, error) {
	cfg := s.cfg
	dctx, cancel := context.WithTimeout(ctx, cfg.ClusterDialTimeout)
	defer cancel()
	nc, back, st, err := openCluster(dctx, cfg)
	if err != nil {
		return nil, err
	}
	cn := &clusterNode{s: s, nc: nc, back: back, state: st, every: cfg.ClusterHeartbeat, dead: cfg.ClusterDeadAfter,
		live: make(map[string]bool)}
	cn.info = cluster.NodeInfo{ID: cfg.NodeID, Signal: cfg.ClusterAddr, Started: time.Now().UnixMilli()}
	if a := s.MediaAddr(); a != nil {
		cn.info.Media = a.String()
	}
	if err := cn.registerWait(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	if s.route, err = newRouter(s, cn); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: serve this node's subjects: %w", err)
	}
	cn.start()
	return cn, nil
}

// openCluster dials NATS and opens the cluster state on it.
func openCluster(ctx context.Context, cfg Config) (*nats.Conn, *cluster.NATS, *cluster.State, error) {
	nc, err := cluster.Dial(ctx, cfg.NATS, cfg.NodeID)
	if err != nil {
		return nil, nil, nil, err
	}
	back, err := cluster.NewNATS(nc, cluster.NATSOptions{Replicas: cfg.ClusterReplicas})
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	st, err := cluster.Open(ctx, back, cfg.NodeID)
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("cluster: open the state on NATS %s: %w", cfg.NATS, err)
	}
	return nc, back, st, nil
}

// registerWait registers this node. A node killed under this ID may still
// be registered: it is reaped DeadAfter after its last heartbeat. Wait
// that long, not longer.
func (cn *clusterNode) registerWait(ctx context.Context) error {
	cfg := cn.s.cfg
	rctx, rcancel := context.WithTimeout(ctx, cfg.ClusterDeadAfter+cfg.ClusterDeadAfter/2+cfg.ClusterDialTimeout)
	defer rcancel()
	var taken error // the last "registered" refusal
	for {
		err := cn.register(rctx)
		if err == nil {
			return nil
		}
		if rctx.Err() != nil && taken != nil {
			return taken // the wait ran out in an attempt: the ID is still taken
		}
		if !errors.Is(err, cluster.ErrTaken) || rctx.Err() != nil {
			return err
		}
		taken = err
		select {
		case <-rctx.Done():
			return err
		case <-time.After(cfg.ClusterDeadAfter / 6):
		}
	}
}

// start starts the heartbeat and the watcher; the watch starts again
// whenever the connection to NATS comes back.
func (cn *clusterNode) start() {
	wctx, wcancel := context.WithCancel(context.Background())
	cn.cancel = wcancel
	reconnected := make(chan struct{}, 1)
	cn.nc.SetReconnectHandler(func(*nats.Conn) {
		select {
		case reconnected <- struct{}{}:
		default:
		}
	})
	cn.done.Add(2)
	go cn.heartbeat(wctx)
	go cn.watch(wctx, reconnected)
}

// register releases this node ID's leftovers and registers it.
func (cn *clusterNode) register(ctx context.Context) error {
	r, err := cn.state.ReleaseNode(ctx, cn.info.ID)
	if err != nil {
		return fmt.Errorf("cluster: release node %q: %w", cn.info.ID, err)
	}
	if n := len(r.Calls) + len(r.Busy) + len(r.Rooms) + len(r.Devices); n > 0 {
		cn.s.log.Info("cluster: released what a previous run of this node left", "node", cn.info.ID,
			"calls", len(r.Calls), "busy", len(r.Busy), "rooms", len(r.Rooms), "devices", len(r.Devices))
	}
	m, err := cn.state.Nodes.Register(ctx, cn.info)
	if err != nil {
		return err
	}
	cn.mu.Lock()
	cn.member, cn.beat = m, nil
	cn.mu.Unlock()
	return nil
}

func (cn *clusterNode) stats() cluster.NodeStats {
	s := cn.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cluster.NodeStats{Calls: len(s.calls)}
	for _, u := range s.users {
		st.Devices += len(u.devices)
	}
	return st
}

// heartbeat beats every interval; a fenced node registers again.
func (cn *clusterNode) heartbeat(ctx context.Context) {
	defer cn.done.Done()
	t := time.NewTicker(cn.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := cn.beatOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		cn.noteBeat(err)
	}
}

// beatOnce beats within one interval, or registers again if the node was
// fenced, within DeadAfter: registering releases what the node left (a
// few scans of the state) and may take longer than a beat on a busy
// machine, and a fenced node has no beat to keep.
func (cn *clusterNode) beatOnce(ctx context.Context) error {
	cn.mu.Lock()
	m := cn.member
	cn.mu.Unlock()
	if m != nil {
		bctx, cancel := context.WithTimeout(ctx, cn.every)
		defer cancel()
		return m.Beat(bctx, cn.stats())
	}
	rctx, cancel := context.WithTimeout(ctx, max(cn.every, cn.dead))
	defer cancel()
	err := cn.register(rctx)
	if err == nil {
		cn.s.log.Info("cluster: registered again after being fenced", "node", cn.info.ID)
	}
	return err
}

// noteBeat records a heartbeat's outcome: a failure makes the node refuse
// new calls and logins until a beat works again; a fenced node registers
// again at the next tick and gives up its calls.
func (cn *clusterNode) noteBeat(err error) {
	cn.mu.Lock()
	was := cn.beat
	if err == nil {
		cn.beat = nil
	} else {
		cn.failures.Add(1)
		cn.beat = err
		if errors.Is(err, cluster.ErrFenced) {
			cn.member = nil // register again at the next tick
		}
	}
	cn.mu.Unlock()
	if errors.Is(err, cluster.ErrFenced) && cn.s.route != nil {
		cn.s.route.fenced()
	}
	switch {
	case err != nil && was == nil:
		cn.s.log.Warn("cluster: heartbeat failed: refusing new calls and logins", "node", cn.info.ID, "err", err)
	case err == nil && was != nil:
		cn.s.log.Info("cluster: heartbeat works again: ready", "node", cn.info.ID)
	}
}

// watch runs the registry watch and keeps the set of live nodes; its reap
// hook releases a dead node's state. The watch starts again whenever the
// connection to NATS comes back (and when it ends): a fresh watch counts
// every node's silence from now, so a NATS outage is not taken for the
// other nodes' deaths.
func (cn *clusterNode) watch(ctx context.Context, reconnected <-chan struct{}) {
	defer cn.done.Done()
	for ctx.Err() == nil {
		cn.watchOnce(ctx, reconnected)
		select {
		case <-ctx.Done():
			return
		case <-reconnected:
		case <-time.After(cn.every):
		}
	}
}

// watchOnce runs one registry watch until it ends or the connection to
// NATS comes back.
func (cn *clusterNode) watchOnce(ctx context.Context, reconnected <-chan struct{}) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := cn.state.Nodes.Watch(wctx, cluster.WatchConfig{Self: cn.info.ID, DeadAfter: cn.dead,
		Reap: cn.reap, Blind: func() bool { return cn.back.Ready() != nil }})
	if err != nil {
		return
	}
	cn.resync(initialNodes(ch))
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			cn.event(ev)
		case <-reconnected:
			cancel()
			for range ch {
			}
			return
		}
	}
}

// initialNodes takes the nodes registered when a watch starts: they come
// first, already queued.
func initialNodes(ch <-chan cluster.NodeEvent) map[string]cluster.NodeInfo {
	initial := make(map[string]cluster.NodeInfo)
	for n := len(ch); n > 0; n-- {
		if ev := <-ch; ev.Kind == cluster.NodeUp {
			initial[ev.Node.ID] = ev.Node
		}
	}
	return initial
}

// resync replaces the live set with a new watch's initial nodes, logging
// the differences.
func (cn *clusterNode) resync(now map[string]cluster.NodeInfo) {
	cn.mu.Lock()
	up, down := liveDiff(cn.live, now)
	clear(cn.live)
	for id := range now {
		cn.live[id] = true
	}
	n := len(cn.live)
	cn.mu.Unlock()
	for _, id := range up {
		cn.s.log.Info("cluster: node up", "node", id, "signal", now[id].Signal, "media", now[id].Media, "nodes", n)
		if id != cn.info.ID && cn.s.route != nil {
			cn.s.route.nodeUp(id)
		}
	}
	for _, id := range down {
		cn.s.log.Warn("cluster: node down", "node", id, "reaped", false, "nodes", n)
		if id != cn.info.ID && cn.s.route != nil {
			cn.s.route.nodeDown(id)
		}
	}
}

// liveDiff lists the nodes of now not in live (up) and those of live not
// in now (down).
func liveDiff(live map[string]bool, now map[string]cluster.NodeInfo) (up, down []string) {
	for id := range now {
		if !live[id] {
			up = append(up, id)
		}
	}
	for id := range live {
		if _, ok := now[id]; !ok {
			down = append(down, id)
		}
	}
	return up, down
}

func (cn *clusterNode) event(ev cluster.NodeEvent) {
	cn.mu.Lock()
	was := cn.live[ev.Node.ID]
	switch ev.Kind {
	case cluster.NodeUp:
		cn.live[ev.Node.ID] = true
	case cluster.NodeDown:
		delete(cn.live, ev.Node.ID)
	}
	n := len(cn.live)
	cn.mu.Unlock()
	switch {
	case ev.Kind == cluster.NodeUp && !was:
		cn.s.log.Info("cluster: node up", "node", ev.Node.ID, "signal", ev.Node.Signal, "media", ev.Node.Media, "nodes", n)
	case ev.Kind == cluster.NodeDown && was:
		cn.s.log.Warn("cluster: node down", "node", ev.Node.ID, "reaped", ev.Reaped, "nodes", n)
	}
	if ev.Node.ID != cn.info.ID && cn.s.route != nil {
		switch ev.Kind {
		case cluster.NodeDown:
			cn.s.route.nodeDown(ev.Node.ID)
		case cluster.NodeUp:
			cn.s.route.nodeUp(ev.Node.ID)
		}
	}
}

// reap runs on the one watcher that declares a node dead: it releases the
// node's state in NATS, then closes the node's live records in the store
// (endByServer, at its last heartbeat) and any other dead node's left
// live (sweepRecords).
func (cn *clusterNode) reap(ctx context.Context, dead cluster.NodeInfo) {
	rctx, cancel := context.WithTimeout(ctx, 2*cn.dead)
	defer cancel()
	r, err := cn.state.ReleaseNode(rctx, dead.ID)
	if err != nil {
		cn.s.log.Warn("cluster: releasing a dead node's state", "node", dead.ID, "err", err)
	}
	records := cn.closeRecordsOf(rctx, dead.ID, dead.Started)
	cn.s.log.Info("cluster: reaped a dead node", "node", dead.ID,
		"calls", len(r.Calls), "busy", len(r.Busy), "rooms", len(r.Rooms), "devices", len(r.Devices), "records", records)
	cn.sweepRecords(rctx)
}

// ready is nil while the node can take new calls and logins.
func (cn *clusterNode) ready() error {
	if cn == nil {
		return nil
	}
	if err := cn.back.Ready(); err != nil {
		return err
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.beat != nil {
		return fmt.Errorf("cluster: heartbeat failing: %w", cn.beat)
	}
	if cn.member == nil {
		return errors.New("cluster: node not registered")
	}
	return nil
}

// close stops the heartbeat and the watcher, deregisters (Leave) and
// closes the connection.
func (cn *clusterNode) close(ctx context.Context) {
	cn.cancel()
	cn.done.Wait()
	cn.mu.Lock()
	m := cn.member
	cn.mu.Unlock()
	if m != nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := m.Leave(lctx); err != nil {
			cn.s.log.Warn("cluster: leaving", "node", cn.info.ID, "err", err)
		}
		cancel()
	}
	_ = cn.back.Close()
	cn.nc.Close()
}

func (cn *clusterNode) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "termcall_cluster_nodes",
			Help: "Cluster nodes this node sees alive (itself included).",
		}, func() float64 {
			cn.mu.Lock()
			defer cn.mu.Unlock()
			return float64(len(cn.live))
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "termcall_cluster_heartbeat_failures_total",
			Help: "Heartbeats of this node that failed (NATS unreachable, or fenced).",
		}, func() float64 { return float64(cn.failures.Load()) }),
		// --- route: calls across nodes ---
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "termcall_cluster_kv_operations_total",
			Help: "NATS key-value operations of the call routing: claims, releases, presence.",
		}, func() float64 { k, _, _ := cn.s.ClusterOps(); return float64(k) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "termcall_cluster_forwarded_requests_total",
			Help: "Client requests this node forwarded to the node owning their call.",
		}, func() float64 { _, r, _ := cn.s.ClusterOps(); return float64(r) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "termcall_cluster_messages_published_total",
			Help: "Messages this node published to other nodes: events, media signals, kicks, user and group changes.",
		}, func() float64 { _, _, p := cn.s.ClusterOps(); return float64(p) }),
	}
}

// clusterReady refuses new calls and logins while the node is not a
// working cluster member (6006); nil in single-node mode.
func (s *Server) clusterReady() error {
	if err := s.cluster.ready(); err != nil {
		return protocol.Errorf(protocol.CodeClusterUnavailable, "%w", err)
	}
	return nil
}
