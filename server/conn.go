package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/termcall/termcall/protocol"
)

// hardReadLimit is where the server stops reading a frame and closes the
// connection. Frames between protocol.MaxMessageSize and this get an error
// reply and the connection stays up.
const hardReadLimit = 1 << 20

// sendQueue is how many frames may wait for a slow client before the server
// drops its connection (the device may then resume and have events replayed).
const sendQueue = 1024

// conn is one WebSocket. Its fields closed and dev are guarded by Server.mu.
type conn struct {
	ws     *websocket.Conn
	nc     *corkConn // ws's network connection (nil in tests that build a conn by hand)
	qmu    sync.Mutex
	q      []frame       // frames for the write goroutine; nil when drained
	wake   chan struct{} // signals the write goroutine that q has frames
	closed bool
	dev    *device
	done   chan struct{}
	once   sync.Once
	// acked is called, without Server.mu, when a keepalive ping written
	// after the event with this seq was answered: the client has read it.
	acked func(seq uint64)

	// Observability (oplog.go).
	remote string          // the client's address (http.Request.RemoteAddr)
	onMark func(time.Time) // called by the write goroutine at a mark
}

// frame is one queued frame; seq is its event's sequence number, 0 for
// replies. A nil b closes the connection.
type frame struct {
	b    []byte
	seq  uint64
	mark time.Time // non-zero: not sent; onMark gets it once the frames before it are written
}

// queue hands a frame to the write goroutine. Called with Server.mu held.
func (c *conn) queue(b []byte) { c.queueEvent(b, 0) }

// queueEvent queues an encoded event. Called with Server.mu held.
func (c *conn) queueEvent(b []byte, seq uint64) {
	if c.closed {
		return
	}
	if !c.push(frame{b: b, seq: seq}) {
		c.closed = true
		c.shut(websocket.StatusPolicyViolation, "send queue full")
	}
}

// push appends a frame unless sendQueue frames are waiting already. The
// queue is a slice rather than a buffered channel so that an idle
// connection holds no queue memory.
func (c *conn) push(f frame) bool {
	c.qmu.Lock()
	if len(c.q) >= sendQueue {
		c.qmu.Unlock()
		return false
	}
	c.q = append(c.q, f)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// pop takes every waiting frame.
func (c *conn) pop() []frame {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.q
	c.q = nil
	return q
}

// closeAfterFlush lets queued frames go out, then closes. Called with
// Server.mu held.
func (c *conn) closeAfterFlush(reason string) {
	if c.closed {
		return
	}
	c.closed = true
	if !c.push(frame{}) {
		c.shut(websocket.StatusGoingAway, reason)
	}
}

func (c *conn) shut(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		go c.ws.Close(code, reason) //nolint:errcheck // best effort, bounded by the library's own timeout
	})
}

func (c *conn) writeLoop(keepalive time.Duration) {
	t := time.NewTicker(keepalive)
	defer t.Stop()
	var written uint64 // seq of the last event written
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
			// Every frame waiting now goes out in one write (corkConn):
			// the library's per-frame flush only fills the cork's buffer.
			if !c.writeBatch(c.pop(), &written) {
				return
			}
		case <-t.C:
			upTo := written
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*keepalive)
				defer cancel()
				if err := c.ws.Ping(ctx); err != nil {
					c.shut(websocket.StatusGoingAway, "keepalive timeout")
					return
				}
				if upTo != 0 && c.acked != nil {
					c.acked(upTo)
				}
			}()
		}
	}
}

// writeWait bounds one write of queued frames to the client.
const writeWait = 10 * time.Second

// writeBatch writes frames, corked: the frames before a mark (and before
// the close) are sent in one write. It reports false when the connection
// is done.
func (c *conn) writeBatch(frames []frame, written *uint64) bool {
	c.nc.cork()
	for _, f := range frames {
		if !f.mark.IsZero() {
			if c.nc.uncork(writeWait) != nil {
				c.shut(websocket.StatusGoingAway, "write failed")
				return false
			}
			if c.onMark != nil {
				c.onMark(f.mark)
			}
			c.nc.cork()
			continue
		}
		if f.b == nil {
			_ = c.nc.uncork(writeWait)
			c.shut(websocket.StatusNormalClosure, "bye")
			return false
		}
		// Corked, a write only appends to a buffer: no deadline needed
		// here (uncork has one); without a cork (tests), the library's
		// own write blocks as before.
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if c.nc == nil {
			ctx, cancel = context.WithTimeout(ctx, writeWait)
		}
		err := c.ws.Write(ctx, websocket.MessageText, f.b)
		cancel()
		if err != nil {
			_ = c.nc.uncork(writeWait)
			c.shut(websocket.StatusGoingAway, "write failed")
			return false
		}
		if f.seq != 0 {
			*written = f.seq
		}
	}
	if c.nc.uncork(writeWait) != nil {
		c.shut(websocket.StatusGoingAway, "write failed")
		return false
	}
	return true
}

// corkConn is a WebSocket's network connection as coder/websocket sees
// it. The library flushes every frame to the connection with a write
// system call of its own; between cork and uncork those writes only
// append to a buffer, and uncork sends the lot in one write. Writes are
// serialized and keep their order, whether corked or not (a keepalive
// ping from another goroutine goes into the buffer or straight out).
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *corkConn) cork() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork sends what was written since cork, within wait.
func (c *corkConn) uncork(wait time.Duration) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(wait))
	_, err := c.Conn.Write(c.buf)
	_ = c.Conn.SetWriteDeadline(time.Time{})
	if cap(c.buf) > 256<<10 {
		c.buf = nil // a burst's buffer is not kept
	} else {
		c.buf = c.buf[:0]
	}
	return err
}

// corkWriter hands websocket.Accept a corkConn when it hijacks the
// connection.
type corkWriter struct {
	http.ResponseWriter
	nc *corkConn
}

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.nc = &corkConn{Conn: nc}
	// net/http flushed the 101 response before handing the connection
	// over: the new writer starts empty.
	return w.nc, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.nc, 4096)), nil
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.log.Info("websocket refused", "code", int(protocol.CodeOriginNotAllowed), "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		s.RefusedHTTP(protocol.CodeOriginNotAllowed)
		writeHTTPError(w, http.StatusForbidden, protocol.Errorf(protocol.CodeOriginNotAllowed,
			"origin %.200q may not open a WebSocket here (serve.allowed_origins)", r.Header.Get("Origin")))
		return
	}
	cw := &corkWriter{ResponseWriter: w}
	ws, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin was checked just above, by originAllowed
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	if !s.admitConn() {
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer s.conns.Done()
	s.metrics.connOpened()
	defer s.metrics.connClosed()

	ws.SetReadLimit(hardReadLimit)
	c := s.newConn(ws, cw.nc, r.RemoteAddr)
	writerDone := make(chan struct{})
	go func() { c.writeLoop(s.cfg.Keepalive); close(writerDone) }()

	// A connection that does not log in soon is dropped.
	loginTimer := time.AfterFunc(10*time.Second, func() {
		s.mu.Lock()
		if c.dev == nil {
			c.closed = true
			c.shut(websocket.StatusPolicyViolation, "no login")
		}
		s.mu.Unlock()
	})

	s.readFrames(c, cw.nc)
	loginTimer.Stop()
	c.shut(websocket.StatusNormalClosure, "")
	<-writerDone
	s.mu.Lock()
	c.closed = true
	if c.dev != nil && c.dev.conn == c {
		s.deviceDisconnected(c.dev)
	}
	s.mu.Unlock()
}

// admitConn counts a new connection in s.conns, unless the server is
// closing.
func (s *Server) admitConn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns.Add(1)
	return true
}

// newConn makes the conn of an accepted WebSocket.
func (s *Server) newConn(ws *websocket.Conn, nc *corkConn, remote string) *conn {
	c := &conn{ws: ws, nc: nc, wake: make(chan struct{}, 1), done: make(chan struct{}), remote: remote, onMark: s.metrics.ringWritten}
	c.acked = func(seq uint64) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if d := c.dev; d != nil && d.conn == c {
			d.ack(seq)
		}
	}
	return c
}

// readFrames reads and handles c's frames until the connection breaks or
// is shut.
//
// Reads take no cancellable context: with one, coder/websocket arms
// and disarms a context.AfterFunc around every frame read (2.5% of
// BenchmarkCallSetup's CPU). A shut connection's socket is closed
// under the reader instead, which ends a read in progress at once, as
// the cancelled context did (the library then closed the socket too).
func (s *Server) readFrames(c *conn, nc *corkConn) {
	readerDone := make(chan struct{})
	defer close(readerDone)
	go func() {
		select {
		case <-c.done:
			_ = nc.Conn.Close()
		case <-readerDone:
		}
	}()
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				s.log.Debug("frame over the hard limit", "err", err)
			}
			return
		}
		if typ != websocket.MessageText {
			s.mu.Lock()
			s.refuse(c, protocol.ProbeID(b), "binary", protocol.Errorf(protocol.CodeBinaryFrame,
				"binary frames are not part of the protocol: send JSON in text frames"))
			s.mu.Unlock()
			continue
		}
		s.handleFrame(c, b)
	}
}

// handleFrame decodes one frame and runs its handler under the lock.
func (s *Server) handleFrame(c *conn, b []byte) {
	at := time.Now()
	m, err := protocol.Decode(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frameAt = at
	if err != nil {
		s.refuse(c, protocol.ProbeID(b), "", err)
		return
	}
	if c.closed {
		return
	}
	if err := s.dispatch(c, m); err != nil {
		s.refuse(c, m.ID, m.Type, err)
	}
}

func asProtoErr(err error) *protocol.Error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	return &protocol.Error{Code: protocol.CodeInternal, Message: err.Error()}
}

// reply queues a successful reply. Called with the lock held.
func reply(c *conn, id uint64, data any) {
	b, err := protocol.Encode(protocol.TypeReply, id, data)
	if err != nil {
		c.queue(protocol.EncodeError(id, protocol.Errorf(protocol.CodeInternal, "encode: %w", err)))
		return
	}
	c.queue(b)
}

// dispatch routes a message. Called with the lock held.
func (s *Server) dispatch(c *conn, m *protocol.Message) error {
	if m.Type == protocol.TypePing {
		b, _ := protocol.Encode(protocol.TypePong, m.ID, nil)
		c.queue(b)
		return nil
	}
	if m.Type == protocol.TypeLogin {
		var req protocol.LoginRequest
		if err := protocol.DecodeData(m.Data, &req); err != nil {
			return err
		}
		return s.login(c, m.ID, &req)
	}
	d := c.dev
	if d == nil {
		if _, ok := handlers[m.Type]; ok {
			return protocol.Errorf(protocol.CodeNotLoggedIn, "log in first")
		}
		return protocol.Errorf(protocol.CodeUnknownMessageType, "unknown message type %.40q", m.Type)
	}
	h, ok := handlers[m.Type]
	if !ok {
		return protocol.Errorf(protocol.CodeUnknownMessageType, "unknown message type %.40q", m.Type)
	}
	if h.needsFreshSig && d.sigExpired {
		return protocol.Errorf(protocol.CodeUserSigExpired, "the userSig expired; renew it to start or join calls")
	}
	if s.route != nil {
		// Cluster mode: claims first, or the call's owner node (route.go).
		if routed, err := s.route.dispatch(c, d, m, h); routed {
			return err
		}
	}
	return h.fn(s, d, m)
}

type handler struct {
	fn            func(s *Server, d *device, m *protocol.Message) error
	needsFreshSig bool
}

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		protocol.TypeRenewSig:          {fn: (*Server).handleRenewSig},
		protocol.TypeLogout:            {fn: (*Server).handleLogout},
		protocol.TypeCall:              {fn: (*Server).handleCall, needsFreshSig: true},
		protocol.TypeGroupCall:         {fn: (*Server).handleCall, needsFreshSig: true},
		protocol.TypeAccept:            {fn: (*Server).handleAccept},
		protocol.TypeReject:            {fn: (*Server).handleReject},
		protocol.TypeIgnore:            {fn: (*Server).handleIgnore},
		protocol.TypeHangup:            {fn: (*Server).handleHangup},
		protocol.TypeInviteUser:        {fn: (*Server).handleInviteUser, needsFreshSig: true},
		protocol.TypeJoinInGroupCall:   {fn: (*Server).handleJoinInGroupCall, needsFreshSig: true},
		protocol.TypeJoin:              {fn: (*Server).handleJoin, needsFreshSig: true},
		protocol.TypeSwitchMediaType:   {fn: (*Server).handleSwitchMediaType},
		protocol.TypeSetSelfInfo:       {fn: (*Server).handleSetSelfInfo},
		protocol.TypeEnableMultiDevice: {fn: (*Server).handleEnableMultiDevice},
		protocol.TypeQueryRecentCalls:  {fn: (*Server).handleQueryRecentCalls},
		protocol.TypeDeleteRecordCalls: {fn: (*Server).handleDeleteRecordCalls},
		protocol.TypeMedia:             {fn: (*Server).handleMedia},
		// --- kit: offline push (push.go) ---
		protocol.TypeRegisterPush:   {fn: (*Server).handleRegisterPush},
		protocol.TypeUnregisterPush: {fn: (*Server).handleUnregisterPush},
		protocol.TypeListPush:       {fn: (*Server).handleListPush},
	}
}
