package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
	"github.com/termcall/termcall/usersig"
)

// The replay backlog. A device keeps the encoded events its client has not
// provably received, so that a client that reconnects within the grace
// period gets exactly what it missed. While connected, an event counts as
// received once a keepalive ping written after it is answered (the client
// reads frames in order), so a connected device holds about one keepalive
// interval of events; while disconnected it holds everything sent since the
// last answered ping. Either way the backlog is capped; a client whose
// lastSeq is older than an event the caps pushed out cannot be replayed to
// exactly, and its login reply says resumed: false (it then reconciles with
// the call list, as after a server restart).
const (
	backlogMax      = 512       // events
	backlogMaxBytes = 256 << 10 // encoded bytes
)

// backlogEntry is one encoded event kept for replay.
type backlogEntry struct {
	seq   uint64
	frame []byte
}

// user is a known user. Guarded by Server.mu.
type user struct {
	id       string
	nickname string
	avatar   string
	devices  map[string]*device
	calls    map[string]*call // calls this user has a part in
	bucket   *rate.Limiter    // call attempts (limits.go); nil until the first
	pending  []pendingInvite  // unanswered invitations (limits.go)
	// remote: in cluster mode, the user's devices on other nodes that
	// this node's calls reach (proxies, route.go); nil on one node.
	remote map[string]*device
}

func newUser(id string) *user {
	return &user{id: id, devices: make(map[string]*device), calls: make(map[string]*call)}
}

// userLocked returns the user, creating it in memory.
func (s *Server) userLocked(id string) *user {
	u := s.users[id]
	if u == nil {
		u = newUser(id)
		s.users[id] = u
	}
	return u
}

// busy reports whether the user is ringing, dialing or in a call.
func (u *user) busy() bool {
	for _, c := range u.calls {
		if p := c.parts[u.id]; p != nil && p.active() {
			return true
		}
	}
	return false
}

func (u *user) info() *protocol.UserInfo {
	return &protocol.UserInfo{UserID: u.id, Nickname: u.nickname, Avatar: u.avatar}
}

// device is one logged-in client of a user. It outlives its connection by
// the grace period so that a client that reconnects resumes its calls.
type device struct {
	id         string
	user       *user
	conn       *conn // nil while disconnected
	multi      bool
	seq        uint64
	backlog    []backlogEntry // oldest first
	backlogLen int            // bytes in backlog
	lost       uint64         // highest seq pushed out of the backlog unacknowledged
	grace      *time.Timer
	sigTimer   *time.Timer
	sigExpire  time.Time
	sigExpired bool
	gone       bool

	// Cluster mode (route.go). node: the node holding a proxy's
	// WebSocket ("" for a device of this node). remote: the calls other
	// nodes own that this local device takes part in.
	node   string
	remote map[string]*remoteCall
}

func (d *device) stopTimers() {
	if d.grace != nil {
		d.grace.Stop()
	}
	if d.sigTimer != nil {
		d.sigTimer.Stop()
	}
}

// emit sends an event to a device, keeping it for replay.
func (s *Server) emit(d *device, ev protocol.Event) {
	if d.gone {
		return
	}
	if d.node != "" {
		s.route.emitRemote(d, ev)
		return
	}
	d.seq++
	ev.Seq = d.seq
	ev.Time = time.Now().UnixMilli()
	b := protocol.EncodeEvent(&ev)
	d.keep(ev.Seq, b)
	if d.conn != nil {
		d.conn.queueEvent(b, ev.Seq)
	}
}

// keep adds an encoded event to the backlog, pushing the oldest out past
// the caps.
func (d *device) keep(seq uint64, frame []byte) {
	d.backlog = append(d.backlog, backlogEntry{seq: seq, frame: frame})
	d.backlogLen += len(frame)
	n := 0
	for len(d.backlog)-n > backlogMax || (d.backlogLen > backlogMaxBytes && len(d.backlog)-n > 1) {
		d.backlogLen -= len(d.backlog[n].frame)
		d.lost = d.backlog[n].seq
		d.backlog[n] = backlogEntry{}
		n++
	}
	d.backlog = d.backlog[n:]
}

// ack forgets the events up to seq: the client has them.
func (d *device) ack(seq uint64) {
	n := 0
	for n < len(d.backlog) && d.backlog[n].seq <= seq {
		d.backlogLen -= len(d.backlog[n].frame)
		d.backlog[n] = backlogEntry{}
		n++
	}
	if n == len(d.backlog) {
		d.backlog, d.backlogLen = nil, 0 // let the array go
		return
	}
	d.backlog = d.backlog[n:]
}

func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// login handles a login request: it checks the request and the userSig,
// finds or creates the user and the device (or resumes one), replies, and
// then replays the backlog or rings the invitations waiting for the user.
func (s *Server) login(c *conn, id uint64, req *protocol.LoginRequest) error {
	if err := s.checkLogin(c, req); err != nil {
		return err
	}
	info, err := usersig.Verify(req.UserSig, s.cfg.SDKAppID, s.cfg.Secret, req.UserID, time.Now())
	if err != nil {
		return err
	}
	u, ringing, gone, err := s.loginUser(c, req)
	if err != nil || gone {
		return err
	}
	d, resumed, replay, err := s.loginDevice(c, u, req)
	if err != nil {
		return err
	}
	d.conn = c
	c.dev = d
	s.armSig(d, info.ExpiresAt())

	reply(c, id, protocol.LoginReply{
		UserID:      u.id,
		DeviceID:    d.id,
		Resumed:     replay,
		ServerTime:  time.Now().UnixMilli(),
		SigExpireAt: info.ExpiresAt().Unix(),
		Calls:       s.callStates(d),
	})
	s.obsLogin(c, d, resumed)
	if ringing != nil {
		s.route.attach(d, ringing.Owner.Node)
	}
	if replay {
		replayBacklog(c, d, req.LastSeq)
		return nil
	}
	s.ringWaiting(u, d, resumed)
	return nil
}

// checkLogin refuses a login the server cannot take, before the userSig
// is looked at: a second login on the connection, a server shutting down,
// another protocol version or app, a bad user or device ID.
func (s *Server) checkLogin(c *conn, req *protocol.LoginRequest) error {
	if c.dev != nil {
		return protocol.Errorf(protocol.CodeAlreadyLoggedIn, "this connection is logged in as %q", c.dev.user.id)
	}
	if s.closing {
		return protocol.Errorf(protocol.CodeShuttingDown, "server shutting down")
	}
	if req.Version != protocol.Version {
		return protocol.Errorf(protocol.CodeUnsupportedVersion, "protocol version %d; this server speaks %d", req.Version, protocol.Version)
	}
	if req.SDKAppID != s.cfg.SDKAppID {
		return protocol.Errorf(protocol.CodeSDKAppIDMismatch, "sdkAppId %d is not this server's app", req.SDKAppID)
	}
	if err := protocol.ValidateUserID(req.UserID); err != nil {
		return err
	}
	if req.DeviceID == "" {
		return nil
	}
	if err := protocol.ValidateCallID(req.DeviceID); err != nil {
		msg := err.Error()
		if pe := (*protocol.Error)(nil); errors.As(err, &pe) {
			msg = pe.Message
		}
		return protocol.Errorf(protocol.CodeInvalidArgument, "deviceId: %s", msg).WithCause(err)
	}
	return nil
}

// loginUser finds the user a login is for, creating it on its first
// login. A new login (not a resume) needs the cluster; in cluster mode it
// writes the presence first, and ringing is a call of another node ringing
// for the user. gone reports that the connection went meanwhile: the login
// is over without a reply.
func (s *Server) loginUser(c *conn, req *protocol.LoginRequest) (u *user, ringing *cluster.Claim, gone bool, err error) {
	u = s.users[req.UserID]
	if u == nil || req.DeviceID == "" || u.devices[req.DeviceID] == nil {
		if err := s.clusterReady(); err != nil {
			return nil, nil, false, err
		}
		if s.route != nil {
			ringing, gone, err = s.claimPresence(c, req)
			if err != nil || gone {
				return nil, nil, gone, err
			}
			u = s.users[req.UserID]
		}
	}
	if u == nil {
		u, err = s.addLoginUser(req.UserID)
	}
	return u, ringing, false, err
}

// claimPresence (cluster mode) writes the presence of a new login and
// kicks the devices it displaces on other nodes, without the lock. It
// gives the login a device ID if it has none. gone reports that the
// connection went meanwhile; the presence is then taken back.
func (s *Server) claimPresence(c *conn, req *protocol.LoginRequest) (ringing *cluster.Claim, gone bool, err error) {
	if req.DeviceID == "" {
		req.DeviceID = newID()
	}
	s.unlocked(func() { ringing, err = s.route.loginPresence(req.UserID, req.DeviceID, req.MultiDevice) })
	if err != nil {
		return nil, false, clusterErr(err)
	}
	if c.closed || c.dev != nil {
		if u := s.users[req.UserID]; u == nil || u.devices[req.DeviceID] == nil {
			s.route.presenceGone(req.UserID, req.DeviceID)
		}
		return nil, true, nil
	}
	return ringing, false, nil
}

// addLoginUser remembers a user on its first login, in the store and in
// memory, before anything else can refer to it.
func (s *Server) addLoginUser(userID string) (*user, error) {
	if err := s.storeWritable(); err != nil {
		return nil, err
	}
	// Under the server's lock: bounded, so that a database that
	// hangs (PostgreSQL behind a cut network) cannot stall the server.
	actx, cancel := context.WithTimeout(context.Background(), storeLockedTimeout)
	err := s.store.AddUsers(actx, []string{userID})
	cancel()
	if err != nil {
		if err := s.storeWritable(); err != nil {
			return nil, err // AddUsers hit a storage fault
		}
		return nil, storageError("add user", err)
	}
	u := s.userLocked(userID)
	s.usersAdded([]string{userID})
	return u, nil
}

// loginDevice resumes the device the login names or adds a new one.
// replay reports that the backlog still holds every event after the
// client's lastSeq.
func (s *Server) loginDevice(c *conn, u *user, req *protocol.LoginRequest) (d *device, resumed, replay bool, err error) {
	if req.DeviceID != "" {
		d = u.devices[req.DeviceID]
	}
	if d == nil {
		d, err = s.addDevice(u, req)
		return d, false, false, err
	}
	replay = req.LastSeq >= d.lost
	if d.conn != nil && d.conn != c {
		d.conn.closeAfterFlush("replaced by a new connection of the same device")
	}
	if d.grace != nil {
		d.grace.Stop()
		d.grace = nil
	}
	d.multi = req.MultiDevice
	return d, true, replay, nil
}

// addDevice adds a new device of u. Without multi-device mode on both
// sides, a new login kicks the others.
func (s *Server) addDevice(u *user, req *protocol.LoginRequest) (*device, error) {
	if err := s.checkDevices(u, req.MultiDevice); err != nil {
		return nil, err
	}
	devID := req.DeviceID
	if devID == "" {
		devID = newID()
	}
	d := &device{id: devID, user: u, multi: req.MultiDevice}
	for _, other := range sortedDevices(u) {
		if !(d.multi && other.multi) {
			s.kick(other)
		}
	}
	u.devices[d.id] = d
	return d, nil
}

// replayBacklog queues the events after lastSeq on a resumed connection.
func replayBacklog(c *conn, d *device, lastSeq uint64) {
	for _, e := range d.backlog {
		if e.seq > lastSeq {
			c.queueEvent(e.frame, e.seq)
		}
	}
}

// ringWaiting rings on d the invitations that were waiting for the user.
func (s *Server) ringWaiting(u *user, d *device, resumed bool) {
	for _, cl := range s.sortedUserCalls(u) {
		if p := cl.parts[u.id]; p != nil && p.state == partRinging {
			s.emit(d, s.receivedEvent(cl, p))
			if !resumed {
				s.mediaAdd(cl, u, d)
			}
		}
	}
}

// armSig schedules the userSig expiry notice.
func (s *Server) armSig(d *device, at time.Time) {
	if d.sigTimer != nil {
		d.sigTimer.Stop()
	}
	d.sigExpire = at
	d.sigExpired = false
	wait := time.Until(at)
	if wait < 0 {
		wait = 0
	}
	d.sigTimer = time.AfterFunc(wait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if d.gone || !d.sigExpire.Equal(at) {
			return
		}
		d.sigExpired = true
		s.emit(d, protocol.Event{Event: protocol.EventUserSigExpired, UserID: d.user.id})
	})
}

func (s *Server) handleRenewSig(d *device, m *protocol.Message) error {
	var req protocol.RenewSigRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	info, err := usersig.Verify(req.UserSig, s.cfg.SDKAppID, s.cfg.Secret, d.user.id, time.Now())
	if err != nil {
		return err
	}
	s.armSig(d, info.ExpiresAt())
	reply(d.conn, m.ID, protocol.RenewSigReply{SigExpireAt: info.ExpiresAt().Unix()})
	return nil
}

func (s *Server) handleLogout(d *device, m *protocol.Message) error {
	c := d.conn
	reply(c, m.ID, nil)
	s.obsLogout(d, "logout")
	s.removeDevice(d, protocol.ReasonHangup)
	c.dev = nil
	c.closeAfterFlush("logged out")
	return nil
}

func (s *Server) handleEnableMultiDevice(d *device, m *protocol.Message) error {
	var req protocol.EnableMultiDeviceRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	d.multi = req.Enable
	reply(d.conn, m.ID, nil)
	return nil
}

func (s *Server) handleSetSelfInfo(d *device, m *protocol.Message) error {
	var req protocol.SetSelfInfoRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	if err := protocol.ValidateNickname(req.Nickname); err != nil {
		return err
	}
	if err := protocol.ValidateAvatar(req.Avatar); err != nil {
		return err
	}
	u := d.user
	u.nickname, u.avatar = req.Nickname, req.Avatar
	c := d.conn
	s.unlocked(func() {
		err := s.store.SetProfile(context.Background(), storeProfile(u.id, req.Nickname, req.Avatar))
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.refuse(c, m.ID, m.Type, storageError("save profile", err))
			return
		}
		reply(c, m.ID, nil)
	})
	return nil
}

// unlocked runs f without Server.mu (for store I/O); the caller holds it
// before and after.
func (s *Server) unlocked(f func()) {
	s.mu.Unlock()
	defer s.mu.Lock()
	f()
}

// kick logs a device out because another login displaced it.
func (s *Server) kick(d *device) {
	s.obsLogout(d, "kicked")
	s.endDeviceCalls(d, protocol.ReasonOffline, true)
	if s.route != nil {
		s.route.deviceLeft(d, protocol.ReasonOffline)
	}
	s.emit(d, protocol.Event{Event: protocol.EventKickedOffline, UserID: d.user.id})
	s.dropDevice(d)
}

// removeDevice ends the device's calls and forgets it.
func (s *Server) removeDevice(d *device, reason protocol.EndReason) {
	s.endDeviceCalls(d, reason, false)
	if s.route != nil {
		s.route.deviceLeft(d, reason)
	}
	s.dropDevice(d)
}

func (s *Server) dropDevice(d *device) {
	d.stopTimers()
	if s.sfu != nil {
		for id := range d.user.calls {
			s.sfu.RemovePeer(id, d.id)
		}
	}
	if d.conn != nil {
		d.conn.closeAfterFlush("logged out")
		d.conn.dev = nil
		d.conn = nil
	}
	d.gone = true
	delete(d.user.devices, d.id)
}

// deviceDisconnected starts the grace period of a device whose connection
// dropped.
func (s *Server) deviceDisconnected(d *device) {
	d.conn = nil
	if d.gone || s.closing {
		return
	}
	d.grace = time.AfterFunc(s.cfg.GracePeriod, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if d.gone || d.conn != nil {
			return
		}
		s.obsLogout(d, "timeout")
		s.removeDevice(d, protocol.ReasonOffline)
	})
}

func sortedDevices(u *user) []*device {
	ds := make([]*device, 0, len(u.devices))
	for _, d := range u.devices {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b *device) int {
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
	return ds
}
