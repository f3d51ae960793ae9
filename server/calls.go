package server

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
	"time"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
)

// partState is where one user stands in one call.
type partState int

const (
	partCalling   partState = iota + 1 // the caller, before anyone answered
	partRinging                        // an invitee that has not answered
	partConnected                      // in the call
	partLeft                           // was connected, left
	partDone                           // never connected: rejected, busy, no answer, cancelled
)

// part is one user's participation in a call. Guarded by Server.mu.
type part struct {
	user        *user
	role        protocol.Role
	state       partState
	dev         *device // the device taking part; nil while ringing on all devices
	inviter     string
	timer       *time.Timer
	connectedAt time.Time
	leftAt      time.Time
	connected   bool // ever connected
	reason      protocol.EndReason
	audio       *bool // microphone state the device reported; nil = not yet
	video       *bool
	busyClaim   *cluster.Claim // cluster mode: the user's busy lock, held for this part
}

func (p *part) active() bool {
	return p.state == partCalling || p.state == partRinging || p.state == partConnected
}

func (p *part) stopTimer() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// call is one call. Guarded by Server.mu.
type call struct {
	id        string
	room      protocol.RoomID
	groupID   string
	scene     protocol.Scene
	mediaType protocol.MediaType
	inviter   string
	userData  string
	push      *protocol.OfflinePushInfo
	created   time.Time
	began     time.Time
	parts     map[string]*part
	order     []*part
	ended     bool
	// Cluster mode: the call's ownership and room claims, released at
	// its end.
	ownClaim, roomClaim *cluster.Claim
}

func (c *call) add(p *part) {
	if old := c.parts[p.user.id]; old != nil {
		i := slices.Index(c.order, old)
		c.order = slices.Delete(c.order, i, i+1)
	}
	c.parts[p.user.id] = p
	c.order = append(c.order, p)
}

func (c *call) count() (connected, pending, active int) {
	for _, p := range c.order {
		switch p.state {
		case partConnected:
			connected++
		case partRinging:
			pending++
		}
		if p.active() {
			active++
		}
	}
	return
}

// invitees lists everyone invited to the call, in invitation order.
func (c *call) invitees() []string {
	var ids []string
	for _, p := range c.order {
		if p.role == protocol.RoleCalled && p.inviter != "" {
			ids = append(ids, p.user.id)
		}
	}
	return ids
}

func (c *call) base(name string) protocol.Event {
	room := c.room
	return protocol.Event{Event: name, CallID: c.id, RoomID: &room, GroupID: c.groupID, Scene: c.scene, MediaType: c.mediaType}
}

// toPart sends an event to the device taking part, or to every device of
// the user while the invitation rings on all of them.
func (s *Server) toPart(p *part, ev protocol.Event) {
	if p.dev != nil {
		s.emit(p.dev, ev)
		return
	}
	for _, d := range callDevices(p.user) {
		s.emit(d, ev)
	}
}

// callDevices lists the devices a call reaches of a user, sorted by ID:
// its devices on this node and, in cluster mode, the proxies of its
// devices on other nodes.
func callDevices(u *user) []*device {
	ds := sortedDevices(u)
	if len(u.remote) == 0 {
		return ds
	}
	for _, d := range u.remote {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, compareDevices)
	return ds
}

// toOthers sends an event to every active participant but skip.
func (s *Server) toOthers(c *call, skip *part, ev protocol.Event) {
	for _, q := range c.order {
		if q != skip && q.active() {
			s.toPart(q, ev)
		}
	}
}

func (s *Server) receivedEvent(c *call, p *part) protocol.Event {
	ev := c.base(protocol.EventCallReceived)
	// --- kit: match the reference: the caller is the call's caller, also
	// for someone added by inviteUser; who invited is InviterID ---
	ev.CallerID = c.inviter
	if p.inviter != c.inviter {
		ev.InviterID = p.inviter
	}
	ev.CalleeIDList = c.invitees()
	ev.UserData = c.userData
	ev.Role = protocol.RoleCalled
	if inv := s.users[c.inviter]; inv != nil {
		ev.Caller = inv.info()
	}
	return ev
}

func (s *Server) callState(c *call, p *part) protocol.CallState {
	st := protocol.CallState{
		CallID: c.id, RoomID: c.room, GroupID: c.groupID, Scene: c.scene, MediaType: c.mediaType,
		Inviter: c.inviter, UserData: c.userData,
	}
	if p != nil {
		st.Role = p.role
		st.Status = partStatus(p)
	}
	for _, q := range c.order {
		if q.active() {
			st.Participants = append(st.Participants, protocol.Participant{UserID: q.user.id, Role: q.role, Status: partStatus(q)})
		}
	}
	return st
}

func partStatus(p *part) protocol.Status {
	switch p.state {
	case partCalling, partRinging:
		return protocol.StatusWaiting
	case partConnected:
		return protocol.StatusAccept
	}
	return protocol.StatusNone
}

// callStates lists the calls a device takes part in or is rung by.
func (s *Server) callStates(d *device) []protocol.CallState {
	out := []protocol.CallState{}
	for _, c := range s.sortedUserCalls(d.user) {
		p := c.parts[d.user.id]
		if p == nil || !p.active() || (p.dev != nil && p.dev != d) {
			continue
		}
		out = append(out, s.callState(c, p))
	}
	return out
}

func (s *Server) sortedUserCalls(u *user) []*call {
	cs := make([]*call, 0, len(u.calls))
	for _, c := range u.calls {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *call) int { return a.created.Compare(b.created) })
	return cs
}

func (s *Server) sortedCalls() []*call {
	cs := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *call) int { return a.created.Compare(b.created) })
	return cs
}

// pickRoomUnlocked picks a random integer room (cluster mode: its claim
// says whether it is free).
func (s *Server) pickRoomUnlocked() protocol.RoomID {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		if n := binary.BigEndian.Uint32(b[:]) & 0x7fffffff; n != 0 {
			return protocol.IntRoom(n)
		}
	}
}

// pickRoom finds a free integer room.
func (s *Server) pickRoom() protocol.RoomID {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		n := binary.BigEndian.Uint32(b[:]) & 0x7fffffff
		if n == 0 {
			continue
		}
		r := protocol.IntRoom(n)
		if s.rooms[r.Key()] == nil {
			return r
		}
	}
}

// checkInvitees validates a list of invitees: well-formed, known, not the
// caller, no duplicates.
func (s *Server) checkInvitees(self string, ids []string) ([]*user, error) {
	if len(ids) == 0 {
		return nil, protocol.Errorf(protocol.CodeInvalidInvitees, "no one to invite")
	}
	if len(ids) > protocol.MaxInvitees {
		return nil, protocol.Errorf(protocol.CodeInvalidInvitees, "%d invitees; at most %d at once", len(ids), protocol.MaxInvitees)
	}
	seen := make(map[string]bool, len(ids))
	out := make([]*user, 0, len(ids))
	for _, id := range ids {
		if err := protocol.ValidateUserID(id); err != nil {
			return nil, err
		}
		if id == self {
			return nil, protocol.Errorf(protocol.CodeCannotCallSelf, "cannot invite yourself")
		}
		if seen[id] {
			return nil, protocol.Errorf(protocol.CodeInvalidInvitees, "%q is listed twice", id)
		}
		seen[id] = true
		u := s.users[id]
		if u == nil && s.prep.known(id) {
			u = s.userLocked(id) // first logged in on another node
		}
		if u == nil {
			return nil, protocol.Errorf(protocol.CodeUnknownUser, "user %q is unknown to this server", id)
		}
		out = append(out, u)
	}
	return out, nil
}

// memberGroup returns the group if userID is a member.
func (s *Server) memberGroup(groupID, userID string) (*group, error) {
	if err := protocol.ValidateGroupID(groupID); err != nil {
		return nil, err
	}
	g := s.groups[groupID]
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeGroupNotFound, "group %q does not exist", groupID)
	}
	if !g.members[userID] {
		return nil, protocol.Errorf(protocol.CodeNotGroupMember, "%q is not a member of group %q", userID, groupID)
	}
	return g, nil
}

// handleCall starts a 1v1 (call) or group (groupCall) call: it checks the
// request in a fixed order (the first failure is the error), builds the
// call, replies to the caller and rings the invitees.
func (s *Server) handleCall(d *device, m *protocol.Message) error {
	prep := s.prep
	req, err := s.decodeCall(d, m, prep)
	if err != nil {
		return err
	}
	u := d.user
	scene, invitees, err := s.callParties(u, m.Type == protocol.TypeGroupCall, &req)
	if err != nil {
		return err
	}
	timeout, err := s.checkCallParams(u, &req.Params)
	if err != nil {
		return err
	}
	room, err := s.callRoom(req.Params.RoomID, prep)
	if err != nil {
		return err
	}
	if u.busy() || (prep != nil && prep.isBusy(u.id)) {
		return protocol.Errorf(protocol.CodeSelfBusy, "you are already in a call; hang up first")
	}
	now := time.Now()
	if err := s.checkPending(u, invitees, now); err != nil {
		return err
	}
	c, caller, busy := s.newCall(d, &req, scene, room, invitees, now)
	if prep != nil {
		s.takeClaims(c, prep, c.order, busy)
		c.ownClaim, c.roomClaim = prep.use(prep.own), prep.use(prep.room)
	}
	s.addCall(c)
	reply(d.conn, m.ID, protocol.CallReply{Call: s.callState(c, caller)})
	s.obsCallStart(c)
	s.startRecords(c, c.order...)
	s.mediaAdd(c, u, d)
	s.ring(c, caller, c.order[1:], busy, time.Duration(timeout)*time.Second)
	s.settle(c, protocol.ReasonLineBusy, "")
	return nil
}

// decodeCall decodes a call request after the checks that refuse any new
// call: the rate limit (in cluster mode, prep != nil, the router asked the
// limiter), a writable store and a ready cluster.
func (s *Server) decodeCall(d *device, m *protocol.Message, prep *prepared) (protocol.CallRequest, error) {
	var req protocol.CallRequest
	if prep == nil {
		if err := s.allowCall(d.user); err != nil {
			return req, err
		}
	}
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return req, err
	}
	if err := s.storeWritable(); err != nil {
		return req, err // calls in progress go on; a new one would have no record
	}
	if err := s.clusterReady(); err != nil {
		return req, err // calls in progress go on
	}
	return req, nil
}

// callParties checks the media type and who is invited: members of the
// group for a group call, exactly one callee and no group for a 1v1 call.
func (s *Server) callParties(u *user, group bool, req *protocol.CallRequest) (protocol.Scene, []*user, error) {
	if !req.MediaType.Valid() {
		return 0, nil, protocol.Errorf(protocol.CodeInvalidMediaType, "mediaType %d; want 1 (audio) or 2 (video)", req.MediaType)
	}
	invitees, err := s.checkInvitees(u.id, req.UserIDs)
	if err != nil {
		return 0, nil, err
	}
	if !group {
		return protocol.SceneSingleCall, invitees, check1v1(invitees, req.GroupID)
	}
	g, err := s.memberGroup(req.GroupID, u.id)
	if err != nil {
		return 0, nil, err
	}
	for _, v := range invitees {
		if !g.members[v.id] {
			return 0, nil, protocol.Errorf(protocol.CodeNotGroupMember, "%q is not a member of group %q", v.id, g.id)
		}
	}
	return protocol.SceneGroupCall, invitees, nil
}

// check1v1 checks the invitees and group of a 1v1 call.
func check1v1(invitees []*user, groupID string) error {
	if len(invitees) != 1 {
		return protocol.Errorf(protocol.CodeInvalidInvitees, "a 1v1 call has exactly one callee; use a group call for %d", len(invitees))
	}
	if groupID != "" {
		return protocol.Errorf(protocol.CodeInvalidArgument, "a 1v1 call has no groupId")
	}
	return nil
}

// checkCallParams checks a new call's parameters and returns its
// invitation timeout in seconds.
func (s *Server) checkCallParams(u *user, params *protocol.CallParams) (int, error) {
	if err := params.RoomID.Validate(false); err != nil {
		return 0, err
	}
	timeout, err := s.inviteTimeout(params.Timeout) // --- kit: the reference's range (reference.go) ---
	if err != nil {
		return 0, err
	}
	if len(params.UserData) > protocol.MaxUserDataLen {
		return 0, protocol.Errorf(protocol.CodeUserDataTooLong, "userData is %d bytes; at most %d", len(params.UserData), protocol.MaxUserDataLen)
	}
	if err := s.checkInvitationSize(u, params); err != nil {
		return 0, err
	}
	return timeout, nil
}

// callRoom is the room of a new call: the one asked for, the one the
// router claimed (cluster mode), or a free one picked; an error if it is
// in use.
func (s *Server) callRoom(asked protocol.RoomID, prep *prepared) (protocol.RoomID, error) {
	room := asked.Normalize()
	switch {
	case prep != nil && (prep.roomBusy || prep.room == nil):
		return room, protocol.Errorf(protocol.CodeRoomInUse, "room %s is in use by another call", room)
	case prep != nil:
		room = prep.roomKey
	case room.IsZero():
		room = s.pickRoom()
	}
	if s.rooms[room.Key()] != nil {
		return room, protocol.Errorf(protocol.CodeRoomInUse, "room %s is in use by another call", room)
	}
	return room, nil
}

// newCall builds a new call with its caller (calling) and invitees
// (ringing). busy notes the invitees already in a call.
func (s *Server) newCall(d *device, req *protocol.CallRequest, scene protocol.Scene, room protocol.RoomID, invitees []*user, now time.Time) (*call, *part, map[*user]bool) {
	u := d.user
	id := newID()
	if s.prep != nil {
		id = s.prep.callID
	}
	c := &call{
		id: id, room: room, groupID: req.GroupID, scene: scene, mediaType: req.MediaType,
		inviter: u.id, userData: req.Params.UserData, push: req.Params.OfflinePushInfo,
		created: now, parts: make(map[string]*part),
	}
	caller := &part{user: u, role: protocol.RoleCaller, state: partCalling, dev: d}
	c.add(caller)
	busy := make(map[*user]bool)
	for _, v := range invitees {
		busy[v] = v.busy()
		c.add(&part{user: v, role: protocol.RoleCalled, state: partRinging, inviter: u.id})
	}
	return c, caller, busy
}

// addCall makes a new call known by its ID, its room and its users.
func (s *Server) addCall(c *call) {
	s.calls[c.id] = c
	s.rooms[c.room.Key()] = c
	for _, p := range c.order {
		p.user.calls[c.id] = c
	}
}

// ring rings new invitees, or reports them busy to the inviter.
func (s *Server) ring(c *call, inviter *part, ps []*part, busy map[*user]bool, timeout time.Duration) {
	now := time.Now()
	for _, p := range ps {
		s.addPending(p.user, c, timeout, now)
		if busy[p.user] {
			p.state, p.reason = partDone, protocol.ReasonLineBusy
			ev := c.base(protocol.EventUserLineBusy)
			ev.UserID = p.user.id
			s.toPart(inviter, ev)
			s.tellMissed(c, p) // --- kit: match the reference (reference.go) ---
			s.finishRecords(c, p)
			continue
		}
		p.timer = time.AfterFunc(timeout, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !c.ended && p.state == partRinging && c.parts[p.user.id] == p {
				s.noResponse(c, p)
			}
		})
		s.toPart(p, s.receivedEvent(c, p))
		s.pushOffline(c, p, timeout) // --- kit: offline push (push.go) ---
		s.obsRing(p)
		for _, d := range callDevices(p.user) {
			s.mediaAdd(c, p.user, d)
		}
	}
}

// settle ends the call when it can no longer go on, and otherwise does
// nothing. A call goes on while two people are in it, or one is in it and
// someone is still being rung; before anyone answered, while someone rings.
func (s *Server) settle(c *call, reason protocol.EndReason, by string) {
	if c.ended {
		return
	}
	connected, pending, _ := c.count()
	if c.began.IsZero() {
		if pending == 0 {
			s.endCall(c, reason, by)
		}
		return
	}
	if connected >= 2 || (connected == 1 && pending > 0) {
		return
	}
	if connected == 0 {
		reason = protocol.ReasonCanceled
	}
	s.endCall(c, reason, by)
}

// endCall ends the call for everyone still in it or ringing.
func (s *Server) endCall(c *call, reason protocol.EndReason, by string) {
	if c.ended {
		return
	}
	c.ended = true
	s.obsCallEnd(c, reason, by)
	now := time.Now()
	for _, p := range c.order {
		if s.endPart(c, p, reason, by, now) {
			s.finishRecords(c, p)
		}
	}
	s.mediaEnd(c)
	s.forgetCall(c)
}

// endPart tells a part still in the call or ringing that it ended: callEnd
// to those connected, callCancelled to the caller and those ringing. It
// reports false for a part that was no longer in it.
func (s *Server) endPart(c *call, p *part, reason protocol.EndReason, by string, now time.Time) bool {
	switch p.state {
	case partConnected:
		p.state, p.leftAt, p.reason = partLeft, now, reason
		ev := c.base(protocol.EventCallEnd)
		ev.Role, ev.UserID, ev.Reason = p.role, by, reason
		ev.TotalTime = int64(now.Sub(p.connectedAt) / time.Second)
		s.toPart(p, ev)
	case partCalling:
		p.state, p.reason = partDone, reason
		ev := c.base(protocol.EventCallCancelled)
		ev.Role, ev.UserID, ev.Reason = p.role, p.user.id, reason
		s.toPart(p, ev)
	case partRinging:
		p.stopTimer()
		p.state, p.reason = partDone, reason
		ev := c.base(protocol.EventCallCancelled)
		ev.Role, ev.Reason = p.role, reason
		ev.UserID = by
		if by == "" {
			ev.UserID = p.user.id
		}
		s.toPart(p, ev)
	default:
		return false
	}
	return true
}

// forgetCall removes an ended call: its cluster claims, and its place
// under its ID, its room and its users (and the users' proxies, which
// serve calls only).
func (s *Server) forgetCall(c *call) {
	if s.route != nil {
		s.route.release(s.route.st.Calls, c.ownClaim)
		s.route.release(s.route.st.Rooms, c.roomClaim)
		c.ownClaim, c.roomClaim = nil, nil
	}
	delete(s.calls, c.id)
	if s.rooms[c.room.Key()] == c {
		delete(s.rooms, c.room.Key())
	}
	for _, p := range c.order {
		if p.user.calls[c.id] == c {
			delete(p.user.calls, c.id)
		}
		if s.route != nil && len(p.user.calls) == 0 {
			for _, d := range p.user.remote { // proxies serve calls only
				s.route.forget(d)
			}
		}
	}
}

// findPart resolves the caller's part in a call named by a request.
func (s *Server) findPart(d *device, callID string) (*call, *part, error) {
	if err := protocol.ValidateCallID(callID); err != nil {
		return nil, nil, err
	}
	c := s.calls[callID]
	if c == nil {
		return nil, nil, protocol.Errorf(protocol.CodeNoSuchCall, "no call %q (it may have ended)", callID)
	}
	p := c.parts[d.user.id]
	if p == nil {
		return nil, nil, protocol.Errorf(protocol.CodeNotInCall, "you are not in call %q", callID)
	}
	if p.dev != nil && p.dev != d {
		return nil, nil, protocol.Errorf(protocol.CodeWrongCallState, "call %q is taken on another device of yours", callID)
	}
	return c, p, nil
}

func (s *Server) decodeCallID(m *protocol.Message) (string, error) {
	var req protocol.CallIDRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return "", err
	}
	return req.CallID, nil
}

func (s *Server) handleAccept(d *device, m *protocol.Message) error {
	id, err := s.decodeCallID(m)
	if err != nil {
		return err
	}
	c, p, err := s.findPart(d, id)
	if err != nil {
		return err
	}
	if p.state != partRinging {
		return protocol.Errorf(protocol.CodeWrongCallState, "call %q is not ringing for you", id)
	}
	p.stopTimer()
	p.dev = d
	d.user.answered(c)
	reply(d.conn, m.ID, protocol.CallReply{Call: s.callState(c, p)})
	s.mediaRemoveUser(c, d.user, d)
	for _, o := range callDevices(d.user) {
		if o != d {
			ev := c.base(protocol.EventCallCancelled)
			ev.Role, ev.UserID, ev.Reason = p.role, d.user.id, protocol.ReasonOtherDeviceAccepted
			s.emit(o, ev)
		}
	}
	s.connect(c, p)
	return nil
}

// connect puts p in the call, beginning the call if it is the first answer.
func (s *Server) connect(c *call, p *part) {
	now := time.Now()
	p.state, p.connectedAt, p.connected = partConnected, now, true
	if c.began.IsZero() {
		c.began = now
		if caller := c.parts[c.inviter]; caller != nil && caller.state == partCalling {
			caller.state, caller.connectedAt, caller.connected = partConnected, now, true
			s.mediaConnected(c, caller)
			ev := c.base(protocol.EventCallBegin)
			ev.Role = caller.role
			s.toPart(caller, ev)
			s.startRecords(c, caller)
		}
	}
	s.mediaConnected(c, p)
	ev := c.base(protocol.EventCallBegin)
	ev.Role = p.role
	s.toPart(p, ev)
	for _, q := range c.order {
		if q == p || q.state != partConnected {
			continue
		}
		j := c.base(protocol.EventUserJoin)
		j.UserID = p.user.id
		s.toPart(q, j)
		j = c.base(protocol.EventUserJoin)
		j.UserID = q.user.id
		s.toPart(p, j)
	}
	s.exchangeAvailability(c, p)
	s.startRecords(c, p)
}

func (s *Server) handleReject(d *device, m *protocol.Message) error {
	return s.decline(d, m, false)
}

func (s *Server) handleIgnore(d *device, m *protocol.Message) error {
	return s.decline(d, m, true)
}

// decline is reject, or ignore (the inviter hears line busy).
func (s *Server) decline(d *device, m *protocol.Message, ignore bool) error {
	id, err := s.decodeCallID(m)
	if err != nil {
		return err
	}
	c, p, err := s.findPart(d, id)
	if err != nil {
		return err
	}
	if p.state != partRinging {
		return protocol.Errorf(protocol.CodeWrongCallState, "call %q is not ringing for you", id)
	}
	reply(d.conn, m.ID, nil)
	s.declineLocked(c, p, d, ignore)
	return nil
}

func (s *Server) declineLocked(c *call, p *part, d *device, ignore bool) {
	reason := protocol.ReasonReject
	if ignore {
		reason = protocol.ReasonLineBusy
	}
	p.stopTimer()
	p.state, p.reason = partDone, reason
	p.user.answered(c)
	s.mediaRemoveUser(c, p.user, nil)
	for _, o := range callDevices(p.user) {
		ev := c.base(protocol.EventCallCancelled)
		ev.Role, ev.UserID, ev.Reason = p.role, p.user.id, reason
		if o != d {
			ev.Reason = protocol.ReasonOtherDeviceReject
		}
		s.emit(o, ev)
	}
	if ignore {
		if inv := c.parts[p.inviter]; inv != nil && inv.active() {
			ev := c.base(protocol.EventUserLineBusy)
			ev.UserID = p.user.id
			s.toPart(inv, ev)
		}
	} else {
		ev := c.base(protocol.EventUserReject)
		ev.UserID = p.user.id
		s.toOthers(c, p, ev)
	}
	s.finishRecords(c, p)
	s.settle(c, reason, p.user.id)
}

func (s *Server) noResponse(c *call, p *part) {
	p.timer = nil
	p.state, p.reason = partDone, protocol.ReasonNoResponse
	s.mediaRemoveUser(c, p.user, nil)
	ev := c.base(protocol.EventCallCancelled)
	ev.Role, ev.UserID, ev.Reason = p.role, p.user.id, protocol.ReasonNoResponse
	s.toPart(p, ev)
	nr := c.base(protocol.EventUserNoResponse)
	nr.UserID = p.user.id
	s.toOthers(c, p, nr)
	s.finishRecords(c, p)
	s.settle(c, protocol.ReasonNoResponse, p.user.id)
}

func (s *Server) handleHangup(d *device, m *protocol.Message) error {
	id, err := s.decodeCallID(m)
	if err != nil {
		return err
	}
	c, p, err := s.findPart(d, id)
	if err != nil {
		return err
	}
	switch p.state {
	case partRinging:
		// Hanging up a ringing call declines it.
		reply(d.conn, m.ID, nil)
		s.declineLocked(c, p, d, false)
	case partCalling:
		reply(d.conn, m.ID, nil)
		s.endCall(c, protocol.ReasonCanceled, p.user.id)
	case partConnected:
		reply(d.conn, m.ID, nil)
		s.leave(c, p, protocol.ReasonHangup)
	default:
		return protocol.Errorf(protocol.CodeWrongCallState, "you already left call %q", id)
	}
	return nil
}

// leave takes a connected participant out of the call.
func (s *Server) leave(c *call, p *part, reason protocol.EndReason) {
	now := time.Now()
	p.state, p.leftAt, p.reason = partLeft, now, reason
	if s.sfu != nil && p.dev != nil {
		s.sfu.RemovePeer(c.id, p.dev.id)
	}
	ev := c.base(protocol.EventCallEnd)
	ev.Role, ev.UserID, ev.Reason = p.role, p.user.id, reason
	ev.TotalTime = int64(now.Sub(p.connectedAt) / time.Second)
	s.toPart(p, ev)
	for _, q := range c.order {
		if q.state == partConnected {
			l := c.base(protocol.EventUserLeave)
			l.UserID = p.user.id
			s.toPart(q, l)
		}
	}
	s.finishRecords(c, p)
	s.settle(c, reason, p.user.id)
}

// endDeviceCalls takes a departing device out of its calls.
func (s *Server) endDeviceCalls(d *device, reason protocol.EndReason, _ bool) {
	for _, c := range s.sortedUserCalls(d.user) {
		p := c.parts[d.user.id]
		if p == nil || p.dev != d || c.ended {
			continue
		}
		switch p.state {
		case partCalling:
			s.endCall(c, reason, p.user.id)
		case partConnected:
			s.leave(c, p, reason)
		}
	}
}

// handleInviteUser invites more users into a group call the inviter is
// in: it checks the request in a fixed order (the first failure is the
// error), adds the invitees, tells those in the call and rings them.
func (s *Server) handleInviteUser(d *device, m *protocol.Message) error {
	prep := s.prep
	if prep == nil && s.route == nil { // in cluster mode, the router asked the limiter
		if err := s.allowCall(d.user); err != nil {
			return err
		}
	}
	var req protocol.InviteUserRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	c, p, err := s.inviterPart(d, req.CallID)
	if err != nil {
		return err
	}
	invitees, err := s.checkInvitees(d.user.id, req.UserIDs)
	if err != nil {
		return err
	}
	if err := s.checkGroupInvitees(c, invitees); err != nil {
		return err
	}
	timeout, err := s.inviteTimeout(req.Params.Timeout) // --- kit: the reference's range (reference.go) ---
	if err != nil {
		return err
	}
	if err := s.checkInviteRoom(d.user, c, invitees, &req.Params); err != nil {
		return err
	}
	added, ids, busy := addInvitees(c, d.user, invitees)
	if prep != nil {
		s.takeClaims(c, prep, added, busy)
	}
	reply(d.conn, m.ID, protocol.InviteUserReply{UserIDs: ids})
	s.startRecords(c, added...)
	s.tellInvitees(c, added)
	s.ring(c, p, added, busy, time.Duration(timeout)*time.Second)
	return nil
}

// inviterPart finds the inviter's part in a group call it is still in.
func (s *Server) inviterPart(d *device, callID string) (*call, *part, error) {
	c, p, err := s.findPart(d, callID)
	if err != nil {
		return nil, nil, err
	}
	if p.state != partConnected && p.state != partCalling {
		return nil, nil, protocol.Errorf(protocol.CodeWrongCallState, "you are no longer in call %q", callID)
	}
	if c.scene != protocol.SceneGroupCall {
		return nil, nil, protocol.Errorf(protocol.CodeNotGroupCall, "inviteUser works in group calls only")
	}
	return c, p, nil
}

// checkGroupInvitees checks that each invitee is a member of the call's
// group and not already in the call.
func (s *Server) checkGroupInvitees(c *call, invitees []*user) error {
	g := s.groups[c.groupID]
	for _, v := range invitees {
		if g == nil || !g.members[v.id] {
			return protocol.Errorf(protocol.CodeNotGroupMember, "%q is not a member of group %q", v.id, c.groupID)
		}
		if q := c.parts[v.id]; q != nil && q.active() {
			return protocol.Errorf(protocol.CodeAlreadyInCall, "%q is already in this call", v.id)
		}
	}
	return nil
}

// checkInviteRoom checks that the call has room for the invitees and the
// inviter for more invitations.
func (s *Server) checkInviteRoom(u *user, c *call, invitees []*user, params *protocol.CallParams) error {
	if _, _, active := c.count(); active+len(invitees) > protocol.MaxParticipants {
		return protocol.Errorf(protocol.CodeCallFull, "a call holds at most %d people", protocol.MaxParticipants)
	}
	if err := s.checkInvitationSize(u, params); err != nil {
		return err
	}
	return s.checkPending(u, invitees, time.Now())
}

// addInvitees adds the invitees to the call, ringing. busy notes those
// already in a call; ids are their user IDs in order.
func addInvitees(c *call, inviter *user, invitees []*user) (added []*part, ids []string, busy map[*user]bool) {
	busy = make(map[*user]bool)
	ids = make([]string, 0, len(invitees))
	for _, v := range invitees {
		busy[v] = v.busy()
		q := &part{user: v, role: protocol.RoleCalled, state: partRinging, inviter: inviter.id}
		c.add(q)
		v.calls[c.id] = c
		added = append(added, q)
		ids = append(ids, v.id)
	}
	return added, ids, busy
}

// tellInvitees sends those already in the call the new invitee list.
func (s *Server) tellInvitees(c *call, added []*part) {
	upd := c.base(protocol.EventInviteeListUpdate)
	for _, q := range c.order {
		if q.active() {
			upd.UserIDList = append(upd.UserIDList, q.user.id)
		}
	}
	for _, q := range c.order {
		if q.active() && !slices.Contains(added, q) {
			s.toPart(q, upd)
		}
	}
}

func (s *Server) handleJoinInGroupCall(d *device, m *protocol.Message) error {
	var req protocol.JoinInGroupCallRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	if err := req.RoomID.Validate(true); err != nil {
		return err
	}
	if req.MediaType != protocol.MediaTypeUnknown && !req.MediaType.Valid() {
		return protocol.Errorf(protocol.CodeInvalidMediaType, "mediaType %d; want 1 (audio) or 2 (video)", req.MediaType)
	}
	if _, err := s.memberGroup(req.GroupID, d.user.id); err != nil {
		return err
	}
	c := s.rooms[req.RoomID.Key()]
	if c == nil || c.groupID != req.GroupID {
		return protocol.Errorf(protocol.CodeNoActiveCall, "no call in room %s of group %q", req.RoomID.Normalize(), req.GroupID)
	}
	return s.join(d, m, c)
}

func (s *Server) handleJoin(d *device, m *protocol.Message) error {
	id, err := s.decodeCallID(m)
	if err != nil {
		return err
	}
	if err := protocol.ValidateCallID(id); err != nil {
		return err
	}
	c := s.calls[id]
	if c == nil {
		return protocol.Errorf(protocol.CodeNoSuchCall, "no call %q (it may have ended)", id)
	}
	return s.join(d, m, c)
}

// join lets a group member enter a running group call.
func (s *Server) join(d *device, m *protocol.Message, c *call) error {
	u := d.user
	if c.scene != protocol.SceneGroupCall {
		return protocol.Errorf(protocol.CodeNotGroupCall, "only group calls can be joined")
	}
	if _, err := s.memberGroup(c.groupID, u.id); err != nil {
		return err
	}
	p := c.parts[u.id]
	if p != nil && p.state == partRinging {
		s.joinRinging(d, m, c, p)
		return nil
	}
	if err := s.checkJoin(u, c, p); err != nil {
		return err
	}
	p = &part{user: u, role: protocol.RoleCalled, state: partConnected, dev: d}
	c.add(p)
	u.calls[c.id] = c
	if s.prep != nil {
		s.takeClaims(c, s.prep, []*part{p}, nil)
	}
	reply(d.conn, m.ID, protocol.CallReply{Call: s.callState(c, p)})
	s.mediaAdd(c, u, d)
	s.connect(c, p)
	return nil
}

// checkJoin refuses a join of someone already in this call or another
// one, or into a full call. p is the joiner's part, if any.
func (s *Server) checkJoin(u *user, c *call, p *part) error {
	if p != nil && p.active() {
		return protocol.Errorf(protocol.CodeAlreadyInCall, "you are already in this call")
	}
	if u.busy() || (s.prep != nil && s.prep.isBusy(u.id)) {
		return protocol.Errorf(protocol.CodeSelfBusy, "you are already in a call; hang up first")
	}
	if _, _, active := c.count(); active >= protocol.MaxParticipants {
		return protocol.Errorf(protocol.CodeCallFull, "a call holds at most %d people", protocol.MaxParticipants)
	}
	return nil
}

// joinRinging answers, on d, a call that rings for the joiner: its other
// devices stop ringing.
func (s *Server) joinRinging(d *device, m *protocol.Message, c *call, p *part) {
	u := d.user
	p.stopTimer()
	p.dev = d
	u.answered(c)
	reply(d.conn, m.ID, protocol.CallReply{Call: s.callState(c, p)})
	s.mediaRemoveUser(c, u, d)
	for _, o := range callDevices(u) {
		if o != d {
			ev := c.base(protocol.EventCallCancelled)
			ev.Role, ev.UserID, ev.Reason = p.role, u.id, protocol.ReasonOtherDeviceAccepted
			s.emit(o, ev)
		}
	}
	s.connect(c, p)
}

func (s *Server) handleSwitchMediaType(d *device, m *protocol.Message) error {
	var req protocol.SwitchMediaTypeRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	c, p, err := s.findPart(d, req.CallID)
	if err != nil {
		return err
	}
	if p.state != partConnected {
		return protocol.Errorf(protocol.CodeWrongCallState, "the media type can be switched only in a connected call")
	}
	if !req.MediaType.Valid() {
		return protocol.Errorf(protocol.CodeInvalidMediaType, "mediaType %d; want 1 (audio) or 2 (video)", req.MediaType)
	}
	if req.MediaType == c.mediaType {
		return protocol.Errorf(protocol.CodeMediaTypeUnchanged, "the call is already %s", c.mediaType)
	}
	old := c.mediaType
	c.mediaType = req.MediaType
	reply(d.conn, m.ID, nil)
	ev := c.base(protocol.EventCallMediaTypeChanged)
	ev.OldMediaType = old
	ev.UserID = d.user.id
	for _, q := range c.order {
		if q.active() {
			s.toPart(q, ev)
		}
	}
	return nil
}

// takeClaims gives the parts the busy locks prepared for them (cluster
// mode): a user whose lock another call holds is busy; everyone reached
// gets its devices on other nodes as proxies.
func (s *Server) takeClaims(c *call, prep *prepared, ps []*part, busy map[*user]bool) {
	for _, p := range ps {
		if cl := prep.busy[p.user.id]; cl != nil {
			p.busyClaim = prep.use(cl)
		} else if busy != nil && prep.isBusy(p.user.id) {
			busy[p.user] = true
		}
		if devs, ok := prep.devices[p.user.id]; ok && p.dev == nil {
			s.route.setRemote(p.user, devs)
		}
	}
}
