// Package control lets scripts drive a running call, as baresip's ctrl_tcp
// and linphonecsh do: `--control unix:PATH` (or tcp:127.0.0.1:PORT) on
// call, groupcall, join, bot and tui listens on a socket that takes
// newline-delimited JSON commands, answers each with one reply line, and
// streams the engine's events to connections that subscribe. Client is
// the other end (termcall ctl). The protocol is in docs/control.md.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// MaxLine is the longest command line accepted (bytes, without the
// newline); a longer one closes the connection.
const MaxLine = 64 << 10

// commandTimeout bounds one command's request to the server.
const commandTimeout = 10 * time.Second

// closeGrace bounds how long Close waits to write the reply of a command
// in flight.
const closeGrace = time.Second

// eventQueue is how many events a subscriber may lag behind before it is
// disconnected (the engine's dispatcher never waits for a subscriber).
const eventQueue = 1024

// Request is one command line.
type Request struct {
	// ID is echoed in the reply (any JSON value; optional).
	ID json.RawMessage `json:"id,omitempty"`
	// Cmd is the command: mute, unmute, camera, media, invite, ...
	Cmd string `json:"cmd"`
	// Args are the command's arguments, as on the ctl command line.
	Args []string `json:"args,omitempty"`
}

// Reply answers one Request.
type Reply struct {
	ID     json.RawMessage `json:"id,omitempty"`
	OK     bool            `json:"ok"`
	Result any             `json:"result,omitempty"`
	Error  *ReplyError     `json:"error,omitempty"`
}

// ReplyError is a failed command's error: a stable code (docs/errors.md).
type ReplyError struct {
	Code    protocol.Code `json:"code"`
	Name    string        `json:"name"`
	Message string        `json:"message"`
}

// Err returns the error as a *protocol.Error.
func (e *ReplyError) Err() error { return &protocol.Error{Code: e.Code, Message: e.Message} }

// Status is the result of the status command.
type Status struct {
	User       string              `json:"user"`
	Connection string              `json:"connection"`
	Status     string              `json:"status"`
	Call       *protocol.CallState `json:"call,omitempty"`
	Microphone bool                `json:"microphone"`
	Camera     bool                `json:"camera"`
	CameraID   string              `json:"cameraId"`
	Playback   string              `json:"playback"`
	Beauty     float64             `json:"beauty"`
}

// Options configure a Server.
type Options struct {
	// Engine is the engine the commands drive (required).
	Engine *engine.Engine
	// Logger receives connection errors; nil discards them.
	Logger *slog.Logger
	// OnBeauty, if set, is told the level after a successful beauty
	// command.
	OnBeauty func(level float64)
	// OnCommand, if set, is told every command that succeeded and may
	// have changed the engine (not status, subscribe, unsubscribe), with
	// its arguments; the TUI reads its state back. It must not block.
	OnCommand func(cmd string)
}

// Server serves control connections for one engine.
type Server struct {
	opts Options
	log  *slog.Logger
	obs  engine.Observer

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New makes a server; it observes the engine's events until Close.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, conns: make(map[*conn]struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.obs = engine.NewObserver(s.broadcast)
	opts.Engine.AddObserver(s.obs)
	return s
}

// Listen parses a control address and listens on it: unix:PATH (a bare
// path is a unix socket too) or tcp:HOST:PORT with a loopback HOST. A unix
// socket left behind by a dead process is replaced; one still answering is
// "in use". The socket file is made readable and writable by its owner only.
func Listen(addr string) (net.Listener, error) {
	network, where, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if fi, err := os.Lstat(where); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, protocol.Errorf(protocol.CodeControlUnavailable, "%s exists and is not a socket", where)
			}
			if c, err := net.DialTimeout("unix", where, time.Second); err == nil {
				c.Close()
				return nil, protocol.Errorf(protocol.CodeControlUnavailable, "%s is in use by another process", where)
			}
			os.Remove(where) // stale
		}
	}
	ln, err := net.Listen(network, where)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeControlUnavailable, "%w", err)
	}
	if network == "unix" {
		if err := os.Chmod(where, 0o600); err != nil {
			ln.Close()
			return nil, protocol.Errorf(protocol.CodeControlUnavailable, "%w", err)
		}
	}
	return ln, nil
}

// ParseAddr splits a control address into a network and an address. TCP
// addresses must be loopback: the socket has no authentication.
func ParseAddr(addr string) (network, where string, err error) {
	switch {
	case strings.HasPrefix(addr, "unix:"):
		network, where = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "tcp:"):
		network, where = "tcp", strings.TrimPrefix(addr, "tcp:")
	case addr != "" && !strings.Contains(addr, ":"):
		network, where = "unix", addr
	default:
		return "", "", protocol.Errorf(protocol.CodeInvalidArgument, "control address %q: want unix:PATH or tcp:127.0.0.1:PORT", addr)
	}
	if where == "" {
		return "", "", protocol.Errorf(protocol.CodeInvalidArgument, "control address %q: empty path", addr)
	}
	if network == "tcp" {
		host, _, err := net.SplitHostPort(where)
		if err != nil {
			return "", "", protocol.Errorf(protocol.CodeInvalidArgument, "control address %q: %w", addr, err)
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", "", protocol.Errorf(protocol.CodeInvalidArgument, "control address %q: TCP control must listen on a loopback address (127.0.0.1, ::1)", addr)
		}
	}
	return network, where, nil
}

// Serve accepts connections on ln until Close; it returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		c := &conn{s: s, nc: nc, events: make(chan []byte, eventQueue), done: make(chan struct{})}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.run()
	}
}

// Close stops listening, ends every connection and stops observing the
// engine. It waits for the connections' goroutines. A command in flight
// still gets its reply (within closeGrace): a script's "ctl hangup" ends
// the call, the process closes its control server, and the script must
// still read ok rather than a dropped connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	lns := s.lns
	now := time.Now()
	for c := range s.conns {
		// Reading stops now; the reply being made may still be written.
		if c.nc.SetReadDeadline(now) != nil || c.nc.SetWriteDeadline(now.Add(closeGrace)) != nil {
			c.nc.Close()
		}
	}
	s.mu.Unlock()
	s.cancel()
	for _, ln := range lns {
		ln.Close()
	}
	s.opts.Engine.RemoveObserver(s.obs)
	s.wg.Wait()
	return nil
}

// broadcast hands an event to every subscriber; it never blocks.
func (s *Server) broadcast(ev engine.Event) {
	b, err := engine.MarshalEvent(ev)
	if err != nil {
		return
	}
	line := make([]byte, 0, len(b)+24)
	line = append(line, fmt.Sprintf(`{"ts":%d,`, time.Now().UnixMilli())...)
	line = append(line, b[1:]...)
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if !c.subscribed {
			continue
		}
		select {
		case c.events <- line:
		default:
			s.log.Warn("control: subscriber too slow; disconnecting it")
			c.nc.Close()
		}
	}
}

type conn struct {
	s          *Server
	nc         net.Conn
	wmu        sync.Mutex
	subscribed bool // under s.mu
	events     chan []byte
	done       chan struct{}
}

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) run() {
	defer c.s.wg.Done()
	var writer sync.WaitGroup
	writer.Add(1)
	go func() { // the event stream
		defer writer.Done()
		for {
			select {
			case line := <-c.events:
				if c.write(line) != nil {
					c.nc.Close()
					return
				}
			case <-c.done:
				return
			}
		}
	}()
	defer func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		close(c.done)
		writer.Wait()
		c.nc.Close()
	}()
	sc := bufio.NewScanner(c.nc)
	sc.Buffer(make([]byte, 4096), MaxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var req Request
		var rep Reply
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			rep = errorReply(nil, protocol.Errorf(protocol.CodeMalformedMessage, "not a JSON command: %w", err))
		} else {
			rep = c.s.do(c, req)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			b, _ = json.Marshal(errorReply(req.ID, protocol.Errorf(protocol.CodeInternal, "%w", err)))
		}
		if c.write(append(b, '\n')) != nil {
			return
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.s.log.Debug("control connection", "err", err)
	}
}

func errorReply(id json.RawMessage, err error) Reply {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		pe = &protocol.Error{Code: protocol.CodeOf(err), Message: err.Error()}
	}
	return Reply{ID: id, Error: &ReplyError{Code: pe.Code, Name: pe.Code.String(), Message: pe.Message}}
}

// Commands lists the commands a server knows, for help texts.
var Commands = []string{
	"status", "subscribe", "unsubscribe", "mute", "unmute", "camera on|off", "switch-camera [front|back]",
	"media audio|video", "invite USER...", "accept", "reject", "hangup", "speaker", "earpiece",
	"nickname NAME", "beauty 0..9", "ai-voice on|off", "blur LEVEL",
}

// aiVoicer and blurrer are engine features that may not be in this build;
// the commands answer "not supported yet" (5014) without them.
type aiVoicer interface{ EnableAIVoice(bool) error }
type aiVoicerNoErr interface{ EnableAIVoice(bool) }
type blurrer interface{ SetBlurBackground(level int) error }

func (s *Server) do(c *conn, req Request) Reply {
	res, err := s.exec(c, req)
	if err != nil {
		return errorReply(req.ID, err)
	}
	switch req.Cmd {
	case "status", "subscribe", "unsubscribe":
	default:
		if s.opts.OnCommand != nil {
			s.opts.OnCommand(strings.TrimSpace(req.Cmd + " " + strings.Join(req.Args, " ")))
		}
	}
	return Reply{ID: req.ID, OK: true, Result: res}
}

func badArgs(format string, args ...any) error {
	return protocol.Errorf(protocol.CodeInvalidArgument, format, args...)
}

func nargs(req Request, n int, usage string) error {
	if len(req.Args) != n {
		return badArgs("usage: %s", usage)
	}
	return nil
}

func onOff(req Request, usage string) (bool, error) {
	if err := nargs(req, 1, usage); err != nil {
		return false, err
	}
	switch strings.ToLower(req.Args[0]) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, badArgs("usage: %s", usage)
}

// handler runs one command against the engine; ctx bounds it
// (commandTimeout).
type handler func(s *Server, ctx context.Context, c *conn, req Request) (any, error)

// handlers are the commands by name (Commands lists them for people).
var handlers = map[string]handler{
	"status":        func(s *Server, _ context.Context, _ *conn, _ Request) (any, error) { return s.status(), nil },
	"subscribe":     (*Server).subscribe,
	"unsubscribe":   (*Server).subscribe,
	"mute":          (*Server).mute,
	"unmute":        (*Server).mute,
	"camera":        (*Server).camera,
	"switch-camera": (*Server).switchCamera,
	"media":         (*Server).media,
	"invite":        (*Server).invite,
	"accept":        (*Server).answer,
	"reject":        (*Server).answer,
	"hangup":        (*Server).answer,
	"speaker":       (*Server).playback,
	"earpiece":      (*Server).playback,
	"nickname":      (*Server).nickname,
	"beauty":        (*Server).beauty,
	"ai-voice":      (*Server).aiVoice,
	"blur":          (*Server).blur,
}

func (s *Server) exec(c *conn, req Request) (any, error) {
	if req.Cmd == "" {
		return nil, badArgs("no command (want {\"cmd\":...})")
	}
	h, ok := handlers[req.Cmd]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeUnknownControlCommand, "%q; known: %s", req.Cmd, strings.Join(Commands, ", "))
	}
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()
	return h(s, ctx, c, req)
}

func (s *Server) subscribe(_ context.Context, c *conn, req Request) (any, error) {
	s.mu.Lock()
	c.subscribed = req.Cmd == "subscribe"
	s.mu.Unlock()
	return nil, nil
}

// mute and unmute close and open the microphone.
func (s *Server) mute(ctx context.Context, _ *conn, req Request) (any, error) {
	if err := nargs(req, 0, req.Cmd); err != nil {
		return nil, err
	}
	if req.Cmd == "unmute" {
		return nil, s.opts.Engine.OpenMicrophone(ctx)
	}
	return nil, s.opts.Engine.CloseMicrophone(ctx)
}

func (s *Server) camera(ctx context.Context, _ *conn, req Request) (any, error) {
	e := s.opts.Engine
	on, err := onOff(req, "camera on|off")
	if err != nil {
		return nil, err
	}
	if on {
		return nil, e.OpenCamera(ctx, e.CurrentCamera())
	}
	return nil, e.CloseCamera(ctx)
}

// switchCamera switches to the other camera, or to the one named.
func (s *Server) switchCamera(ctx context.Context, _ *conn, req Request) (any, error) {
	e := s.opts.Engine
	const usage = "usage: switch-camera [front|back]"
	cam := engine.CameraBack
	if e.CurrentCamera() == engine.CameraBack {
		cam = engine.CameraFront
	}
	switch {
	case len(req.Args) > 1:
		return nil, badArgs(usage)
	case len(req.Args) == 1 && req.Args[0] == "front":
		cam = engine.CameraFront
	case len(req.Args) == 1 && req.Args[0] == "back":
		cam = engine.CameraBack
	case len(req.Args) == 1:
		return nil, badArgs(usage)
	}
	return nil, e.SwitchCamera(ctx, cam)
}

func (s *Server) media(ctx context.Context, _ *conn, req Request) (any, error) {
	if err := nargs(req, 1, "media audio|video"); err != nil {
		return nil, err
	}
	var mt engine.MediaType
	switch req.Args[0] {
	case "audio":
		mt = engine.MediaTypeAudio
	case "video":
		mt = engine.MediaTypeVideo
	default:
		return nil, badArgs("usage: media audio|video")
	}
	return nil, s.opts.Engine.SwitchCallMediaType(ctx, mt)
}

func (s *Server) invite(ctx context.Context, _ *conn, req Request) (any, error) {
	if len(req.Args) == 0 {
		return nil, badArgs("usage: invite USER...")
	}
	for _, u := range req.Args {
		if err := protocol.ValidateUserID(u); err != nil {
			return nil, err
		}
	}
	invited, err := s.opts.Engine.InviteUser(ctx, req.Args, engine.CallParams{})
	if err != nil {
		return nil, err
	}
	return map[string]any{"invited": invited}, nil
}

// answer is accept, reject and hangup.
func (s *Server) answer(ctx context.Context, _ *conn, req Request) (any, error) {
	e := s.opts.Engine
	if err := nargs(req, 0, req.Cmd); err != nil {
		return nil, err
	}
	switch req.Cmd {
	case "accept":
		return nil, e.Accept(ctx)
	case "reject":
		return nil, e.Reject(ctx)
	}
	return nil, e.Hangup(ctx)
}

// playback is speaker and earpiece.
func (s *Server) playback(_ context.Context, _ *conn, req Request) (any, error) {
	if err := nargs(req, 0, req.Cmd); err != nil {
		return nil, err
	}
	d := engine.AudioPlaybackSpeakerphone
	if req.Cmd == "earpiece" {
		d = engine.AudioPlaybackEarpiece
	}
	return nil, s.opts.Engine.SelectAudioPlaybackDevice(d)
}

func (s *Server) nickname(ctx context.Context, _ *conn, req Request) (any, error) {
	if len(req.Args) == 0 {
		return nil, badArgs("usage: nickname NAME")
	}
	return nil, s.opts.Engine.SetSelfInfo(ctx, strings.Join(req.Args, " "), "")
}

func (s *Server) beauty(_ context.Context, _ *conn, req Request) (any, error) {
	if err := nargs(req, 1, "beauty 0..9"); err != nil {
		return nil, err
	}
	var level float64
	if _, err := fmt.Sscanf(req.Args[0], "%g", &level); err != nil {
		return nil, badArgs("beauty %q: want a number 0..9", req.Args[0])
	}
	if err := s.opts.Engine.SetBeautyLevel(level); err != nil {
		return nil, err
	}
	if s.opts.OnBeauty != nil {
		s.opts.OnBeauty(level)
	}
	return nil, nil
}

func (s *Server) aiVoice(_ context.Context, _ *conn, req Request) (any, error) {
	on, err := onOff(req, "ai-voice on|off")
	if err != nil {
		return nil, err
	}
	switch v := any(s.opts.Engine).(type) {
	case aiVoicer:
		return nil, v.EnableAIVoice(on)
	case aiVoicerNoErr:
		v.EnableAIVoice(on)
		return nil, nil
	}
	return nil, protocol.Errorf(protocol.CodeNotSupportedYet, "AI noise suppression is not in this build")
}

func (s *Server) blur(_ context.Context, _ *conn, req Request) (any, error) {
	if err := nargs(req, 1, "blur LEVEL"); err != nil {
		return nil, err
	}
	var level int
	if _, err := fmt.Sscanf(req.Args[0], "%d", &level); err != nil {
		return nil, badArgs("blur %q: want a whole number", req.Args[0])
	}
	if b, ok := any(s.opts.Engine).(blurrer); ok {
		return nil, b.SetBlurBackground(level)
	}
	return nil, protocol.Errorf(protocol.CodeNotSupportedYet, "background blur is not in this build")
}

func (s *Server) status() Status {
	e := s.opts.Engine
	st := Status{
		User: e.UserID(), Connection: e.ConnectionState().String(), Status: e.Status().String(),
		Microphone: e.IsMicrophoneOpen(), Camera: e.IsCameraOpen(), Playback: e.AudioPlaybackDevice().String(),
		Beauty: e.BeautyLevel(), CameraID: "front",
	}
	if e.CurrentCamera() == engine.CameraBack {
		st.CameraID = "back"
	}
	if info, ok := e.CurrentCall(); ok {
		st.Call = &info
	}
	return st
}
