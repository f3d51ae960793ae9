package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
)

// Timings of the node tests: heartbeats every 100 ms, dead after 2 s
// (twenty missed beats, so a busy 2-core machine does not kill a live
// node: with 1 s, TestNodeDeath's 30 nodes under -race beside the other
// packages' tests saw a live node declared down in CI, "events about live
// C6-3: [up down reaped]").
const (
	beatEvery = 100 * time.Millisecond
	deadAfter = 2 * time.Second
	downBound = deadAfter + 10*time.Second // kill -> NodeDown, generous for CI
)

// collect reads node events into a list.
type collect struct {
	mu  sync.Mutex
	evs []cluster.NodeEvent
}

func (c *collect) run(ch <-chan cluster.NodeEvent, done chan<- struct{}) {
	for ev := range ch {
		c.mu.Lock()
		c.evs = append(c.evs, ev)
		c.mu.Unlock()
	}
	close(done)
}

// about returns the events about one node, as "up"/"down"/"down reaped".
func (c *collect) about(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ev := range c.evs {
		if ev.Node.ID != id {
			continue
		}
		s := ev.Kind.String()
		if ev.Reaped {
			s += " reaped"
		}
		out = append(out, s)
	}
	return out
}

// TestNodeRegistry: register, beat with stats, list, refuse a second
// registration of a live ID, leave (watchers see it down, not reaped).
func TestNodeRegistry(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")
		ma, err := a.Nodes.Register(ctx, cluster.NodeInfo{ID: "A", Signal: "127.0.0.1:7001", Media: "127.0.0.1:50001"})
		must(t, "register A", err)
		_, err = b.Nodes.Register(ctx, cluster.NodeInfo{ID: "A"})
		mustErr(t, "register A twice", err, cluster.ErrTaken)

		wctx, cancel := context.WithCancel(ctx)
		ch, err := a.Nodes.Watch(wctx, cluster.WatchConfig{Self: "A", DeadAfter: deadAfter})
		must(t, "watch", err)
		var c collect
		done := make(chan struct{})
		go c.run(ch, done)
		defer func() { cancel(); <-done }()

		mb, err := b.Nodes.Register(ctx, cluster.NodeInfo{ID: "B", Signal: "127.0.0.1:7002", Media: "127.0.0.1:50002"})
		must(t, "register B", err)
		must(t, "beat", mb.Beat(ctx, cluster.NodeStats{Calls: 3, Devices: 7, Load: 0.25}))
		ns, err := a.Nodes.List(ctx)
		must(t, "list", err)
		slices.SortFunc(ns, func(x, y cluster.NodeInfo) int { return cmpStr(x.ID, y.ID) })
		var ids []string
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		if diff := cmp.Diff([]string{"A", "B"}, ids); diff != "" {
			t.Fatalf("nodes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(cluster.NodeStats{Calls: 3, Devices: 7, Load: 0.25}, ns[1].Stats); diff != "" {
			t.Fatalf("B's stats (-want +got):\n%s", diff)
		}
		if ns[1].Media != "127.0.0.1:50002" || ns[1].Signal != "127.0.0.1:7002" {
			t.Fatalf("B's addresses: %+v", ns[1])
		}

		must(t, "leave", mb.Leave(ctx))
		testutil.Until(t, "B down", downBound, func() bool { return len(c.about("B")) == 2 })
		if diff := cmp.Diff([]string{"up", "down"}, c.about("B")); diff != "" {
			t.Fatalf("events about B (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"up"}, c.about("A")); diff != "" {
			t.Fatalf("events about A (-want +got):\n%s", diff)
		}
		must(t, "A leaves", ma.Leave(ctx))
	})
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestNodeFenced: a node that stopped beating is reaped; its next beat
// says it was declared dead, and it can register again (NodeUp again).
func TestNodeFenced(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")
		wctx, cancel := context.WithCancel(ctx)
		ch, err := a.Nodes.Watch(wctx, cluster.WatchConfig{Self: "A", DeadAfter: 300 * time.Millisecond})
		must(t, "watch", err)
		var c collect
		done := make(chan struct{})
		go c.run(ch, done)
		defer func() { cancel(); <-done }()

		mb, err := b.Nodes.Register(ctx, cluster.NodeInfo{ID: "B"})
		must(t, "register", err)
		testutil.Until(t, "B reaped", downBound, func() bool { return len(c.about("B")) == 2 })
		mustErr(t, "beat after death", mb.Beat(ctx, cluster.NodeStats{}), cluster.ErrFenced)
		mustErr(t, "run after death", mb.Run(ctx, 10*time.Millisecond, nil), cluster.ErrFenced)
		mustErr(t, "leave after death", mb.Leave(ctx), cluster.ErrFenced)

		mb2, err := b.Nodes.Register(ctx, cluster.NodeInfo{ID: "B"})
		must(t, "register again", err)
		testutil.Until(t, "B up again", downBound, func() bool { return len(c.about("B")) == 3 })
		must(t, "leave", mb2.Leave(ctx))
		testutil.Until(t, "B down again", downBound, func() bool { return len(c.about("B")) == 4 })
		if diff := cmp.Diff([]string{"up", "down reaped", "up", "down"}, c.about("B")); diff != "" {
			t.Fatalf("events about B (-want +got):\n%s", diff)
		}
	})
}

// TestNodeDeath: nodes A, B, C heartbeat; B holds a busy lock, a room, a
// call and a device; B is killed (stops beating; on NATS its connection is
// closed). A and C both watch: each sees B down exactly once within the
// bound, exactly one of them reaps it, and B's lock, room, call and device
// are gone while A's are untouched. 50 rounds, in 10 lanes of 5 (each lane
// its own cluster state).
func TestNodeDeath(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		const lanes, rounds = 10, 5
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		errs := make(chan error, lanes)
		for l := range lanes {
			lf := f.lane(t, l)
			na, nc := lf.node(), lf.node()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					nb, err := lf.tryNode() // B dies each round
					if err != nil {
						errs <- err
						return
					}
					d, err := deathRound(ctxT(t), lf, na, nb, nc, fmt.Sprintf("%d-%d", l, r))
					if err != nil {
						errs <- fmt.Errorf("lane %d round %d: %w", l, r, err)
						return
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		slices.Sort(lat)
		t.Logf("kill -> NodeDown on both watchers (dead after %v): min %v, median %v, max %v over %d deaths",
			deadAfter, lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))
	})
}

// openStates opens one cluster state per node, with the given ids.
func openStates(ctx context.Context, nodes []*node, ids []string) ([]*cluster.State, error) {
	var states []*cluster.State
	for i, n := range nodes {
		s, err := cluster.Open(ctx, n, ids[i])
		if err != nil {
			return nil, err
		}
		states = append(states, s)
	}
	return states, nil
}

// claimHoldings makes s's node hold a busy lock, a room, a call and a
// device of user.
func claimHoldings(ctx context.Context, s *cluster.State, user, room string) error {
	o := cluster.Owner{Node: s.Node, Call: "call-" + s.Node}
	if _, err := s.Busy.Claim(ctx, user+s.Node, o); err != nil {
		return err
	}
	if _, err := s.Rooms.Claim(ctx, room+s.Node, o); err != nil {
		return err
	}
	if _, err := s.Calls.Claim(ctx, o.Call, cluster.Owner{Node: s.Node}); err != nil {
		return err
	}
	return s.Presence.Put(ctx, cluster.Device{User: user, Device: "dev-" + s.Node, Node: s.Node})
}

// checkBDown checks that both watchers saw B up then down once, and that
// exactly one of them reaped it (reaps counts the Reap calls about B).
func checkBDown(cols *[2]collect, b string, reaps int32) error {
	got := [][]string{cols[0].about(b), cols[1].about(b)}
	nReaped := 0
	for _, g := range got {
		if len(g) != 2 || g[0] != "up" || (g[1] != "down" && g[1] != "down reaped") {
			return fmt.Errorf("events about B: %v, want up then one down", got)
		}
		if g[1] == "down reaped" {
			nReaped++
		}
	}
	if nReaped != 1 || reaps != 1 {
		return fmt.Errorf("B reaped by %d watchers (%d Reap calls), want exactly 1: %v", nReaped, reaps, got)
	}
	return nil
}

// checkOnlyUp checks that both watchers saw the live nodes up, and nothing
// more about them.
func checkOnlyUp(cols *[2]collect, live ...string) error {
	for i := range 2 {
		for _, id := range live {
			if g := cols[i].about(id); !slices.Equal(g, []string{"up"}) {
				return fmt.Errorf("watcher %d: events about live %s: %v, want [up]", i, id, g)
			}
		}
	}
	return nil
}

// checkHoldingsAfterReap checks, through A's state, that B's holdings are
// gone and A's stay.
func checkHoldingsAfterReap(ctx context.Context, sa, sb *cluster.State, user, room string) error {
	if _, err := sa.Busy.Get(ctx, user+sb.Node); !errors.Is(err, cluster.ErrNotFound) {
		return fmt.Errorf("B's busy lock after the reap: %w", err)
	}
	if _, err := sa.Rooms.Get(ctx, room+sb.Node); !errors.Is(err, cluster.ErrNotFound) {
		return fmt.Errorf("B's room after the reap: %w", err)
	}
	if _, err := sa.Calls.Get(ctx, "call-"+sb.Node); !errors.Is(err, cluster.ErrNotFound) {
		return fmt.Errorf("B's call after the reap: %w", err)
	}
	if _, err := sa.Busy.Get(ctx, user+sa.Node); err != nil {
		return fmt.Errorf("A's busy lock after B's reap: %w", err)
	}
	if _, err := sa.Calls.Get(ctx, "call-"+sa.Node); err != nil {
		return fmt.Errorf("A's call after B's reap: %w", err)
	}
	devs, err := sa.Presence.List(ctx, user)
	if err != nil {
		return err
	}
	if len(devs) != 1 || devs[0].Node != sa.Node {
		return fmt.Errorf("devices after B's reap: %v, want only A's", devs)
	}
	return nil
}

// deathWatch is two watchers of the nodes, each reaping the dead.
type deathWatch struct {
	reaps   atomic.Int32 // Reap calls about the node that is to die
	reapErr atomic.Value // error of a ReleaseNode
	cols    [2]collect
	dones   [2]chan struct{}
	cancel  context.CancelFunc
}

// watchDeath starts a watch on each of the two states; the Reap calls about
// victim are counted.
func watchDeath(ctx context.Context, watchers []*cluster.State, victim string) (*deathWatch, error) {
	w := &deathWatch{}
	wctx, stopWatch := context.WithCancel(ctx)
	w.cancel = stopWatch
	for i, s := range watchers {
		ch, err := s.Nodes.Watch(wctx, cluster.WatchConfig{
			Self: s.Node, DeadAfter: deadAfter, Check: 20 * time.Millisecond,
			Reap: func(ctx context.Context, dead cluster.NodeInfo) {
				if dead.ID == victim {
					// Only B's: on a starved machine a live node's
					// beats may lag past DeadAfter, and it is rightly
					// reaped (and fenced) too; that is not B's death.
					w.reaps.Add(1)
				}
				if _, err := s.ReleaseNode(ctx, dead.ID); err != nil {
					w.reapErr.Store(err)
				}
			},
		})
		if err != nil {
			stopWatch()
			for _, d := range w.dones[:i] {
				<-d
			}
			return nil, err
		}
		w.dones[i] = make(chan struct{})
		go w.cols[i].run(ch, w.dones[i])
	}
	return w, nil
}

// stop ends both watches and waits for their collectors.
func (w *deathWatch) stop() {
	w.cancel()
	<-w.dones[0]
	<-w.dones[1]
}

// awaitDown waits, polling every 2 ms so that the latency it times stays
// exact, until both watchers have seen victim up and down, or bound.
func (w *deathWatch) awaitDown(victim string, bound time.Time) error {
	for len(w.cols[0].about(victim)) < 2 || len(w.cols[1].about(victim)) < 2 {
		if time.Now().After(bound) {
			return fmt.Errorf("B not down on both watchers within %v: %v / %v", downBound, w.cols[0].about(victim), w.cols[1].about(victim))
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// registerAndBeat registers each state's node under its id and runs its
// heartbeat until its beatCtx ends, counted in beats.
func registerAndBeat(ctx context.Context, states []*cluster.State, ids []string, beatCtx []context.Context, beats *sync.WaitGroup) ([]*cluster.Member, error) {
	var members []*cluster.Member
	for i, s := range states {
		m, err := s.Nodes.Register(ctx, cluster.NodeInfo{ID: ids[i]})
		if err != nil {
			return nil, err
		}
		members = append(members, m)
		beats.Add(1)
		go func() {
			defer beats.Done()
			_ = m.Run(beatCtx[i], beatEvery, nil)
		}()
	}
	return members, nil
}

// deathRound runs one death and returns the time from the kill to both
// watchers' NodeDown. It reports failures as errors (it runs off the test
// goroutine).
func deathRound(ctx context.Context, f *fleet, na, nb, nc *node, round string) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ids := []string{"A" + round, "B" + round, "C" + round}
	states, err := openStates(ctx, []*node{na, nb, nc}, ids)
	if err != nil {
		return 0, err
	}
	sa, sb, sc := states[0], states[1], states[2]

	// Everyone registers and beats; B's beats stop at the kill.
	beatCtx := []context.Context{ctx, nil, ctx}
	bctx, killB := context.WithCancel(ctx)
	defer killB()
	beatCtx[1] = bctx
	var beats sync.WaitGroup
	defer func() { cancel(); beats.Wait() }()
	members, err := registerAndBeat(ctx, states, ids, beatCtx, &beats)
	if err != nil {
		return 0, err
	}

	// What each node holds.
	user, room := "u"+round, protocol.StrRoom("r"+round).Key()
	for _, s := range []*cluster.State{sa, sb} {
		if err := claimHoldings(ctx, s, user, room); err != nil {
			return 0, err
		}
	}

	// A and C watch, both able to reap.
	w, err := watchDeath(ctx, []*cluster.State{sa, sc}, ids[1])
	if err != nil {
		return 0, err
	}
	defer w.stop()

	killB()
	t0 := time.Now()
	nb.kill()
	if err := w.awaitDown(ids[1], time.Now().Add(downBound)); err != nil {
		return 0, err
	}
	took := time.Since(t0)
	// B's last beat was up to a beat interval (more on a busy machine)
	// before the kill: only catch a death declared far too early.
	if took < deadAfter/2 {
		return 0, fmt.Errorf("B declared dead %v after the kill, long before DeadAfter %v", took, deadAfter)
	}
	// Give a duplicate every chance to show up.
	time.Sleep(100 * time.Millisecond)
	w.stop()

	if err := checkBDown(&w.cols, ids[1], w.reaps.Load()); err != nil {
		return 0, err
	}
	if err, _ := w.reapErr.Load().(error); err != nil {
		return 0, fmt.Errorf("reap: %w", err)
	}
	if err := checkOnlyUp(&w.cols, ids[0], ids[2]); err != nil {
		return 0, err
	}

	// B's holdings are gone; A's stay.
	if err := checkHoldingsAfterReap(ctx, sa, sb, user, room); err != nil {
		return 0, err
	}
	// B's heartbeat loop has stopped; its registration is fenced.
	if f.kind == "memory" {
		if err := members[1].Beat(ctx, cluster.NodeStats{}); !errors.Is(err, cluster.ErrFenced) {
			return 0, fmt.Errorf("B's beat after its death: %w, want ErrFenced", err)
		}
	}
	// Clean up A's holdings and leave, for the lane's next round.
	if _, err := sa.ReleaseNode(ctx, sa.Node); err != nil {
		return 0, err
	}
	cancel()
	beats.Wait()
	return took, leaveLive(members, ids)
}

// leaveLive has A and C (members 0 and 2) leave the registry.
func leaveLive(members []*cluster.Member, ids []string) error {
	for _, i := range []int{0, 2} {
		if err := members[i].Leave(context.Background()); err != nil {
			return fmt.Errorf("leave %s: %w", ids[i], err)
		}
	}
	return nil
}

// lossyKV is a bucket whose next n updates (lose) or creates
// (loseCreate) reach the store but report a timeout, as a heartbeat or a
// registration whose reply was lost.
type lossyKV struct {
	cluster.KV
	lose, loseCreate atomic.Int32
}

func (l *lossyKV) Create(ctx context.Context, key string, val []byte) (uint64, error) {
	r, err := l.KV.Create(ctx, key, val)
	if err == nil && l.loseCreate.Add(-1) >= 0 {
		return 0, errLost
	}
	return r, err
}

var errLost = errors.New("reply lost (simulated timeout)")

func (l *lossyKV) Update(ctx context.Context, key string, val []byte, rev uint64) (uint64, error) {
	r, err := l.KV.Update(ctx, key, val, rev)
	if err == nil && l.lose.Add(-1) >= 0 {
		return 0, errLost
	}
	return r, err
}

// lossyBucket is the nodes bucket on a node of f, and a lossy view of it.
func lossyBucket(ctx context.Context, t *testing.T, f *fleet) (cluster.KV, *lossyKV) {
	t.Helper()
	kv, err := f.node().Bucket(ctx, cluster.BucketNodes)
	must(t, "bucket", err)
	return kv, &lossyKV{KV: kv}
}

// TestBeatLostReplies: heartbeats whose replies were lost (they landed)
// do not fence the node; a real takeover still does.
func TestBeatLostReplies(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		kv, lossy := lossyBucket(ctx, t, f)
		m, err := cluster.NewNodes(lossy).Register(ctx, cluster.NodeInfo{ID: "A"})
		must(t, "register", err)
		lossy.lose.Store(3)
		for i := range 3 {
			mustErr(t, fmt.Sprintf("lost beat %d", i), m.Beat(ctx, cluster.NodeStats{Calls: i}), errLost)
			time.Sleep(2 * time.Millisecond) // distinct beat times
		}
		must(t, "beat after lost replies", m.Beat(ctx, cluster.NodeStats{Calls: 9}))
		ns, err := cluster.NewNodes(kv).List(ctx)
		must(t, "list", err)
		if len(ns) != 1 || ns[0].Stats.Calls != 9 {
			t.Fatalf("nodes %+v, want A with 9 calls", ns)
		}
		// Someone else rewrites A's key (another process took the ID
		// after a reap): A is fenced.
		_, err = kv.Put(ctx, cluster.Token("A"), []byte(`{"id":"A"}`))
		must(t, "put", err)
		mustErr(t, "beat after takeover", m.Beat(ctx, cluster.NodeStats{}), cluster.ErrFenced)
	})
}

// TestRegisterLostReply: a registration whose reply was lost (it landed)
// is the node's own on the next try, not a taken ID, and its member
// beats; an ID another process registered stays taken.
func TestRegisterLostReply(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		kv, lossy := lossyBucket(ctx, t, f)
		nodes := cluster.NewNodes(lossy)
		lossy.loseCreate.Store(1)
		_, err := nodes.Register(ctx, cluster.NodeInfo{ID: "A", Signal: "127.0.0.1:7001"})
		mustErr(t, "register, reply lost", err, errLost)
		time.Sleep(2 * time.Millisecond) // distinct beat times
		// The key is ours from the first try: adopted, though this try's
		// own create is refused; the member's beats land.
		m, err := nodes.Register(ctx, cluster.NodeInfo{ID: "A", Signal: "127.0.0.1:7001"})
		must(t, "register again", err)
		must(t, "A beats", m.Beat(ctx, cluster.NodeStats{Calls: 7}))
		mb, err := nodes.Register(ctx, cluster.NodeInfo{ID: "B"})
		must(t, "register B", err)
		must(t, "B beats", mb.Beat(ctx, cluster.NodeStats{Calls: 1}))

		// Another process (its own registry) finds A taken.
		ma, err := cluster.NewNodes(kv).Register(ctx, cluster.NodeInfo{ID: "A"})
		mustErr(t, "another process registers A", err, cluster.ErrTaken)
		if ma != nil {
			t.Fatal("a member for a taken ID")
		}
		ns, err := cluster.NewNodes(kv).List(ctx)
		must(t, "list", err)
		if len(ns) != 2 || ns[0].Stats.Calls+ns[1].Stats.Calls != 8 {
			t.Fatalf("nodes %+v, want A with 7 calls and B with 1", ns)
		}
	})
}

// TestWatchBlind: a blind watcher (its own store connection is down)
// declares no one dead however long it stays blind; once it sees again, a
// node's silence counts from then.
func TestWatchBlind(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")
		var blind atomic.Bool
		blind.Store(true)
		dead := 300 * time.Millisecond
		wctx, cancel := context.WithCancel(ctx)
		ch, err := a.Nodes.Watch(wctx, cluster.WatchConfig{Self: "A", DeadAfter: dead, Blind: blind.Load})
		must(t, "watch", err)
		var c collect
		done := make(chan struct{})
		go c.run(ch, done)
		defer func() { cancel(); <-done }()

		_, err = b.Nodes.Register(ctx, cluster.NodeInfo{ID: "B"}) // never beats
		must(t, "register", err)
		testutil.Until(t, "B up", downBound, func() bool { return len(c.about("B")) == 1 })
		time.Sleep(3 * dead)
		if got := c.about("B"); !cmp.Equal(got, []string{"up"}) {
			t.Fatalf("events about B while blind: %v, want [up]", got)
		}
		t0 := time.Now()
		blind.Store(false)
		testutil.Until(t, "B reaped after sight is back", downBound, func() bool { return len(c.about("B")) == 2 })
		if d := time.Since(t0); d < dead-dead/6 {
			t.Errorf("B reaped %v after sight came back; its silence must count from then (dead after %v)", d, dead)
		}
		if diff := cmp.Diff([]string{"up", "down reaped"}, c.about("B")); diff != "" {
			t.Fatalf("events about B (-want +got):\n%s", diff)
		}
	})
}

// TestWatchDeletionSkipped: a node's key deleted and registered again,
// where the watch was handed only the new registration (KV.Watch may skip
// a change that a newer one replaced: on NATS with a busy server), still
// gives NodeDown and then NodeUp; a heartbeat does not.
func TestWatchDeletionSkipped(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		kv, err := f.node().Bucket(ctx, cluster.BucketNodes)
		must(t, "bucket", err)
		nodes := cluster.NewNodes(kv)
		wctx, cancel := context.WithCancel(ctx)
		ch, err := nodes.Watch(wctx, cluster.WatchConfig{Self: "A", DeadAfter: time.Minute})
		must(t, "watch", err)
		var c collect
		done := make(chan struct{})
		go c.run(ch, done)
		defer func() { cancel(); <-done }()

		m, err := nodes.Register(ctx, cluster.NodeInfo{ID: "B", Signal: "127.0.0.1:7002"})
		must(t, "register B", err)
		must(t, "B beats", m.Beat(ctx, cluster.NodeStats{Calls: 1}))
		testutil.Until(t, "B up", downBound, func() bool { return len(c.about("B")) == 1 })

		// What the watch is handed when B's deletion and its new
		// registration came too close: the new registration over the old.
		e, err := kv.Get(ctx, cluster.Token("B"))
		must(t, "get B", err)
		again := m.Info()
		again.Registered++
		val, err := json.Marshal(again)
		must(t, "marshal", err)
		_, err = kv.Update(ctx, cluster.Token("B"), val, e.Rev)
		must(t, "B registered again", err)
		testutil.Until(t, "B down and up", downBound, func() bool { return len(c.about("B")) == 3 })
		time.Sleep(100 * time.Millisecond) // nothing more comes
		if diff := cmp.Diff([]string{"up", "down", "up"}, c.about("B")); diff != "" {
			t.Fatalf("events about B (-want +got):\n%s", diff)
		}
	})
}
