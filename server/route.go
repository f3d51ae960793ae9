package server

// Calls across cluster nodes (issue 10). In cluster mode (Config.NATS) the
// node holding the caller's WebSocket owns the call: it runs its state
// machine, its timers and its SFU room, exactly the code of single-node
// mode. What changes:
//
//   - The busy locks, the room IDs and the call's ownership are claims in
//     NATS (cluster.Claims), taken before the handler runs (prepare, without
//     Server.mu) and released when a part or the call ends (finishRecords,
//     mediaEnd: through the outbox).
//   - A participant whose WebSocket another node holds is a proxy device on
//     the owner (device.node set, in user.remote): what the owner emits to
//     it goes to that node as a cluster.Delivery, where the holding node
//     emits it to the real device (its seq, backlog and resume).
//   - A request about a call this node does not own is forwarded to the
//     owner (Router.ToOwnerWith) with the device's identity; the owner runs
//     the same handler on its proxy and returns the reply and the events
//     for the requester's node in one message, so that the client sees the
//     reply before the events, as on one node.
//   - Node loss: the owner treats a dead node's devices as gone (their grace
//     ran out); a node ends, for its own devices, the calls a dead node
//     owned (endByServer).
//
// Nothing here runs while Server.mu is held that waits on another node:
// KV work and requests run in prepare/forward (unlocked), and what handlers
// produce for other nodes (deliveries, claim releases, presence deletes)
// goes to the outbox, which a goroutine works off in order.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
	"github.com/termcall/termcall/server/store"
)

// routeTimeout bounds one forwarded request or one KV step.
const routeTimeout = 5 * time.Second

// syncSubject carries users and groups changed on one node to the others.
const syncSubject = "termcall.sync"

// router is this node's part of calls across nodes. Its fields out,
// capture, tracked and proxies are guarded by Server.mu.
type router struct {
	s    *Server
	st   *cluster.State
	nc   *nats.Conn
	node string

	out     []outItem
	wake    chan struct{}
	capture *capture

	// tracked: local devices taking part in calls other nodes own.
	tracked map[*device]bool
	// proxies: devices of other nodes taking part in this node's calls.
	proxies map[*device]bool
	// down: nodes declared dead and not up again; what they still send
	// (a fenced node ending its calls) is ignored, their calls are over.
	down map[string]bool

	bmu  sync.Mutex
	cond *sync.Cond
	enq  uint64 // items queued (guarded by bmu, bumped with Server.mu held)
	done uint64 // items worked off
	dead bool   // crashed or closed: the outbox drops everything

	ops   opCounter
	stops []func()
	quit  chan struct{}
	wg    sync.WaitGroup
}

// outItem is one piece of work of the outbox: a KV step, or a delivery to
// a node.
type outItem struct {
	kv   func(ctx context.Context) error
	node string
	del  *cluster.Delivery
	sync *syncMsg
}

// capture collects, during a forwarded request, the deliveries to the
// requesting node.
type capture struct {
	node string
	dels []cluster.Delivery
}

// remoteCall is what a holding node knows of a call another node owns
// that one of its devices takes part in: enough to end it for the device
// if the owner dies.
type remoteCall struct {
	owner       string
	base        protocol.Event
	role        protocol.Role
	connected   bool
	connectedAt time.Time
}

// syncMsg is a user or group change broadcast to every node.
type syncMsg struct {
	From    string       `json:"from"`
	Users   []string     `json:"users,omitempty"`
	Group   *store.Group `json:"group,omitempty"`
	GroupID string       `json:"groupId,omitempty"` // with Group nil: deleted
}

// opCounter counts this node's cluster operations (for the benchmarks).
type opCounter struct {
	mu               sync.Mutex
	kv, req, publish uint64
}

func (o *opCounter) add(kv, req, pub uint64) {
	o.mu.Lock()
	o.kv += kv
	o.req += req
	o.publish += pub
	o.mu.Unlock()
}

// ClusterOps reports the cluster operations this node made so far: KV
// round trips (claims, releases, presence), node-to-node requests and
// published messages. Zero in single-node mode.
func (s *Server) ClusterOps() (kv, requests, published uint64) {
	if s.route == nil {
		return 0, 0, 0
	}
	o := &s.route.ops
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.kv, o.req, o.publish
}

func newRouter(s *Server, cn *clusterNode) (*router, error) {
	r := &router{s: s, st: cn.state, nc: cn.nc, node: cn.info.ID, wake: make(chan struct{}, 1),
		tracked: make(map[*device]bool), proxies: make(map[*device]bool), down: make(map[string]bool),
		quit: make(chan struct{})}
	r.cond = sync.NewCond(&r.bmu)
	stop, err := r.st.Router.ServeCallsWith(r.serveCall)
	if err != nil {
		return nil, err
	}
	r.stops = append(r.stops, stop)
	stop, err = r.st.Router.ServeEvents(func(dl cluster.Delivery) {
		s.mu.Lock()
		defer s.mu.Unlock()
		r.onDelivery(dl)
	})
	if err != nil {
		r.stopServing()
		return nil, err
	}
	r.stops = append(r.stops, stop)
	sub, err := cn.nc.Subscribe(syncSubject, func(m *nats.Msg) {
		var sm syncMsg
		if json.Unmarshal(m.Data, &sm) == nil && sm.From != r.node {
			r.onSync(sm)
		}
	})
	if err != nil {
		r.stopServing()
		return nil, err
	}
	r.stops = append(r.stops, func() { _ = sub.Unsubscribe() })
	r.wg.Add(1)
	go r.run()
	return r, nil
}

func (r *router) stopServing() {
	for _, f := range r.stops {
		f()
	}
	r.stops = nil
}

// close stops serving and the outbox (after working off what is queued).
func (r *router) close() {
	r.stopServing()
	close(r.quit)
	r.wg.Wait()
}

// crash stops everything at once, dropping what is queued (a test's
// simulated crash).
func (r *router) crash() {
	r.bmu.Lock()
	r.dead = true
	r.cond.Broadcast()
	r.bmu.Unlock()
	r.stopServing()
}

// push queues an outbox item. Called with Server.mu held.
func (r *router) push(it outItem) {
	r.out = append(r.out, it)
	r.bmu.Lock()
	r.enq++
	r.bmu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// flush waits until everything queued before it is worked off (bounded).
func (r *router) flush() {
	r.bmu.Lock()
	defer r.bmu.Unlock()
	target := r.enq
	deadline := time.Now().Add(routeTimeout)
	t := time.AfterFunc(routeTimeout, func() { r.bmu.Lock(); r.cond.Broadcast(); r.bmu.Unlock() })
	defer t.Stop()
	for r.done < target && !r.dead && time.Now().Before(deadline) {
		r.cond.Wait()
	}
}

// run works the outbox off: each batch (taken under Server.mu, so it holds
// whole handlers) does its KV steps first, at once, then sends its
// deliveries in order. So a device that hears its call ended finds its
// busy lock released.
func (r *router) run() {
	defer r.wg.Done()
	s := r.s
	for {
		select {
		case <-r.wake:
		case <-r.quit:
			s.mu.Lock()
			empty := len(r.out) == 0
			s.mu.Unlock()
			if empty {
				return
			}
		}
		s.mu.Lock()
		batch := r.out
		r.out = nil
		s.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		r.bmu.Lock()
		dead := r.dead
		r.bmu.Unlock()
		if !dead {
			r.work(batch)
		}
		r.bmu.Lock()
		r.done += uint64(len(batch))
		r.cond.Broadcast()
		r.bmu.Unlock()
	}
}

func (r *router) work(batch []outItem) {
	ctx, cancel := context.WithTimeout(context.Background(), routeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var kv uint64
	for _, it := range batch {
		if it.kv == nil {
			continue
		}
		kv++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := it.kv(ctx); err != nil && !errors.Is(err, cluster.ErrNotOwner) {
				r.s.log.Warn("cluster: releasing state", "err", err)
			}
		}()
	}
	wg.Wait()
	var pub uint64
	for _, it := range batch {
		switch {
		case it.del != nil:
			pub++
			if err := r.st.Router.ToNode(ctx, it.node, *it.del); err != nil {
				r.s.log.Debug("cluster: delivery lost", "node", it.node, "err", err)
			}
		case it.sync != nil:
			pub++
			if b, err := json.Marshal(it.sync); err == nil {
				_ = r.nc.Publish(syncSubject, b)
			}
		}
	}
	r.ops.add(kv, 0, pub)
}

// release gives a claim up, through the outbox. Called with Server.mu held.
func (r *router) release(c *cluster.Claims, cl *cluster.Claim) {
	if cl == nil {
		return
	}
	v := *cl
	r.push(outItem{kv: func(ctx context.Context) error { return c.Release(ctx, v) }})
}

// deliver sends a delivery to a node: into the reply of the forwarded
// request being handled if it comes from that node, else through the
// outbox. Called with Server.mu held.
func (r *router) deliver(node string, dl cluster.Delivery) {
	dl.From = r.node
	if r.capture != nil && r.capture.node == node {
		r.capture.dels = append(r.capture.dels, dl)
		return
	}
	r.push(outItem{node: node, del: &dl})
}

// emitRemote is emit for a proxy device.
func (r *router) emitRemote(d *device, ev protocol.Event) {
	r.deliver(d.node, cluster.Delivery{User: d.user.id, Devices: []string{d.id}, Event: ev})
}

// proxy finds or makes the owner-side stand-in of a remote device.
// Called with Server.mu held.
func (r *router) proxy(u *user, id, node string) *device {
	if d := u.remote[id]; d != nil && d.node == node {
		return d
	} else if d != nil {
		r.proxyGone(d, protocol.ReasonOffline) // it moved to another node
	}
	if u.remote == nil {
		u.remote = make(map[string]*device)
	}
	d := &device{id: id, user: u, node: node}
	u.remote[id] = d
	r.proxies[d] = true
	return d
}

// setRemote makes the user's proxies the devices presence lists on other
// nodes (devices taking part in a call are kept). Called with Server.mu
// held.
func (r *router) setRemote(u *user, devs []cluster.Device) {
	want := make(map[string]string)
	for _, d := range devs {
		if d.Node != r.node {
			want[d.Device] = d.Node
		}
	}
	for id, d := range u.remote {
		if node, ok := want[id]; ok && node == d.node {
			continue
		}
		if !r.inCall(d) {
			r.forget(d)
		}
	}
	for id, node := range want {
		r.proxy(u, id, node)
	}
}

func (r *router) inCall(d *device) bool {
	for _, c := range d.user.calls {
		if p := c.parts[d.user.id]; p != nil && p.dev == d && p.active() {
			return true
		}
	}
	return false
}

func (r *router) forget(d *device) {
	if r.s.sfu != nil {
		for id := range d.user.calls {
			r.s.sfu.RemovePeer(id, d.id)
		}
	}
	d.gone = true
	delete(d.user.remote, d.id)
	delete(r.proxies, d)
}

// proxyGone takes a remote device that left its node out of this node's
// calls, as a local device whose grace ran out. Called with Server.mu held.
func (r *router) proxyGone(d *device, reason protocol.EndReason) {
	if d.gone {
		return
	}
	d.gone = true // it hears nothing more from here: it is not reachable
	r.s.endDeviceCalls(d, reason, false)
	r.forget(d)
}

// track notes, on the holding node, an event of a call another node owns.
func (r *router) track(d *device, from string, ev protocol.Event) {
	if ev.CallID == "" || from == r.node {
		return
	}
	if ev.Event == protocol.EventCallEnd || ev.Event == protocol.EventCallCancelled {
		r.untrack(d, ev.CallID)
		return
	}
	rc := r.remoteCall(d, ev.CallID, from)
	rc.owner = from
	rc.base = protocol.Event{CallID: ev.CallID, RoomID: ev.RoomID, GroupID: ev.GroupID, Scene: ev.Scene, MediaType: ev.MediaType}
	switch ev.Event {
	case protocol.EventCallReceived:
		rc.role = protocol.RoleCalled
	case protocol.EventCallBegin:
		rc.role, rc.connected, rc.connectedAt = ev.Role, true, time.Now()
	}
}

// untrack forgets a remote call of d that ended.
func (r *router) untrack(d *device, callID string) {
	if d.remote == nil {
		return
	}
	delete(d.remote, callID)
	if len(d.remote) == 0 {
		delete(r.tracked, d)
	}
}

// remoteCall is d's note of a call owner runs, made on its first event.
func (r *router) remoteCall(d *device, callID, owner string) *remoteCall {
	if d.remote == nil {
		d.remote = make(map[string]*remoteCall)
	}
	rc := d.remote[callID]
	if rc == nil {
		rc = &remoteCall{owner: owner}
		d.remote[callID] = rc
		r.tracked[d] = true
	}
	return rc
}

// onDelivery handles a delivery sent to this node. Called with Server.mu
// held.
func (r *router) onDelivery(dl cluster.Delivery) {
	u := r.s.users[dl.User]
	if u == nil || r.down[dl.From] {
		return
	}
	switch dl.Kind {
	case "":
		r.deliverEvent(u, dl)
	case cluster.DeliverMedia:
		r.deliverMedia(u, dl)
	case cluster.DeliverKick:
		r.deliverKick(u, dl)
	case cluster.DeliverAttach:
		r.deliverAttach(u, dl)
	case cluster.DeliverGone:
		r.deliverGone(u, dl)
	}
}

// localDevices calls f for each of the delivery's devices that is on this
// node and not gone.
func localDevices(u *user, dl cluster.Delivery, f func(*device)) {
	for _, id := range dl.Devices {
		if d := u.devices[id]; d != nil && !d.gone {
			f(d)
		}
	}
}

// deliverEvent emits an event of another node's call to the devices.
func (r *router) deliverEvent(u *user, dl cluster.Delivery) {
	localDevices(u, dl, func(d *device) {
		r.track(d, dl.From, dl.Event)
		r.s.emit(d, dl.Event)
	})
}

// deliverMedia queues a media message to the connected devices.
func (r *router) deliverMedia(u *user, dl cluster.Delivery) {
	if dl.Media == nil {
		return
	}
	b, err := protocol.Encode(protocol.TypeMedia, 0, dl.Media)
	if err != nil {
		return
	}
	localDevices(u, dl, func(d *device) {
		if d.conn != nil {
			d.conn.queue(b)
		}
	})
}

// deliverKick logs the devices out: a login on another node displaced
// them.
func (r *router) deliverKick(u *user, dl cluster.Delivery) {
	localDevices(u, dl, r.s.kick)
}

// deliverAttach (on a call's owner) rings a device that just logged in
// on another node with the user's calls still ringing.
func (r *router) deliverAttach(u *user, dl cluster.Delivery) {
	s := r.s
	for _, id := range dl.Devices {
		d := r.proxy(u, id, dl.From)
		for _, c := range s.sortedUserCalls(u) {
			if p := c.parts[u.id]; p != nil && p.state == partRinging && !c.ended {
				s.emit(d, s.receivedEvent(c, p))
				s.mediaAdd(c, u, d)
			}
		}
	}
}

// deliverGone (on a call's owner) drops the proxies of devices that left
// the node that sent it.
func (r *router) deliverGone(u *user, dl cluster.Delivery) {
	for _, id := range dl.Devices {
		if d := u.remote[id]; d != nil && d.node == dl.From {
			r.proxyGone(d, dl.Reason)
		}
	}
}

// deviceLeft tells the owners of the remote calls a local device takes
// part in that it left, and removes its presence. Called with Server.mu
// held, before the device is dropped.
func (r *router) deviceLeft(d *device, reason protocol.EndReason) {
	owners := make(map[string]bool)
	now := time.Now()
	for _, id := range slices.Sorted(mapKeys(d.remote)) {
		rc := d.remote[id]
		owners[rc.owner] = true
		if rc.connected {
			// As leave on one node: the device hears its call end now;
			// the owner's own callEnd comes too late for it.
			ev := rc.base
			ev.Event, ev.Role, ev.UserID, ev.Reason = protocol.EventCallEnd, rc.role, d.user.id, reason
			ev.TotalTime = int64(now.Sub(rc.connectedAt) / time.Second)
			r.s.emit(d, ev)
		}
	}
	for _, o := range slices.Sorted(mapKeys(owners)) {
		r.deliver(o, cluster.Delivery{User: d.user.id, Devices: []string{d.id}, Kind: cluster.DeliverGone, Reason: reason})
	}
	d.remote = nil
	delete(r.tracked, d)
	r.presenceGone(d.user.id, d.id)
}

// presenceGone removes a device's presence and login slot, if this node
// still holds them. Called with Server.mu held.
func (r *router) presenceGone(userID, devID string) {
	dev := cluster.Device{User: userID, Device: devID, Node: r.node}
	r.push(outItem{kv: func(ctx context.Context) error {
		_, err := r.st.Presence.Delete(ctx, dev.User, dev.Device, dev.Node)
		if err == nil {
			_, err = r.st.Presence.ReleaseLogin(ctx, dev)
		}
		return err
	}})
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// loginPresence writes a new device's presence and kicks the devices it
// displaces on other nodes. Runs without Server.mu.
func (r *router) loginPresence(userID, devID string, multi bool) (ringing *cluster.Claim, err error) {
	r.flush() // this node's earlier presence deletes land first
	ctx, cancel := context.WithTimeout(context.Background(), routeTimeout)
	defer cancel()
	me := cluster.Device{User: userID, Device: devID, Node: r.node, Multi: multi}
	kicks := make(map[cluster.Device]bool)
	var kv uint64 = 2
	if !multi {
		kv += 2
		if err := r.takeLogin(ctx, me, kicks); err != nil {
			return nil, err
		}
	}
	if err := r.st.Presence.Put(ctx, me); err != nil {
		return nil, err
	}
	devs, err := r.st.Presence.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	ringing = r.ringingElsewhere(ctx, userID)
	r.displaced(me, devs, kicks)
	for k := range kicks {
		kv++
		_ = r.st.Router.ToNode(ctx, k.Node, cluster.Delivery{User: k.User, Devices: []string{k.Device}, Kind: cluster.DeliverKick, From: r.node})
	}
	r.ops.add(kv+1, 0, uint64(len(kicks)))
	return ringing, nil
}

// takeLogin takes the user's login slot for me (a login without
// multi-device mode); the device that held it on another node is kicked.
func (r *router) takeLogin(ctx context.Context, me cluster.Device, kicks map[cluster.Device]bool) error {
	prev, err := r.st.Presence.Takeover(ctx, me)
	if err != nil {
		return err
	}
	if prev != nil && prev.Node != r.node {
		kicks[cluster.Device{User: prev.User, Device: prev.Device, Node: prev.Node}] = true
	}
	return nil
}

// ringingElsewhere finds a call of another node that rings for the user
// (its busy lock names it): it rings on the new device too, once it is
// logged in.
func (r *router) ringingElsewhere(ctx context.Context, userID string) *cluster.Claim {
	if cl, err := r.st.Busy.Get(ctx, userID); err == nil && cl.Owner.Node != r.node {
		return &cl
	}
	return nil
}

// displaced adds to kicks the devices of other nodes that the login of
// me displaces: all but those in multi-device mode when me is too.
func (r *router) displaced(me cluster.Device, devs []cluster.Device, kicks map[cluster.Device]bool) {
	for _, o := range devs {
		if o.Node != r.node && o.Device != me.Device && !(me.Multi && o.Multi) {
			kicks[cluster.Device{User: o.User, Device: o.Device, Node: o.Node}] = true
		}
	}
}

// attach asks a call's owner to ring a device that just logged in.
// Called with Server.mu held.
func (r *router) attach(d *device, owner string) {
	r.deliver(owner, cluster.Delivery{User: d.user.id, Devices: []string{d.id}, Kind: cluster.DeliverAttach})
}

// prepared is the cluster state a handler needs, taken without Server.mu
// before it runs: claims (taken or refused) and presence.
type prepared struct {
	callID   string
	own      *cluster.Claim            // the call's ownership (new calls)
	room     *cluster.Claim            // the room (new calls)
	roomKey  protocol.RoomID           // the room claimed
	roomBusy bool                      // the room asked for is in use
	busy     map[string]*cluster.Claim // users whose busy lock we took
	taken    map[string]bool           // users whose busy lock someone else holds
	devices  map[string][]cluster.Device
	used     map[*cluster.Claim]bool
}

// use marks a claim as kept by the call (not released after the handler).
func (p *prepared) use(cl *cluster.Claim) *cluster.Claim {
	if cl != nil {
		p.used[cl] = true
	}
	return cl
}

// known reports whether presence lists devices of a user this node does
// not know (a user who first logged in on another node).
func (p *prepared) known(id string) bool { return p != nil && len(p.devices[id]) > 0 }

// isBusy reports whether someone else holds the user's busy lock.
func (p *prepared) isBusy(id string) bool { return p.taken[id] }

// releaseUnused gives up the claims the handler did not keep. Called with
// Server.mu held.
func (r *router) releaseUnused(p *prepared) {
	if p == nil {
		return
	}
	if p.own != nil && !p.used[p.own] {
		r.release(r.st.Calls, p.own)
	}
	if p.room != nil && !p.used[p.room] {
		r.release(r.st.Rooms, p.room)
	}
	for _, cl := range p.busy {
		if !p.used[cl] {
			r.release(r.st.Busy, cl)
		}
	}
}

// prepare takes, without Server.mu, the claims a request needs: for call
// and groupCall the call ID, its ownership, the room and every busy lock;
// for inviteUser the invitees' busy locks; for join the joiner's. It looks
// up the invitees' devices. Claims refused are noted, not errors: the
// handler answers them in its usual order.
func (r *router) prepare(userID string, m *protocol.Message, callID string) (*prepared, error) {
	r.flush() // our own releases land before we claim again
	ctx, cancel := context.WithTimeout(context.Background(), routeTimeout)
	defer cancel()
	p := &prepared{callID: callID, busy: make(map[string]*cluster.Claim), taken: make(map[string]bool),
		devices: make(map[string][]cluster.Device), used: make(map[*cluster.Claim]bool)}
	var side sideClaims
	invitees, self, err := r.requestClaims(ctx, p, m, &side)
	if err != nil {
		return nil, err
	}
	who := newClaimees(userID, invitees, self)
	out := r.claimUsers(ctx, p, who)
	side.wg.Wait()
	r.ops.add(p.kvOps(who, &side), 0, 0)
	err = p.collect(out, errors.Join(side.err[0], side.err[1]))
	if err != nil {
		r.releaseNow(p)
		return nil, err
	}
	return p, nil
}

// sideClaims are the claims of a new call taken alongside its busy
// locks: its ownership (err[0]) and its room (err[1]).
type sideClaims struct {
	wg  sync.WaitGroup
	err [2]error
}

// requestClaims decodes whose busy locks a request takes: the invitees,
// and self for the requester's own. For call and groupCall it starts the
// side claims.
func (r *router) requestClaims(ctx context.Context, p *prepared, m *protocol.Message, side *sideClaims) (invitees []string, self bool, err error) {
	switch m.Type {
	case protocol.TypeCall, protocol.TypeGroupCall:
		var req protocol.CallRequest
		if err := protocol.DecodeData(m.Data, &req); err != nil {
			return nil, false, err
		}
		r.claimCall(ctx, p, req.Params.RoomID, side)
		return req.UserIDs, true, nil
	case protocol.TypeInviteUser:
		var req protocol.InviteUserRequest
		if err := protocol.DecodeData(m.Data, &req); err != nil {
			return nil, false, err
		}
		return req.UserIDs, false, nil
	case protocol.TypeJoin, protocol.TypeJoinInGroupCall:
		return nil, true, nil
	}
	return nil, false, nil
}

// claimCall gives a new call its ID and starts the claims of its
// ownership and its room: they run at the same time as the busy locks,
// one round trip, not three.
func (r *router) claimCall(ctx context.Context, p *prepared, room protocol.RoomID, side *sideClaims) {
	p.callID = newID()
	side.wg.Add(1)
	go func() {
		defer side.wg.Done()
		cl, err := r.st.Calls.Claim(ctx, p.callID, cluster.Owner{Node: r.node})
		if err != nil {
			side.err[0] = err
			return
		}
		p.own = &cl
	}()
	if room.Validate(false) == nil {
		side.wg.Add(1)
		go func() {
			defer side.wg.Done()
			side.err[1] = r.claimRoom(ctx, p, room.Normalize())
		}()
	}
}

// claimees are the users whose busy locks a request takes, sorted and
// unique. self: the requester (user) is one of them; their own devices
// are not looked up.
type claimees struct {
	ids  []string
	user string
	self bool
}

func newClaimees(userID string, invitees []string, self bool) claimees {
	if len(invitees) > protocol.MaxInvitees {
		invitees = nil // the handler refuses the request
	}
	ids := slices.Clone(invitees)
	if self {
		ids = append(ids, userID)
	}
	slices.Sort(ids)
	return claimees{ids: slices.Compact(ids), user: userID, self: self}
}

// lookup reports whether prepare looks up the devices of id.
func (w claimees) lookup(id string) bool { return id != w.user || !w.self }

// userClaim is what prepare learned of one user: the busy lock taken, or
// busy when another call holds it, and the user's devices.
type userClaim struct {
	id   string
	cl   *cluster.Claim
	busy bool
	devs []cluster.Device
	err  error
}

// claimUsers takes the busy locks of who, all at once.
func (r *router) claimUsers(ctx context.Context, p *prepared, who claimees) []userClaim {
	out := make([]userClaim, len(who.ids))
	var wg sync.WaitGroup
	for i, id := range who.ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = r.claimUser(ctx, p, id, who.lookup(id))
		}()
	}
	wg.Wait()
	return out
}

// claimUser takes the busy lock of one user for p's call and, with
// devices, looks up the user's devices.
func (r *router) claimUser(ctx context.Context, p *prepared, id string, devices bool) userClaim {
	o := userClaim{id: id}
	cl, err := r.st.Busy.Claim(ctx, id, cluster.Owner{Node: r.node, Call: p.callID})
	var te *cluster.TakenError
	switch {
	case errors.As(err, &te):
		o.busy = te.Holder.Owner.Call != p.callID || te.Holder.Owner.Node != r.node
	case err != nil:
		o.err = err
	default:
		o.cl = &cl
	}
	if o.err == nil && devices {
		o.devs, o.err = r.st.Presence.List(ctx, id)
	}
	return o
}

// kvOps counts the KV operations a prepare made, for the ops metrics.
func (p *prepared) kvOps(who claimees, side *sideClaims) uint64 {
	kv := uint64(len(who.ids)) // busy claims
	for _, id := range who.ids {
		if who.lookup(id) {
			kv++ // presence lookups
		}
	}
	if p.own != nil || side.err[0] != nil {
		kv++
	}
	if p.room != nil || p.roomBusy || side.err[1] != nil {
		kv++
	}
	return kv
}

// collect notes the users' claims in p. It returns err or, without one,
// the first user's error.
func (p *prepared) collect(out []userClaim, err error) error {
	for _, o := range out {
		if o.cl != nil {
			p.busy[o.id] = o.cl
		}
		if o.busy {
			p.taken[o.id] = true
		}
		if o.devs != nil {
			p.devices[o.id] = o.devs
		}
		if o.err != nil && err == nil {
			err = o.err
		}
	}
	return err
}

// claimRoom claims the room asked for, or a random free one.
func (r *router) claimRoom(ctx context.Context, p *prepared, room protocol.RoomID) error {
	for i := 0; ; i++ {
		pick := room.IsZero()
		if pick {
			room = r.s.pickRoomUnlocked()
		}
		cl, err := r.st.Rooms.Claim(ctx, room.Key(), cluster.Owner{Node: r.node, Call: p.callID})
		if errors.Is(err, cluster.ErrTaken) {
			if pick && i < 10 {
				room = protocol.RoomID{}
				continue
			}
			p.roomBusy = true
			return nil
		}
		if err != nil {
			return err
		}
		p.room, p.roomKey = &cl, room
		return nil
	}
}

// releaseNow releases every claim of p through the outbox. Runs without
// Server.mu.
func (r *router) releaseNow(p *prepared) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.releaseUnused(p)
}

// clusterErr is the client's error for a cluster failure: a protocol
// error as is, an owner that does not answer 6007, anything else 6006.
func clusterErr(err error) *protocol.Error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, cluster.ErrNoNode) || errors.Is(err, context.DeadlineExceeded) {
		return protocol.Errorf(protocol.CodeOwnerUnreachable, "the node running this call does not answer: %w", err)
	}
	return protocol.Errorf(protocol.CodeClusterUnavailable, "%w", err)
}

// callIDOf reads the callId of a request about a call.
func callIDOf(m *protocol.Message) string {
	var req struct {
		CallID string `json:"callId"`
	}
	_ = json.Unmarshal(m.Data, &req)
	return req.CallID
}

// dispatch runs a request in cluster mode: locally (with its claims
// prepared first) if this node owns the call, or forwarded to the owner.
// It reports false for requests that run as on one node. Called with
// Server.mu held.
func (r *router) dispatch(c *conn, d *device, m *protocol.Message, h handler) (bool, error) {
	switch m.Type {
	case protocol.TypeCall, protocol.TypeGroupCall:
		return true, r.dispatchNewCall(c, d, m, h)
	case protocol.TypeAccept, protocol.TypeReject, protocol.TypeIgnore, protocol.TypeHangup,
		protocol.TypeSwitchMediaType, protocol.TypeMedia, protocol.TypeInviteUser, protocol.TypeJoin:
		return r.dispatchToCall(c, d, m, h)
	case protocol.TypeJoinInGroupCall:
		return r.dispatchToRoom(c, d, m, h)
	}
	return false, nil
}

// dispatchNewCall runs call and groupCall here, the node that will own the
// new call, with its claims prepared first.
func (r *router) dispatchNewCall(c *conn, d *device, m *protocol.Message, h handler) error {
	s := r.s
	if err := s.allowCall(d.user); err != nil {
		return err
	}
	// Refused at once, without claims, as on one node.
	if err := s.storeWritable(); err != nil {
		return err
	}
	if err := s.clusterReady(); err != nil {
		return err
	}
	r.runPrepared(c, d, m, h, "")
	return nil
}

// dispatchToCall forwards a request about a call another node owns. Of
// the requests about a call of this node, inviteUser and join run here
// with their claims prepared; the others run as on one node.
func (r *router) dispatchToCall(c *conn, d *device, m *protocol.Message, h handler) (bool, error) {
	s := r.s
	id := callIDOf(m)
	if protocol.ValidateCallID(id) != nil {
		return false, nil // the handler says what is wrong
	}
	// Inviting is limited as starting a call, wherever the call runs.
	if m.Type == protocol.TypeInviteUser {
		if err := s.allowCall(d.user); err != nil {
			return true, err
		}
	}
	if s.calls[id] == nil {
		r.forward(c, d, m, "", id)
		return true, nil
	}
	if m.Type == protocol.TypeInviteUser || m.Type == protocol.TypeJoin {
		r.runPrepared(c, d, m, h, id)
		return true, nil
	}
	return false, nil
}

// dispatchToRoom runs joinInGroupCall here if this node runs the room's
// call, or forwards it to the node that does.
func (r *router) dispatchToRoom(c *conn, d *device, m *protocol.Message, h handler) (bool, error) {
	var req protocol.JoinInGroupCallRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil || req.RoomID.Validate(true) != nil {
		return false, nil
	}
	if cl := r.s.rooms[req.RoomID.Key()]; cl != nil {
		r.runPrepared(c, d, m, h, cl.id)
		return true, nil
	}
	r.forward(c, d, m, req.RoomID.Key(), "")
	return true, nil
}

// runPrepared prepares a request's claims without Server.mu, then runs its
// handler. Called with Server.mu held (released meanwhile).
func (r *router) runPrepared(c *conn, d *device, m *protocol.Message, h handler, callID string) {
	s := r.s
	s.unlocked(func() {
		p, err := r.prepare(d.user.id, m, callID)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err == nil && (c.closed || c.dev != d || d.gone) {
			r.releaseUnused(p)
			return
		}
		if err != nil {
			s.refuse(c, m.ID, m.Type, clusterErr(err))
			return
		}
		s.prep = p
		err = h.fn(s, d, m)
		s.prep = nil
		if err != nil {
			s.refuse(c, m.ID, m.Type, err)
		}
		r.releaseUnused(p)
	})
}

// forward sends a request to the call's owner (found by callID, or by the
// room key for joinInGroupCall) and answers the client. Called with
// Server.mu held (released meanwhile).
func (r *router) forward(c *conn, d *device, m *protocol.Message, roomKey, callID string) {
	s := r.s
	req := cluster.CallRequest{CallID: callID, User: d.user.id, Device: d.id, Msg: *m}
	owner := "" // known from the call's events: no ownership lookup
	if rc := d.remote[callID]; rc != nil && callID != "" {
		owner = rc.owner
	}
	s.unlocked(func() {
		rep, noRoom, err := r.forwardTo(req, roomKey, owner)
		s.mu.Lock()
		defer s.mu.Unlock()
		if noRoom {
			r.handleNoRoom(c, d, m)
			return
		}
		r.answerForwarded(c, d, m, rep, err)
	})
}

// forwardTo sends req to the call's owner: the node running the room of
// roomKey, the owner known from the call's events, or else the owner
// looked up. noRoom reports that the room exists nowhere. Runs without
// Server.mu.
func (r *router) forwardTo(req cluster.CallRequest, roomKey, owner string) (rep cluster.CallReply, noRoom bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), routeTimeout)
	defer cancel()
	switch {
	case roomKey != "":
		var cl cluster.Claim
		cl, err = r.st.Rooms.Get(ctx, roomKey)
		if errors.Is(err, cluster.ErrNotFound) {
			r.ops.add(1, 0, 0)
			return rep, true, nil
		}
		if err == nil {
			req.CallID = cl.Owner.Call
			rep, err = r.st.Router.ToNodeCall(ctx, cl.Owner.Node, req)
		}
		r.ops.add(1, 1, 0)
	case owner != "":
		rep, err = r.st.Router.ToNodeCall(ctx, owner, req)
		r.ops.add(0, 1, 0)
	default:
		rep, err = r.st.Router.ToOwnerWith(ctx, req)
		r.ops.add(1, 1, 0)
	}
	return rep, false, err
}

// handleNoRoom runs joinInGroupCall for a room that exists nowhere: the
// local handler says so. Called with Server.mu held.
func (r *router) handleNoRoom(c *conn, d *device, m *protocol.Message) {
	if c.closed || c.dev != d {
		return
	}
	if err := handlers[m.Type].fn(r.s, d, m); err != nil {
		r.s.refuse(c, m.ID, m.Type, err)
	}
}

// answerForwarded answers the client with the owner's reply, unless the
// connection went meanwhile, and takes the deliveries that came with it.
// Called with Server.mu held.
func (r *router) answerForwarded(c *conn, d *device, m *protocol.Message, rep cluster.CallReply, err error) {
	s := r.s
	answer := !c.closed && c.dev == d
	switch {
	case err != nil:
		if answer {
			s.refuse(c, m.ID, m.Type, clusterErr(err))
		}
		return
	case rep.Error != nil:
		if answer {
			s.refuse(c, m.ID, m.Type, rep.Error)
		}
	case answer:
		var data any
		if len(rep.Data) > 0 {
			data = rep.Data
		}
		reply(c, m.ID, data)
	}
	for _, dl := range rep.Deliveries {
		r.onDelivery(dl)
	}
}

// serveCall handles, as the owner, a request another node forwarded: the
// same handler runs on the proxy of the requesting device.
func (r *router) serveCall(req cluster.CallRequest) (json.RawMessage, []cluster.Delivery, error) {
	s := r.s
	m := &req.Msg
	h, ok := handlers[m.Type]
	if !ok {
		return nil, nil, protocol.Errorf(protocol.CodeUnknownMessageType, "unknown message type %.40q", m.Type)
	}
	var p *prepared
	switch m.Type {
	case protocol.TypeInviteUser, protocol.TypeJoin, protocol.TypeJoinInGroupCall:
		var err error
		if p, err = r.prepare(req.User, m, req.CallID); err != nil {
			return nil, nil, clusterErr(err)
		}
	}
	s.mu.Lock()
	if protocol.ValidateUserID(req.User) != nil || req.From == "" {
		s.mu.Unlock()
		return nil, nil, protocol.Errorf(protocol.CodeInvalidArgument, "cluster: bad forwarded request")
	}
	pc, dels, err := r.runForwarded(req, m, h, p)
	s.mu.Unlock()
	r.flush() // releases and earlier events out before the reply
	if err != nil {
		return nil, dels, err
	}
	data, err := forwardedReply(pc)
	return data, dels, err
}

// runForwarded runs a forwarded request's handler on the proxy of the
// requesting device, with a connection of its own that collects the reply
// and deliveries captured for the requesting node. Called with Server.mu
// held.
func (r *router) runForwarded(req cluster.CallRequest, m *protocol.Message, h handler, p *prepared) (*conn, []cluster.Delivery, error) {
	s := r.s
	u := s.userLocked(req.User)
	d := r.proxy(u, req.Device, req.From)
	pc := &conn{wake: make(chan struct{}, 1), done: make(chan struct{})}
	d.conn = pc
	r.capture = &capture{node: req.From}
	s.prep = p
	s.frameAt = time.Now()
	err := h.fn(s, d, m)
	s.prep = nil
	dels := r.capture.dels
	r.capture = nil
	d.conn = nil
	r.releaseUnused(p)
	if !r.inCall(d) && len(d.user.calls) == 0 {
		r.forget(d)
	}
	return pc, dels, err
}

// forwardedReply is the data of the reply the handler queued on pc, or
// its error.
func forwardedReply(pc *conn) (json.RawMessage, error) {
	for _, f := range pc.pop() {
		if f.b == nil {
			continue
		}
		rm, derr := protocol.Decode(f.b)
		if derr != nil || rm.Type != protocol.TypeReply {
			continue
		}
		if rm.Error != nil {
			return nil, rm.Error
		}
		return rm.Data, nil
	}
	return nil, nil
}

// nodeDown ends what a dead node leaves behind here: its devices in this
// node's calls are gone (offline), and this node's devices in its calls
// are told the calls ended (endByServer).
func (r *router) nodeDown(node string) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	r.down[node] = true
	var ps []*device
	for d := range r.proxies {
		if d.node == node {
			ps = append(ps, d)
		}
	}
	slices.SortFunc(ps, compareDevices)
	for _, d := range ps {
		r.proxyGone(d, protocol.ReasonOffline)
	}
	r.endRemote(func(rc *remoteCall) bool { return rc.owner == node })
}

// nodeUp notes a node (back) in the cluster.
func (r *router) nodeUp(node string) {
	r.s.mu.Lock()
	delete(r.down, node)
	r.s.mu.Unlock()
}

// endRemote ends, for local devices, the remote calls that match (their
// owner died, or this node was fenced). Called with Server.mu held.
func (r *router) endRemote(match func(*remoteCall) bool) {
	s := r.s
	var ds []*device
	for d := range r.tracked {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, compareDevices)
	now := time.Now()
	for _, d := range ds {
		ids := slices.Sorted(mapKeys(d.remote))
		for _, id := range ids {
			rc := d.remote[id]
			if !match(rc) {
				continue
			}
			delete(d.remote, id)
			ev := rc.base
			ev.Role, ev.Reason = rc.role, protocol.ReasonEndByServer
			if rc.connected {
				ev.Event = protocol.EventCallEnd
				ev.TotalTime = int64(now.Sub(rc.connectedAt) / time.Second)
			} else {
				ev.Event = protocol.EventCallCancelled
				ev.UserID = d.user.id
			}
			s.emit(d, ev)
		}
		if len(d.remote) == 0 {
			delete(r.tracked, d)
		}
	}
}

func compareDevices(a, b *device) int {
	if a.user.id != b.user.id {
		if a.user.id < b.user.id {
			return -1
		}
		return 1
	}
	if a.id < b.id {
		return -1
	}
	if a.id > b.id {
		return 1
	}
	return 0
}

// fenced drops this node's calls and devices: the others declared it dead
// and released its state. Devices reconnect and log in again.
func (r *router) fenced() {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Warn("cluster: fenced: ending this node's calls and dropping its devices", "node", r.node, "calls", len(s.calls))
	for _, c := range s.sortedCalls() {
		s.endCall(c, protocol.ReasonEndByServer, "")
	}
	r.endRemote(func(*remoteCall) bool { return true })
	for d := range r.proxies {
		r.forget(d)
	}
	for _, u := range s.users {
		for _, d := range sortedDevices(u) {
			d.remote = nil
			s.dropDevice(d)
		}
	}
	clear(r.tracked)
}

// broadcast tells the other nodes about users or a group changed here.
// Called with Server.mu held.
func (r *router) broadcast(m syncMsg) {
	m.From = r.node
	r.push(outItem{sync: &m})
}

func (r *router) onSync(m syncMsg) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range m.Users {
		s.userLocked(id)
	}
	switch {
	case m.Group != nil:
		for _, id := range m.Group.Members {
			s.userLocked(id)
		}
		s.groups[m.Group.GroupID] = newGroup(*m.Group)
	case m.GroupID != "":
		delete(s.groups, m.GroupID)
	}
}

// --- hooks called from the state machine (no-ops in single-node mode) ---

// usersAdded broadcasts new users. Called with Server.mu held.
func (s *Server) usersAdded(ids []string) {
	if s.route != nil && len(ids) > 0 {
		s.route.broadcast(syncMsg{Users: ids})
	}
}

// groupChanged broadcasts a group's new state (deleted if gone). Called
// with Server.mu held.
func (s *Server) groupChanged(id string) {
	if s.route == nil {
		return
	}
	if g := s.groups[id]; g != nil {
		v := g.view()
		s.route.broadcast(syncMsg{Group: &v})
		return
	}
	s.route.broadcast(syncMsg{GroupID: id})
}

// SimulateCrash makes this node stop as if killed, for tests of node loss
// in one process: its heartbeat and watcher stop without leaving, it stops
// serving its NATS subjects and drops its NATS connection, its listener
// closes and every WebSocket is cut. Its memory is left as it was (Close
// still cleans up). The other nodes must find it dead by its silence.
// Single-node mode: only the listener and the WebSockets.
func (s *Server) SimulateCrash() {
	if cn := s.cluster; cn != nil {
		cn.cancel()
		cn.done.Wait()
		cn.mu.Lock()
		cn.member = nil
		cn.mu.Unlock()
		if s.route != nil {
			s.route.crash()
		}
		cn.nc.Close()
	}
	s.mu.Lock()
	h := s.http
	var conns []*conn
	for _, u := range s.users {
		for _, d := range u.devices {
			if d.conn != nil {
				conns = append(conns, d.conn)
			}
		}
	}
	s.mu.Unlock()
	if h != nil {
		_ = h.Close()
	}
	for _, c := range conns {
		c.shut(websocket.StatusGoingAway, "crash")
	}
}
