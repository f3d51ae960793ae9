// Package engine is the TUICallEngine for Go: the headless call API of
// termcall. An Engine logs one identity in to a termcall server, places and
// answers calls, and reports what happens as typed events.
//
// One Engine per logged-in identity; there is no process-wide singleton.
// Methods are safe for concurrent use. Every failed method returns an
// *Error with a stable code from docs/errors.md.
//
// Goroutines: after Init, an Engine owns a connection goroutine (reads
// frames, keeps the link alive, reconnects with backoff and resumes its
// calls) and a dispatch goroutine that delivers events to observers in
// order. Destroy stops both and waits for them (from an observer it cannot
// wait for the dispatch goroutine, which ends once that observer returns).
package engine

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/transport/v5"

	"github.com/termcall/termcall/protocol"
)

// Options configure an Engine.
type Options struct {
	// Server is the termcall server's URL: http(s):// or ws(s)://. Without
	// a path, /v1/ws is used. Several servers (the nodes of a cluster) are
	// separated by commas: Init logs in to the first that answers, and a
	// lost connection fails over to the next (see reconnect).
	Server string
	// DeviceID names this device across reconnects; random by default.
	DeviceID string
	// RequestTimeout bounds each request when the caller's context has no
	// deadline; default 10 s.
	RequestTimeout time.Duration
	// Keepalive is the ping interval; a server silent for twice as long is
	// considered gone. Default 5 s.
	Keepalive time.Duration
	// MaxBackoff caps the wait between reconnect attempts; default 5 s.
	MaxBackoff time.Duration
	// NoReconnect turns automatic reconnection off.
	NoReconnect bool
	// Logger receives the engine's logs; default discards them.
	Logger *slog.Logger
	// TLSConfig configures wss:// connections, e.g. RootCAs to trust a
	// private CA (see RootCAsFromFile); nil uses the system's roots.
	TLSConfig *tls.Config
	// --- test: vnet ---
	// Net is the network the media (ICE, DTLS, RTP) runs on; nil means the
	// host's. Tests give it a pion vnet Net for loss, delay and bandwidth
	// they set; signaling always uses the real network.
	Net transport.Net
}

// Engine is one logged-in identity's TUICallEngine.
type Engine struct {
	opts Options
	log  *slog.Logger
	urls []string     // the servers' WebSocket URLs, in the order given
	hc   *http.Client // for the WebSocket handshake; nil: the default

	mu        sync.Mutex
	srv       int // index in urls of the server of the current (or last) connection
	sdkAppID  uint64
	userID    string
	userSig   string
	multi     bool
	ws        *websocket.Conn
	ready     chan struct{} // closed while connected
	state     ConnectionState
	pending   map[uint64]*pendingReq
	nextID    uint64
	lastSeq   uint64
	cur       *protocol.CallState
	began     time.Time // when the call beganCall connected here (its CallBegin)
	beganCall string
	running   bool
	runDone   chan struct{}
	kicked    bool
	destroyed bool
	stop      chan struct{} // closed to end the current run

	disp  *dispatcher
	media mediaMgr // media.go: PeerConnections, audio I/O

	playback playbackState // playback.go: speakerphone or earpiece
}

type pendingReq struct {
	ch   chan *protocol.Message
	hook func(*protocol.Message) // runs on the read goroutine, under e.mu
}

// New makes an Engine. Nothing connects until Init.
func New(opts Options) (*Engine, error) {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.Keepalive <= 0 {
		opts.Keepalive = 5 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DeviceID == "" {
		var b [8]byte
		_, _ = crand.Read(b[:])
		opts.DeviceID = hex.EncodeToString(b[:])
	} else if err := protocol.ValidateCallID(opts.DeviceID); err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalidArgument, "device ID: %w", err)
	}
	urls, err := ServerURLs(opts.Server)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts:    opts,
		log:     opts.Logger,
		urls:    urls,
		pending: make(map[uint64]*pendingReq),
		ready:   make(chan struct{}),
		disp:    newDispatcher(),
	}
	if opts.TLSConfig != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = opts.TLSConfig.Clone()
		e.hc = &http.Client{Transport: tr}
	}
	e.media.net = opts.Net // --- test: vnet ---

	e.playback.device = AudioPlaybackSpeakerphone // a terminal has no earpiece unless configured
	return e, nil
}

// ServerURLs maps a server option, one URL or several separated by commas
// (spaces around them are ignored), to their signaling WebSocket URLs.
func ServerURLs(server string) ([]string, error) {
	if strings.TrimSpace(server) == "" {
		return nil, protocol.Errorf(protocol.CodeInvalidArgument, "no server URL")
	}
	var urls []string
	for _, s := range strings.Split(server, ",") {
		u, err := WebSocketURL(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// WebSocketURL maps a server URL to its signaling WebSocket URL.
func WebSocketURL(server string) (string, error) {
	if server == "" {
		return "", protocol.Errorf(protocol.CodeInvalidArgument, "no server URL")
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server // host:port, as people type it
	}
	u, err := url.Parse(server)
	if err != nil || u.Hostname() == "" {
		return "", protocol.Errorf(protocol.CodeInvalidArgument, "server URL %q is not a URL like http://host:port", server)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", protocol.Errorf(protocol.CodeInvalidArgument, "server URL %q: scheme must be http, https, ws or wss", server)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/ws"
	}
	return u.String(), nil
}

// AddObserver registers an observer; each observer gets every event once,
// in order.
func (e *Engine) AddObserver(o Observer) { e.disp.add(o) }

// RemoveObserver unregisters an observer.
func (e *Engine) RemoveObserver(o Observer) { e.disp.remove(o) }

// UserID is the logged-in user, or "".
func (e *Engine) UserID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.userID
}

// Server is the WebSocket URL of the server this engine is connected to
// (or was last connected to, or will try first).
func (e *Engine) Server() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.urls[e.srv]
}

// DeviceID is this engine's device ID.
func (e *Engine) DeviceID() string { return e.opts.DeviceID }

// ConnectionState reports the link to the server.
func (e *Engine) ConnectionState() ConnectionState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// CurrentCall returns the call this engine is in or rung by.
func (e *Engine) CurrentCall() (CallInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return CallInfo{}, false
	}
	c := *e.cur
	c.Participants = append([]protocol.Participant(nil), c.Participants...)
	return c, true
}

// Status is this user's call status: none, waiting (ringing or dialing) or
// accept (in a call).
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return StatusNone
	}
	return e.cur.Status
}

// EnableMultiDeviceAbility turns multi-device login on or off. Before Init
// it sets how Init logs in; after, it tells the server. With it on in every
// device of a user, all of them ring and the first to answer takes the call;
// with it off, a new login displaces the others (KickedOffline).
func (e *Engine) EnableMultiDeviceAbility(ctx context.Context, enable bool) error {
	e.mu.Lock()
	e.multi = enable
	running := e.running
	e.mu.Unlock()
	if !running {
		return nil
	}
	return e.request(ctx, protocol.TypeEnableMultiDevice, protocol.EnableMultiDeviceRequest{Enable: enable}, nil, nil)
}

// Init authenticates with the server: call it before anything else. Called
// again for the same user while logged in, it renews the userSig without
// disturbing a call in progress (the answer to UserSigExpired). Called for
// another user, it logs the previous one out first. After KickedOffline,
// Init logs in again.
func (e *Engine) Init(ctx context.Context, sdkAppID uint64, userID, userSig string) error {
	if err := checkInit(sdkAppID, userID, userSig); err != nil {
		return err
	}
	e.mu.Lock()
	if e.destroyed {
		e.mu.Unlock()
		return protocol.Errorf(protocol.CodeEngineDestroyed, "engine destroyed")
	}
	if e.running && e.userID == userID && e.sdkAppID == sdkAppID {
		e.mu.Unlock()
		return e.renewSig(ctx, userSig)
	}
	e.endPrevious()
	e.sdkAppID, e.userID, e.userSig = sdkAppID, userID, userSig
	e.kicked = false
	e.lastSeq = 0
	e.setState(Connecting)
	e.mu.Unlock()

	ws, rep, srv, err := e.dialFirst(ctx)
	if err != nil {
		e.mu.Lock()
		e.setState(Disconnected)
		e.mu.Unlock()
		return err
	}
	e.mu.Lock()
	e.srv = srv
	e.stop = make(chan struct{})
	e.runDone = make(chan struct{})
	e.running = true
	e.attach(ws, rep)
	stop, done := e.stop, e.runDone
	e.mu.Unlock()
	go e.run(ws, stop, done)
	return nil
}

// checkInit checks Init's arguments.
func checkInit(sdkAppID uint64, userID, userSig string) error {
	if err := protocol.ValidateUserID(userID); err != nil {
		return err
	}
	if sdkAppID == 0 {
		return protocol.Errorf(protocol.CodeInvalidSDKAppID, "sdkAppID is required")
	}
	if userSig == "" {
		return protocol.Errorf(protocol.CodeInvalidUserSig, "userSig is empty")
	}
	return nil
}

// renewSig gives the server a new userSig for the session in progress.
func (e *Engine) renewSig(ctx context.Context, userSig string) error {
	var rep struct {
		SigExpireAt int64 `json:"sigExpireAt"`
	}
	if err := e.request(ctx, protocol.TypeRenewSig, protocol.RenewSigRequest{UserSig: userSig}, &rep, nil); err != nil {
		return err
	}
	e.mu.Lock()
	e.userSig = userSig
	e.mu.Unlock()
	return nil
}

// endPrevious logs the previous user out and waits for its run to end.
// Called with e.mu held, which it releases meanwhile.
func (e *Engine) endPrevious() {
	if e.running {
		e.mu.Unlock()
		e.logout()
		e.mu.Lock()
	}
	if prev := e.runDone; prev != nil {
		// A run that ended by itself (kicked, gave up) may still be
		// closing its media; let it finish before a new one starts.
		e.mu.Unlock()
		<-prev
		e.mu.Lock()
	}
}

// Destroy logs out (ending this device's calls), closes the connection and
// stops the engine's goroutines. The engine cannot be used afterwards.
//
// Destroy may be called from an observer: it then returns without waiting
// for the dispatch goroutine (its caller), which delivers the events
// already queued after that observer returns, and then ends.
func (e *Engine) Destroy() {
	e.mu.Lock()
	if e.destroyed {
		e.mu.Unlock()
		return
	}
	e.destroyed = true
	e.mu.Unlock()
	e.logout()
	e.disp.close()
}

// logout ends the current run: tells the server, closes the link and waits.
func (e *Engine) logout() {
	e.mu.Lock()
	running, ws := e.running, e.ws
	e.mu.Unlock()
	if !running {
		return
	}
	if ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = e.request(ctx, protocol.TypeLogout, nil, nil, nil)
		cancel()
	}
	e.mu.Lock()
	stop, done := e.stop, e.runDone
	select {
	case <-stop:
	default:
		close(stop)
	}
	if e.ws != nil {
		e.ws.CloseNow()
	}
	e.mu.Unlock()
	<-done
}

// failoverCode reports whether a login that failed with code may work on
// another server of the list: the server is unreachable, shutting down,
// not ready (its cluster state or store unavailable), or full. Anything
// else (a bad userSig, too many devices, ...) would fail on every node.
func failoverCode(code protocol.Code) bool {
	switch code {
	case protocol.CodeServerUnreachable, protocol.CodeShuttingDown, protocol.CodeStoreUnavailable,
		protocol.CodeClusterUnavailable, protocol.CodeTooManyConnections:
		return true
	}
	return false
}

// dialFirst logs in to the first server of the list that answers, trying
// them in order, each within RequestTimeout (and ctx). It returns the
// index of the server. When every server fails, the error names each
// one's failure, with their common code (5002 if they differ).
func (e *Engine) dialFirst(ctx context.Context) (*websocket.Conn, *protocol.LoginReply, int, error) {
	if len(e.urls) == 1 {
		ws, rep, err := e.dial(ctx, e.urls[0], false)
		return ws, rep, 0, err
	}
	var msgs []string
	code := protocol.CodeOK
	for i, u := range e.urls {
		actx, cancel := context.WithTimeout(ctx, e.opts.RequestTimeout)
		ws, rep, err := e.dial(actx, u, false)
		cancel()
		if err == nil {
			if i > 0 {
				e.log.Info("logged in to a later server of the list", "server", u, "failed", strings.Join(msgs, "; "))
			}
			return ws, rep, i, nil
		}
		c := protocol.CodeOf(err)
		if !failoverCode(c) || ctx.Err() != nil {
			return nil, nil, 0, err
		}
		if code == protocol.CodeOK || code == c {
			code = c
		} else {
			code = protocol.CodeServerUnreachable
		}
		msgs = append(msgs, err.Error())
	}
	return nil, nil, 0, protocol.Errorf(code, "none of the %d servers answered: %s", len(e.urls), strings.Join(msgs, "; "))
}

// dial connects to the server at wsURL and logs in; resume asks it to
// resume this device's session (LastSeq).
func (e *Engine) dial(ctx context.Context, wsURL string, resume bool) (*websocket.Conn, *protocol.LoginReply, error) {
	req := e.loginRequest(resume)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.RequestTimeout)
		defer cancel()
	}
	ws, err := e.dialWS(ctx, wsURL)
	if err != nil {
		return nil, nil, err
	}
	b, _ := protocol.Encode(protocol.TypeLogin, 1, req)
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		ws.CloseNow()
		return nil, nil, protocol.Errorf(protocol.CodeServerUnreachable, "login: %w", err)
	}
	rep, err := awaitLogin(ctx, ws)
	if err != nil {
		return nil, nil, err
	}
	return ws, rep, nil
}

// loginRequest is the login of this engine's user and device; resume
// asks for the events after the last one seen.
func (e *Engine) loginRequest(resume bool) protocol.LoginRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	req := protocol.LoginRequest{
		Version: protocol.Version, SDKAppID: e.sdkAppID, UserID: e.userID, UserSig: e.userSig,
		DeviceID: e.opts.DeviceID, MultiDevice: e.multi,
	}
	if resume {
		req.LastSeq = e.lastSeq
	}
	return req
}

// dialWS opens the WebSocket to wsURL.
func (e *Engine) dialWS(ctx context.Context, wsURL string) (*websocket.Conn, error) {
	ws, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled, HTTPClient: e.hc})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode < 500 {
			// Something answered HTTP, but not with termcall's WebSocket:
			// a wrong path, or another web server. Not "unreachable".
			return nil, protocol.Errorf(protocol.CodeInvalidArgument,
				"%s answered HTTP %d, not a termcall WebSocket: check the server URL (give the server's address, e.g. http://host:7480; its WebSocket is %s)",
				wsURL, resp.StatusCode, "/v1/ws")
		}
		return nil, protocol.Errorf(protocol.CodeServerUnreachable, "cannot reach %s: %w", wsURL, err)
	}
	ws.SetReadLimit(1 << 20)
	return ws, nil
}

// awaitLogin reads until the login's reply (id 1); on an error it closes
// ws.
func awaitLogin(ctx context.Context, ws *websocket.Conn) (*protocol.LoginReply, error) {
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			ws.CloseNow()
			return nil, protocol.Errorf(protocol.CodeServerUnreachable, "login: %w", err)
		}
		m, err := protocol.Decode(data)
		if err != nil || m.Type != protocol.TypeReply || m.ID != 1 {
			continue
		}
		if m.Error != nil {
			ws.Close(websocket.StatusNormalClosure, "")
			return nil, m.Error
		}
		var rep protocol.LoginReply
		if err := unmarshalJSON(m.Data, &rep); err != nil {
			ws.CloseNow()
			return nil, protocol.Errorf(protocol.CodeMalformedMessage, "login reply: %w", err)
		}
		return &rep, nil
	}
}

// attach makes ws the live connection. Called with e.mu held.
func (e *Engine) attach(ws *websocket.Conn, rep *protocol.LoginReply) {
	e.log.Debug("logged in", "user", rep.UserID, "device", rep.DeviceID, "resumed", rep.Resumed, "calls", len(rep.Calls), "sigExpireAt", rep.SigExpireAt)
	e.ws = ws
	select {
	case <-e.ready:
	default:
		close(e.ready)
	}
	e.setState(Connected)
	if !rep.Resumed {
		e.lastSeq = 0
		e.reconcile(rep.Calls)
	}
}

// reconcile ends a local call the server no longer knows (a server restart,
// or a reconnect after the grace period).
func (e *Engine) reconcile(calls []protocol.CallState) {
	if e.cur == nil {
		return
	}
	for _, c := range calls {
		if c.CallID == e.cur.CallID {
			cs := c
			e.cur = &cs
			return
		}
	}
	cur := e.cur
	e.cur = nil
	if cur.Status == StatusAccept {
		// The server that knew the call is gone, so the engine counts the
		// connected time itself, from the CallBegin it saw.
		var total int64
		if e.beganCall == cur.CallID {
			total = int64(time.Since(e.began) / time.Second)
		}
		e.disp.push(CallEnd{CallID: cur.CallID, RoomID: cur.RoomID, MediaType: cur.MediaType, Role: cur.Role,
			TotalTime: total, Reason: ReasonEndByServer})
	} else {
		e.disp.push(CallCancelled{CallID: cur.CallID, UserID: e.userID, Reason: ReasonEndByServer})
	}
}

// setState records and reports a connection state. Called with e.mu held.
func (e *Engine) setState(s ConnectionState) {
	if e.state == s {
		return
	}
	e.state = s
	e.disp.push(ConnectionChanged{State: s})
}

// run owns the connection: it reads until the link breaks, then reconnects.
func (e *Engine) run(ws *websocket.Conn, stop, done chan struct{}) {
	defer close(done)
	defer e.closeAllMedia() // media.go: the run is over, so are its calls' media
	for {
		e.readLoop(ws, stop)
		e.mu.Lock()
		e.detach(ws)
		stopped := isClosed(stop)
		if stopped || e.kicked || e.opts.NoReconnect {
			e.running = false
			e.setState(Disconnected)
			e.mu.Unlock()
			return
		}
		e.setState(Reconnecting)
		e.mu.Unlock()
		ws = e.reconnect(stop)
		if ws == nil {
			e.mu.Lock()
			e.running = false
			e.setState(Disconnected)
			e.mu.Unlock()
			return
		}
	}
}

// detach forgets a broken connection and fails requests waiting on it.
// Called with e.mu held.
func (e *Engine) detach(ws *websocket.Conn) {
	if e.ws == ws {
		e.ws = nil
		e.ready = make(chan struct{})
	}
	for id, p := range e.pending {
		p.ch <- &protocol.Message{Type: protocol.TypeReply, ID: id,
			Error: protocol.Errorf(protocol.CodeConnectionLost, "connection to the server lost")}
		delete(e.pending, id)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// reconnect retries with jittered exponential backoff until it logs in
// again, the run is stopped, or the server refuses the login for good.
//
// With several servers, the first attempt goes to the server of the lost
// connection, resuming the session; each failed attempt moves to the next
// server of the list (round robin), and the backoff doubles once a whole
// round has failed. On another server the login is a fresh one (no
// resume: the old node's session state is not there) and the engine
// reconciles its call from the server's call list, as after a server
// restart.
func (e *Engine) reconnect(stop chan struct{}) *websocket.Conn {
	backoff := 100 * time.Millisecond
	e.mu.Lock()
	last := e.srv
	e.mu.Unlock()
	idx, failed := last, 0
	for {
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-stop:
			return nil
		case <-time.After(wait):
		}
		ws, rep, err := e.dialUntil(stop, e.urls[idx], idx == last)
		if err == nil {
			return e.reattach(stop, ws, rep, idx, last)
		}
		if e.loginRefused(err) {
			return nil
		}
		e.log.Debug("reconnect failed", "server", e.urls[idx], "err", err)
		idx = (idx + 1) % len(e.urls)
		if failed++; failed%len(e.urls) == 0 {
			backoff = min(backoff*2, e.opts.MaxBackoff)
		}
	}
}

// dialUntil is one reconnect attempt, given up when stop closes.
func (e *Engine) dialUntil(stop chan struct{}, wsURL string, resume bool) (*websocket.Conn, *protocol.LoginReply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.RequestTimeout)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return e.dial(ctx, wsURL, resume)
}

// reattach makes a reconnected ws (to server idx; last before) the
// engine's connection, unless the run stopped meanwhile (nil).
func (e *Engine) reattach(stop chan struct{}, ws *websocket.Conn, rep *protocol.LoginReply, idx, last int) *websocket.Conn {
	e.mu.Lock()
	if isClosed(stop) {
		e.mu.Unlock()
		ws.CloseNow()
		return nil
	}
	e.srv = idx
	e.attach(ws, rep)
	e.mu.Unlock()
	if idx != last {
		e.log.Info("reconnected to another server", "server", e.urls[idx], "was", e.urls[last], "resumed", rep.Resumed)
	} else {
		e.log.Info("reconnected", "resumed", rep.Resumed)
	}
	return ws
}

// loginRefused reports whether a reconnect's login was refused for good
// (a userSig or app problem, another protocol version): the engine tells
// its observers and stops trying.
func (e *Engine) loginRefused(err error) bool {
	code := protocol.CodeOf(err)
	if !(code >= 2000 && code < 3000 || code == protocol.CodeUnsupportedVersion || code == protocol.CodeSDKAppIDMismatch) {
		return false
	}
	e.mu.Lock()
	if code == protocol.CodeUserSigExpired {
		e.disp.push(UserSigExpired{})
	}
	e.disp.push(ErrorEvent{Code: code, Message: err.Error()})
	e.mu.Unlock()
	return true
}

// readLoop reads frames until the connection breaks, pinging it meanwhile.
// A keepalive interval in which frames arrived needs no ping: the server
// is alive (a silent one is pinged, and dropped when it does not answer).
func (e *Engine) readLoop(ws *websocket.Conn, stop chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames atomic.Uint64 // frames read, for the keepalive
	go e.keepalive(ctx, ws, stop, &frames)
	for {
		// No cancellable context for the read: ctx ends only after this
		// loop, and with one coder/websocket arms and disarms a
		// context.AfterFunc around every frame. stop ends a read by
		// closing the connection (keepalive).
		_, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		frames.Add(1)
		m, err := protocol.Decode(data)
		if err != nil {
			e.log.Warn("bad frame from server", "err", err)
			continue
		}
		e.handleFrame(m)
	}
}

// keepalive pings ws every Keepalive interval in which no frame was read
// (frames counts them) and closes it when the server does not answer, or
// when stop closes. It ends with ctx.
func (e *Engine) keepalive(ctx context.Context, ws *websocket.Conn, stop chan struct{}, frames *atomic.Uint64) {
	t := time.NewTicker(e.opts.Keepalive)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			ws.CloseNow()
			return
		case <-t.C:
			if n := frames.Load(); n != seen {
				seen = n
				continue
			}
			pctx, pcancel := context.WithTimeout(ctx, 2*e.opts.Keepalive)
			err := ws.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				e.log.Info("server did not answer the keepalive; reconnecting")
				ws.CloseNow()
				return
			}
		}
	}
}

// handleFrame handles one decoded frame from the server.
func (e *Engine) handleFrame(m *protocol.Message) {
	switch m.Type {
	case protocol.TypeReply:
		e.handleReply(m)
	case protocol.TypeEvent:
		w, err := protocol.DecodeEvent(m.Data)
		if err != nil {
			e.log.Warn("bad event from server", "err", err)
			return
		}
		e.mu.Lock()
		e.handleEvent(&w)
		e.mu.Unlock()
	case protocol.TypeMedia:
		if e.log.Enabled(context.Background(), slog.LevelDebug) {
			var sig struct{ Kind, CallID string }
			_ = unmarshalJSON(m.Data, &sig)
			e.log.Debug("media signal", "kind", sig.Kind, "call", sig.CallID)
		}
		e.handleMediaMessage(m) // media.go; never blocks
	}
}

// handleReply hands a reply to the request waiting for it.
func (e *Engine) handleReply(m *protocol.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.pending[m.ID]; p != nil {
		delete(e.pending, m.ID)
		if p.hook != nil && m.Error == nil {
			p.hook(m)
		}
		p.ch <- m
	} else if m.Error != nil && m.ID == 0 {
		// An error about no request in particular (the server could
		// not read a frame). Late replies to requests whose callers
		// gave up are dropped.
		e.disp.push(ErrorEvent{Code: m.Error.Code, Message: m.Error.Message})
	}
}

// handleEvent updates the engine's call state and queues the typed event.
// Called with e.mu held.
func (e *Engine) handleEvent(w *protocol.Event) {
	if w.Seq != 0 {
		if w.Seq <= e.lastSeq {
			return // already seen before a reconnect
		}
		e.lastSeq = w.Seq
	}
	e.logEvent(w)
	ev := fromWire(w)
	if ev == nil {
		e.log.Debug("unknown event", "event", w.Event)
		return
	}
	e.applyEvent(ev, w.CallID)
	e.mediaOnEvent(ev) // media.go: closes a call's media when it ends; never blocks
	e.disp.push(ev)
}

// logEvent logs a server event at debug level.
func (e *Engine) logEvent(w *protocol.Event) {
	if !e.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"event", w.Event, "seq", w.Seq, "call", w.CallID}
	if w.UserID != "" {
		attrs = append(attrs, "user", w.UserID)
	}
	if w.Reason != protocol.ReasonUnknown {
		attrs = append(attrs, "reason", w.Reason.String())
	}
	e.log.Debug("event", attrs...)
}

// applyEvent updates the engine's state for an event about callID: an
// invitation becomes the current call if there is none, a kick ends it,
// and the other events change the current call if they are about it.
func (e *Engine) applyEvent(ev Event, callID string) {
	switch ev := ev.(type) {
	case CallReceived:
		if e.cur == nil {
			e.cur = &protocol.CallState{CallID: ev.CallID, RoomID: ev.RoomID, GroupID: ev.GroupID, Scene: ev.Scene,
				MediaType: ev.MediaType, Inviter: ev.CallerID, Role: RoleCalled, Status: StatusWaiting, UserData: ev.UserData}
		}
	case KickedOffline:
		e.kicked = true
		e.cur = nil
	default:
		if cur := e.cur; cur != nil && cur.CallID == callID {
			e.applyToCall(cur, ev)
		}
	}
}

// applyToCall updates the current call for an event about it.
func (e *Engine) applyToCall(cur *protocol.CallState, ev Event) {
	switch ev := ev.(type) {
	case CallBegin:
		cur.Status, cur.Role, cur.MediaType = StatusAccept, ev.Role, ev.MediaType
		if e.beganCall != ev.CallID {
			e.began, e.beganCall = time.Now(), ev.CallID
		}
	case CallEnd, CallCancelled:
		e.cur = nil
	case CallMediaTypeChanged:
		cur.MediaType = ev.NewType
	case UserJoin:
		setParticipant(cur, ev.UserID, StatusAccept)
	case UserLeave:
		removeParticipant(cur, ev.UserID)
	case UserReject:
		removeParticipant(cur, ev.UserID)
	case UserNoResponse:
		removeParticipant(cur, ev.UserID)
	case UserLineBusy:
		removeParticipant(cur, ev.UserID)
	}
}

func setParticipant(c *protocol.CallState, id string, st Status) {
	for i := range c.Participants {
		if c.Participants[i].UserID == id {
			c.Participants[i].Status = st
			return
		}
	}
	c.Participants = append(c.Participants, protocol.Participant{UserID: id, Role: RoleCalled, Status: st})
}

func removeParticipant(c *protocol.CallState, id string) {
	for i := range c.Participants {
		if c.Participants[i].UserID == id {
			c.Participants = append(c.Participants[:i], c.Participants[i+1:]...)
			return
		}
	}
}

// request sends one request and waits for its reply. hook, if set, runs on
// the read goroutine when the reply arrives, before any later event.
func (e *Engine) request(ctx context.Context, typ string, data, out any, hook func(*protocol.Message)) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.RequestTimeout)
		defer cancel()
	}
	e.mu.Lock()
	if err := e.waitConn(ctx, typ); err != nil {
		e.mu.Unlock()
		return err
	}
	e.nextID++
	id := e.nextID + 1 // id 1 is the login
	e.nextID = id
	p := &pendingReq{ch: make(chan *protocol.Message, 1), hook: hook}
	e.pending[id] = p
	ws := e.ws
	e.mu.Unlock()

	if err := e.writeRequest(ctx, ws, typ, id, data); err != nil {
		e.forget(id)
		return err
	}
	return e.awaitReply(ctx, typ, id, p, out)
}

// waitConn waits until the engine is connected; an error if it is
// destroyed (but for logout), not initialized, or ctx ends first. Called
// with e.mu held, which it releases meanwhile and holds on return.
func (e *Engine) waitConn(ctx context.Context, typ string) error {
	for e.ws == nil {
		if e.destroyed && typ != protocol.TypeLogout {
			return protocol.Errorf(protocol.CodeEngineDestroyed, "engine destroyed")
		}
		if !e.running {
			return protocol.Errorf(protocol.CodeNotInitialized, "call Init first")
		}
		ready := e.ready
		e.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			e.mu.Lock()
			return protocol.Errorf(protocol.CodeConnectionLost, "not connected to the server")
		}
		e.mu.Lock()
	}
	return nil
}

// writeRequest encodes a request and writes it on ws.
func (e *Engine) writeRequest(ctx context.Context, ws *websocket.Conn, typ string, id uint64, data any) error {
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "encode: %w", err)
	}
	// The write gets its own deadline: coder/websocket closes the whole
	// connection when a write's context ends mid-frame, and a caller's
	// cancelled context must not cost every other call its link.
	if ctx.Err() != nil {
		return protocol.Errorf(protocol.CodeRequestTimeout, "%s: %w", typ, ctx.Err())
	}
	wctx, wcancel := context.WithTimeout(context.Background(), e.opts.RequestTimeout)
	err = ws.Write(wctx, websocket.MessageText, b)
	wcancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return protocol.Errorf(protocol.CodeRequestTimeout, "%s: %w", typ, ctx.Err())
	}
	return protocol.Errorf(protocol.CodeConnectionLost, "%s: %w", typ, err)
}

// awaitReply waits for the reply to request id and decodes its data into
// out; the server's refusal is the error.
func (e *Engine) awaitReply(ctx context.Context, typ string, id uint64, p *pendingReq, out any) error {
	start := time.Now()
	select {
	case m := <-p.ch:
		if m.Error != nil {
			e.log.Debug("request refused", "type", typ, "id", id, "took", time.Since(start), "code", int(m.Error.Code), "err", m.Error.Message)
			return m.Error
		}
		e.log.Debug("request", "type", typ, "id", id, "took", time.Since(start))
		if out != nil && len(m.Data) > 0 {
			if err := unmarshalJSON(m.Data, out); err != nil {
				return protocol.Errorf(protocol.CodeMalformedMessage, "%s reply: %w", typ, err)
			}
		}
		return nil
	case <-ctx.Done():
		e.forget(id)
		e.log.Debug("request timed out", "type", typ, "id", id, "took", time.Since(start))
		return protocol.Errorf(protocol.CodeRequestTimeout, "%s: no reply from the server: %w", typ, ctx.Err())
	}
}

func (e *Engine) forget(id uint64) {
	e.mu.Lock()
	delete(e.pending, id)
	e.mu.Unlock()
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Code == code
}
