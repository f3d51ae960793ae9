package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NodeStats is what a node reports with each heartbeat, for placement and
// operators.
type NodeStats struct {
	Calls   int     `json:"calls"`   // calls it owns
	Devices int     `json:"devices"` // WebSockets it holds
	Load    float64 `json:"load"`    // CPU use, 0..1 per core summed
}

// NodeInfo is a node's registry entry.
type NodeInfo struct {
	ID      string    `json:"id"`
	Signal  string    `json:"signal"` // signaling address (host:port or URL)
	Media   string    `json:"media"`  // media (UDP) address announced to clients
	Stats   NodeStats `json:"stats"`
	Started int64     `json:"started"` // unix ms
	// Registered is when this registration was made (unix ms, by the
	// node's clock): a node registering again, after it was declared
	// dead, writes a new one. A watcher that sees it change on a key it
	// knows missed the deletion in between (Watch: superseded changes may
	// be skipped) and reports NodeDown, then NodeUp.
	Registered int64 `json:"registered,omitempty"`
	Beat       int64 `json:"beat"` // unix ms of this heartbeat, by the node's clock (informative)
}

// Nodes is the node registry: one key per node, rewritten by the node's
// heartbeats with compare-and-set by revision.
//
// Failure detection needs no per-key TTL and no synchronized clocks: each
// watcher notes, by its own clock, when it last saw a node's key change.
// A node unchanged for DeadAfter is dead; the watchers that notice try to
// delete its key at the revision they saw, and the store lets exactly one
// succeed: that one is the reaper and runs the cleanup (its Reap hook).
// Every watcher then reports NodeDown once. A node whose key was deleted
// under it learns it on its next heartbeat (ErrFenced): it was declared
// dead and must drop its state and register again.
type Nodes struct {
	kv KV

	mu    sync.Mutex
	tried map[string][]registration // per node ID: attempts that failed on our side
}

// registration is an attempt to register that failed on our side (a
// timeout, a lost connection) and may have landed in the store all the
// same.
type registration struct {
	info NodeInfo
	val  []byte
}

// NewNodes uses the bucket kv.
func NewNodes(kv KV) *Nodes { return &Nodes{kv: kv, tried: make(map[string][]registration)} }

// Member is this node's registration.
type Member struct {
	nodes   *Nodes
	info    NodeInfo
	rev     uint64
	pending [][]byte // values written since the last confirmed one, landed or not
}

// Register adds the node. If a node with that ID is registered (still
// beating, or dead and not yet reaped), it fails with ErrTaken (wrapped).
func (n *Nodes) Register(ctx context.Context, info NodeInfo) (*Member, error) {
	now := time.Now().UnixMilli()
	if info.Started == 0 {
		info.Started = now
	}
	info.Registered, info.Beat = now, now
	val, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	rev, err := n.kv.Create(ctx, Token(info.ID), val)
	if errors.Is(err, ErrExists) || errors.Is(err, ErrRevision) {
		if m := n.adoptRegistration(ctx, info.ID); m != nil {
			return m, nil
		}
		return nil, fmt.Errorf("cluster: node ID %q is registered (alive, or dead and not yet reaped): %w", info.ID, ErrTaken)
	}
	if err != nil {
		n.mu.Lock()
		if len(n.tried[info.ID]) < 64 {
			n.tried[info.ID] = append(n.tried[info.ID], registration{info, val})
		}
		n.mu.Unlock()
		return nil, fmt.Errorf("cluster: register node %q: %w", info.ID, err)
	}
	n.forget(info.ID)
	return &Member{nodes: n, info: info, rev: rev}, nil
}

// adoptRegistration is the registration of id when the key holds the
// value of one of our own earlier attempts, one that failed on our side
// but reached the store (its reply was lost): the ID is ours, not taken.
// Without it a node whose registration timed out would find its own key
// and wait to be reaped, which no one does for a sole node. (Each attempt
// has its own beat time, so no one else writes the same bytes.)
func (n *Nodes) adoptRegistration(ctx context.Context, id string) *Member {
	n.mu.Lock()
	tried := n.tried[id]
	n.mu.Unlock()
	if len(tried) == 0 {
		return nil
	}
	vals := make([][]byte, len(tried))
	for i, r := range tried {
		vals[i] = r.val
	}
	i, rev := holdsOneOf(ctx, n.kv, Token(id), vals)
	if i < 0 {
		return nil
	}
	n.forget(id)
	return &Member{nodes: n, info: tried[i].info, rev: rev}
}

// holdsOneOf reads key and reports which of vals it holds (-1: none, or
// the read failed) and at what revision: a write of ours whose reply was
// lost, but which landed.
func holdsOneOf(ctx context.Context, kv KV, key string, vals [][]byte) (int, uint64) {
	e, err := kv.Get(ctx, key)
	if err != nil {
		return -1, 0
	}
	for i, v := range vals {
		if bytes.Equal(e.Value, v) {
			return i, e.Rev
		}
	}
	return -1, 0
}

// forget drops the failed attempts of id: it is registered.
func (n *Nodes) forget(id string) {
	n.mu.Lock()
	delete(n.tried, id)
	n.mu.Unlock()
}

// List returns the registered nodes (some may be dead and not yet reaped).
func (n *Nodes) List(ctx context.Context) ([]NodeInfo, error) {
	es, err := n.kv.List(ctx, "")
	if err != nil {
		return nil, err
	}
	ns := make([]NodeInfo, 0, len(es))
	for _, e := range es {
		var ni NodeInfo
		if err := json.Unmarshal(e.Value, &ni); err != nil {
			return nil, fmt.Errorf("cluster: bad node entry %q: %w", e.Key, err)
		}
		ns = append(ns, ni)
	}
	return ns, nil
}

// Info is the registration as last written.
func (m *Member) Info() NodeInfo { return m.info }

// Beat writes a heartbeat with stats: ErrFenced (wrapped) if the node was
// declared dead (its key deleted or rewritten by someone else).
func (m *Member) Beat(ctx context.Context, stats NodeStats) error {
	info := m.info
	info.Stats = stats
	info.Beat = time.Now().UnixMilli()
	val, err := json.Marshal(info)
	if err != nil {
		return err
	}
	key := Token(info.ID)
	rev, err := m.nodes.kv.Update(ctx, key, val, m.rev)
	if errors.Is(err, ErrRevision) && m.adopt(ctx) {
		// A previous beat timed out here but landed in the store.
		rev, err = m.nodes.kv.Update(ctx, key, val, m.rev)
	}
	if errors.Is(err, ErrRevision) {
		return fmt.Errorf("cluster: heartbeat of node %q: %w", info.ID, ErrFenced)
	}
	if err != nil {
		// It may still land: remember it (a few; a node whose beats all
		// time out for long is dead anyway).
		if len(m.pending) < 64 {
			m.pending = append(m.pending, val)
		}
		return err
	}
	m.info, m.rev, m.pending = info, rev, m.pending[:0]
	return nil
}

// adopt takes the key's current revision if it holds one of our writes
// that timed out on our side but reached the store: then we were not
// fenced, only slow. (Each value has its own beat time, so no one else
// writes the same bytes.)
func (m *Member) adopt(ctx context.Context) bool {
	i, rev := holdsOneOf(ctx, m.nodes.kv, Token(m.info.ID), m.pending)
	if i < 0 {
		return false
	}
	m.rev = rev
	return true
}

// Run beats every interval until ctx ends (then it returns nil) or the node
// is fenced (ErrFenced). Other errors (NATS unreachable) are retried at the
// next tick; stats may be nil.
func (m *Member) Run(ctx context.Context, every time.Duration, stats func() NodeStats) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var s NodeStats
		if stats != nil {
			s = stats()
		}
		bctx, cancel := context.WithTimeout(ctx, every)
		err := m.Beat(bctx, s)
		cancel()
		if errors.Is(err, ErrFenced) {
			return err
		}
	}
}

// Leave deregisters the node (a clean shutdown): watchers see NodeDown.
// ErrFenced (wrapped) if it had already been declared dead.
func (m *Member) Leave(ctx context.Context) error {
	err := m.nodes.kv.Delete(ctx, Token(m.info.ID), m.rev)
	if errors.Is(err, ErrRevision) && m.adopt(ctx) {
		err = m.nodes.kv.Delete(ctx, Token(m.info.ID), m.rev)
	}
	if errors.Is(err, ErrRevision) {
		return fmt.Errorf("cluster: leave node %q: %w", m.info.ID, ErrFenced)
	}
	return err
}

// NodeEventKind is NodeUp or NodeDown.
type NodeEventKind int

const (
	NodeUp NodeEventKind = iota + 1
	NodeDown
)

func (k NodeEventKind) String() string {
	switch k {
	case NodeUp:
		return "up"
	case NodeDown:
		return "down"
	}
	return fmt.Sprintf("NodeEventKind(%d)", int(k))
}

// NodeEvent is a node joining or dying (or leaving).
type NodeEvent struct {
	Kind NodeEventKind
	Node NodeInfo // as last seen
	// Reaped: this watcher declared the node dead and its Reap hook has
	// run. Exactly one watcher in the cluster reports Reaped per death.
	Reaped bool
}

// WatchConfig configures Nodes.Watch.
type WatchConfig struct {
	Self      string        // this node's ID: never declared dead by this watcher
	DeadAfter time.Duration // default 3 s
	Check     time.Duration // how often to look for dead nodes; default DeadAfter/6
	// Reap, if set, runs on the watcher that wins a node's death (before
	// its NodeDown): release the dead node's locks, rooms, presence and
	// calls. ctx ends with the watch.
	Reap func(ctx context.Context, dead NodeInfo)
	// Blind, if set, reports that this watcher cannot see the store now
	// (NATS: disconnected). Meanwhile it declares no one dead, and once it
	// sees again it counts every node's silence from then: its own outage
	// is not the others' death. (A delete issued while disconnected would
	// be buffered by the client and land at reconnection, reaping nodes
	// whose heartbeats could not land either.)
	Blind func() bool
}

type seenNode struct {
	info NodeInfo
	rev  uint64
	seen time.Time // by this watcher's clock
}

// Watch reports NodeUp for every registered node (those registered now
// first), and NodeDown once per death or leave, until ctx ends; then the
// channel is closed. Events are in order for each node; a node that
// registers again after its death gets a new NodeUp.
func (n *Nodes) Watch(ctx context.Context, cfg WatchConfig) (<-chan NodeEvent, error) {
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = 3 * time.Second
	}
	if cfg.Check <= 0 {
		cfg.Check = cfg.DeadAfter / 6
	}
	initial, ch, err := n.kv.Watch(ctx, "")
	if err != nil {
		return nil, err
	}
	w := &nodeWatch{n: n, cfg: cfg, ctx: ctx, ch: ch,
		out: make(chan NodeEvent, len(initial)+16), known: make(map[string]*seenNode)}
	w.start(initial)
	go w.run()
	return w.out, nil
}

// nodeWatch is one Nodes.Watch: the nodes it knows and when it last saw
// each beat. Its goroutine (run) owns it.
type nodeWatch struct {
	n     *Nodes
	cfg   WatchConfig
	ctx   context.Context
	ch    <-chan Entry // the bucket's changes
	out   chan NodeEvent
	known map[string]*seenNode
}

// start reports the nodes registered now; out has room for them.
func (w *nodeWatch) start(initial []Entry) {
	now := time.Now()
	for _, e := range initial {
		var ni NodeInfo
		if json.Unmarshal(e.Value, &ni) != nil {
			continue
		}
		w.known[e.Key] = &seenNode{info: ni, rev: e.Rev, seen: now}
		w.out <- NodeEvent{Kind: NodeUp, Node: ni}
	}
}

// run applies the bucket's changes and looks for dead nodes every
// cfg.Check until ctx ends or the bucket's watch closes.
func (w *nodeWatch) run() {
	defer close(w.out)
	t := time.NewTicker(w.cfg.Check)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			for range w.ch { // the KV watch closes on ctx
			}
			return
		case e, ok := <-w.ch:
			if !w.handle(e, ok) {
				return
			}
		case <-t.C:
			// Apply the heartbeats already queued first: a watcher
			// that was itself starved must not take its own delay
			// for another node's silence.
			if !w.drain() {
				return
			}
			w.check()
		}
	}
}

// send reports ev; false: the watch ended first.
func (w *nodeWatch) send(ev NodeEvent) bool {
	select {
	case w.out <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// handle applies one change of the bucket; false: the watch ended.
func (w *nodeWatch) handle(e Entry, ok bool) bool {
	if !ok {
		return false
	}
	sn := w.known[e.Key]
	if e.Deleted {
		if sn != nil {
			delete(w.known, e.Key)
			w.send(NodeEvent{Kind: NodeDown, Node: sn.info})
		}
		return true
	}
	var ni NodeInfo
	if json.Unmarshal(e.Value, &ni) != nil {
		return true
	}
	if sn != nil && ni.Registered != sn.info.Registered {
		// registered again: its deletion was superseded before this
		// watch was handed it
		delete(w.known, e.Key)
		w.send(NodeEvent{Kind: NodeDown, Node: sn.info})
		sn = nil
	}
	if sn == nil {
		w.known[e.Key] = &seenNode{info: ni, rev: e.Rev, seen: time.Now()}
		w.send(NodeEvent{Kind: NodeUp, Node: ni})
		return true
	}
	sn.info, sn.rev, sn.seen = ni, e.Rev, time.Now()
	return true
}

// drain applies the changes already queued; false: the watch ended.
func (w *nodeWatch) drain() bool {
	for {
		select {
		case e, ok := <-w.ch:
			if !w.handle(e, ok) {
				return false
			}
		default:
			return true
		}
	}
}

// check declares dead the nodes silent for cfg.DeadAfter, except this
// one. A blind watcher declares no one dead and counts every node's
// silence from now.
func (w *nodeWatch) check() {
	now := time.Now()
	if w.cfg.Blind != nil && w.cfg.Blind() {
		for _, sn := range w.known {
			sn.seen = now
		}
		return
	}
	for key, sn := range w.known {
		if sn.info.ID == w.cfg.Self || now.Sub(sn.seen) < w.cfg.DeadAfter {
			continue
		}
		w.reap(key, sn)
	}
}

// reap deletes a silent node's entry (at the revision this watcher saw)
// and, if it won the delete, runs the Reap hook and reports the death.
func (w *nodeWatch) reap(key string, sn *seenNode) {
	dctx, cancel := context.WithTimeout(w.ctx, w.cfg.DeadAfter)
	err := w.n.kv.Delete(dctx, key, sn.rev)
	cancel()
	if err != nil {
		// Lost the race (another watcher reaped it, and
		// the watch will say so) or it beat meanwhile;
		// or NATS is unreachable: try again next tick.
		return
	}
	delete(w.known, key)
	if w.cfg.Reap != nil {
		w.cfg.Reap(w.ctx, sn.info)
	}
	w.send(NodeEvent{Kind: NodeDown, Node: sn.info, Reaped: true})
}
