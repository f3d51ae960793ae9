// Package callvideo wires a process's video to one engine: the uplink (a
// camera, the test pattern or a file, encoded to VP8 at the engine's
// encoder parameters) as an engine.VideoSource, and the downlink (one
// frame assembler and decoder per viewed remote user, keeping the latest
// picture) as an engine.VideoSink. Render draws the latest remote picture
// in a terminal.
package callvideo

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/video"
)

// Options say where a process's call video comes from.
type Options struct {
	// Camera names the source (see video.Open): "pattern:[WxH[@FPS]]",
	// "camera:[DEVICE]", "file:PATH", PATH.y4m, PATH.ivf. Back names the
	// back camera's source (SwitchCamera); "" means Camera.
	Camera, Back string
	// FPS is the frame rate to send at (0: the source's, else 15).
	FPS int
	// BitrateKbps overrides the resolution table's bitrate (0: the table's).
	BitrateKbps int
	// Loop plays a file source over and over.
	Loop bool
	// ViewAll views every remote user whose camera is on (StartRemoteView
	// on UserVideoAvailable(true), StopRemoteView on false).
	ViewAll bool
	// Logger gets warnings (default slog.Default()).
	Logger *slog.Logger
}

// Video is the running video of one process. Its methods are safe for
// concurrent use.
type Video struct {
	opts Options
	log  *slog.Logger
	src  *Source
	sink *Sink
	eng  *engine.Engine
	obs  engine.Observer
}

// Open opens the source named by opts (a bad name, file or camera fails
// here, before any call).
func Open(opts Options) (*Video, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	v := &Video{opts: opts, log: opts.Logger, sink: NewSink()}
	if opts.Camera != "" {
		src, err := NewSource(opts.Camera, opts)
		if err != nil {
			return nil, err
		}
		v.src = src
	}
	return v, nil
}

// Source returns the uplink source (nil without a camera).
func (v *Video) Source() *Source { return v.src }

// Sink returns the downlink sink.
func (v *Video) Sink() *Sink { return v.sink }

// Attach sets the engine's video source and sink, and with ViewAll views
// the others as their cameras open.
func (v *Video) Attach(eng *engine.Engine) {
	v.eng = eng
	v.sink.SetEngine(eng)
	if v.src != nil {
		v.src.setEngine(eng)
		eng.SetVideo(v.src, v.sink)
	} else {
		eng.SetVideo(nil, v.sink)
	}
	if v.opts.ViewAll {
		v.obs = engine.NewObserver(func(ev engine.Event) {
			if ev, ok := ev.(engine.UserVideoAvailable); ok {
				if ev.IsVideoAvailable {
					if err := eng.StartRemoteView(ev.UserID); err != nil {
						v.log.Warn("viewing a user", "user", ev.UserID, "err", err)
					}
				} else {
					eng.StopRemoteView(ev.UserID)
				}
			}
		})
		eng.AddObserver(v.obs)
	}
}

// LastFrame returns the latest picture decoded from userID and how many
// pictures were decoded from them (nil, 0 if none).
func (v *Video) LastFrame(userID string) (image.Image, int) { return v.sink.LastFrame(userID) }

// SaveFrame writes the latest decoded remote picture (of any user) to a
// PNG file; it fails if there is none.
func (v *Video) SaveFrame(path string) error {
	_, img, _ := v.sink.Latest()
	if img == nil {
		return errors.New("no remote video frame was decoded")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close detaches from the engine and releases the source and decoders.
func (v *Video) Close() error {
	if v.eng != nil {
		if v.obs != nil {
			v.eng.RemoveObserver(v.obs)
		}
		v.eng.SetVideo(nil, nil)
	}
	var err error
	if v.src != nil {
		err = v.src.Close()
	}
	v.sink.Close()
	return err
}

// Render draws the latest remote picture on w (a terminal whose size is
// size()) about fps times a second until ctx is done; it draws only when a
// new picture was decoded. The picture takes the terminal's top-left
// area, cursor-addressed, with the user's render params.
func (v *Video) Render(ctx context.Context, w io.Writer, size func() (cols, rows int), fps int) {
	if fps <= 0 {
		fps = 10
	}
	r := video.NewRenderer(video.DetectMode(os.Getenv))
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	lastN := -1
	lastUser := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		user, img, n := v.sink.Latest()
		if img == nil || (n == lastN && user == lastUser) {
			continue
		}
		lastN, lastUser = n, user
		cols, rows := size()
		rows-- // keep a line for the status messages
		if cols <= 0 || rows <= 0 {
			continue
		}
		if v.eng != nil {
			p := v.eng.VideoRenderParams(user)
			r.FillMode, r.Rotation = video.FillMode(p.FillMode), video.Rotation(p.Rotation)
		}
		out := r.Render(img, cols, rows)
		if _, err := fmt.Fprintf(w, "\x1b7\x1b[H%s\x1b8", out); err != nil {
			return
		}
	}
}

// Source is an engine.VideoSource: a video.Source encoded to VP8 at the
// engine's encoder parameters, paced at its frame rate (non-live sources
// by a pacer, cameras by themselves). It implements KeyframeRequester,
// BitrateSetter and CameraSwitcher.
type Source struct {
	opts Options

	mu      sync.Mutex
	src     video.Source // guarded by mu for switching; read by ReadVP8Frame
	names   [2]string    // front, back
	cur     engine.Camera
	enc     *video.Encoder
	encFor  engine.VideoEncoderParams
	pacer   *video.Pacer
	fps     int
	force   bool
	bitrate int // last REMB/SetBitrate, 0 = the table's
	eng     *engine.Engine
	closed  bool
	frames  int
}

// NewSource opens the source named name.
func NewSource(name string, opts Options) (*Source, error) {
	s := &Source{opts: opts, names: [2]string{name, opts.Back}}
	if s.names[1] == "" {
		s.names[1] = name
	}
	src, err := s.open(name)
	if err != nil {
		return nil, err
	}
	s.setSource(src)
	return s, nil
}

func (s *Source) open(name string) (video.Source, error) {
	var o []video.OpenOption
	if s.opts.FPS > 0 {
		o = append(o, video.WithFPS(s.opts.FPS))
	}
	o = append(o, video.Loop(s.opts.Loop))
	src, err := video.Open(name, o...)
	if err != nil {
		return nil, fmt.Errorf("video source %s: %w", name, err)
	}
	return src, nil
}

// setSource installs src (s.mu held or not yet shared).
func (s *Source) setSource(src video.Source) {
	s.src = src
	info := src.Info()
	s.fps = s.opts.FPS
	if s.fps <= 0 {
		s.fps = info.FPS
	}
	if s.fps <= 0 {
		s.fps = video.DefaultFPS
	}
	s.pacer = nil
	if !info.Live {
		s.pacer = video.NewPacer(s.fps)
	}
	s.force = true
}

func (s *Source) setEngine(e *engine.Engine) {
	s.mu.Lock()
	s.eng = e
	s.mu.Unlock()
}

// Info describes the current underlying source.
func (s *Source) Info() video.SourceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Info()
}

// Frames counts the frames encoded so far.
func (s *Source) Frames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}

// ReadVP8Frame waits for the next frame, reads and encodes it.
func (s *Source) ReadVP8Frame(ctx context.Context) ([]byte, bool, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, video.ErrClosed
		}
		src, pacer := s.src, s.pacer
		s.mu.Unlock()
		if pacer != nil {
			if err := pacer.Wait(ctx); err != nil {
				return nil, false, err
			}
		} else if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		f, err := src.ReadFrame()
		if err != nil {
			return nil, false, err // io.EOF ends a file
		}
		s.mu.Lock()
		if s.src != src { // switched meanwhile
			s.mu.Unlock()
			continue
		}
		enc, err := s.encoderLocked()
		if err != nil {
			s.mu.Unlock()
			return nil, false, err
		}
		if s.force {
			enc.ForceKeyframe()
			s.force = false
		}
		s.mu.Unlock()
		frame, key, err := enc.Encode(f.Image)
		if err != nil {
			return nil, false, err
		}
		if frame == nil {
			continue
		}
		s.mu.Lock()
		s.frames++
		s.mu.Unlock()
		return frame, key, nil
	}
}

// encoderLocked returns an encoder for the engine's current encoder
// parameters, making a new one when they changed.
func (s *Source) encoderLocked() (*video.Encoder, error) {
	want := engine.VideoEncoderParams{Resolution: engine.Resolution640x360}
	if s.eng != nil {
		want = s.eng.VideoEncoderParams()
	}
	if s.enc != nil && want == s.encFor {
		return s.enc, nil
	}
	p, ok := video.EncoderParamsFor(want.Resolution, want.ResolutionMode, s.fps)
	if !ok {
		return nil, fmt.Errorf("video: unknown resolution %d", want.Resolution)
	}
	if s.opts.BitrateKbps > 0 {
		p.BitrateKbps = s.opts.BitrateKbps
	}
	if s.bitrate > 0 {
		p.BitrateKbps = min(p.BitrateKbps, s.bitrate)
	}
	enc, err := video.NewEncoder(p)
	if err != nil {
		return nil, err
	}
	if s.enc != nil {
		s.enc.Close()
	}
	s.enc, s.encFor = enc, want
	return enc, nil
}

// ForceKeyframe makes the next frame a keyframe.
func (s *Source) ForceKeyframe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc != nil {
		s.enc.ForceKeyframe()
	} else {
		s.force = true
	}
}

// SetBitrate caps the bitrate at kbps (from the server's REMB); it never
// goes above the configured bitrate.
func (s *Source) SetBitrate(kbps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bitrate = kbps
	if s.enc != nil {
		p, ok := video.EncoderParamsFor(s.encFor.Resolution, s.encFor.ResolutionMode, s.fps)
		if ok && s.opts.BitrateKbps > 0 {
			p.BitrateKbps = s.opts.BitrateKbps
		}
		_ = s.enc.SetBitrate(min(p.BitrateKbps, kbps))
	}
}

// SwitchCamera opens the other camera's source (Options.Back) when it
// differs from the current one.
func (s *Source) SwitchCamera(camera engine.Camera) error {
	if camera != engine.CameraFront && camera != engine.CameraBack {
		return fmt.Errorf("camera %d", camera)
	}
	s.mu.Lock()
	same := s.names[camera] == s.names[s.cur]
	s.mu.Unlock()
	if same {
		s.mu.Lock()
		s.cur = camera
		s.mu.Unlock()
		return nil
	}
	src, err := s.open(s.names[camera])
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.src
	s.setSource(src)
	s.cur = camera
	s.mu.Unlock()
	return old.Close()
}

// Close closes the underlying source and the encoder.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.enc != nil {
		s.enc.Close()
	}
	return s.src.Close()
}

// Sink is an engine.VideoSink: one video.Receiver per remote user,
// keeping the latest decoded picture and counting them.
type Sink struct {
	mu     sync.Mutex
	eng    *engine.Engine
	users  map[string]*remote
	latest string // the user last decoded
}

type remote struct {
	mu     sync.Mutex // serialises Push against RemoveVideoUser
	rx     *video.Receiver
	last   *image.YCbCr
	n      int
	at     time.Time // when last was decoded
	failed bool
}

// NewSink returns an empty sink.
func NewSink() *Sink { return &Sink{users: make(map[string]*remote)} }

// SetEngine sets the engine asked for keyframes.
func (s *Sink) SetEngine(e *engine.Engine) {
	s.mu.Lock()
	s.eng = e
	s.mu.Unlock()
}

func (s *Sink) user(id string) (*remote, *engine.Engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.users[id]
	if r == nil {
		r = &remote{}
		s.users[id] = r
	}
	return r, s.eng
}

// WriteVideoRTP assembles and decodes userID's packets.
func (s *Sink) WriteVideoRTP(userID string, pkt *rtp.Packet) {
	r, eng := s.user(userID)
	r.mu.Lock()
	if r.rx == nil && !r.failed {
		rx, err := video.NewReceiver()
		if err != nil {
			r.failed = true
			r.mu.Unlock()
			return
		}
		r.rx = rx
	}
	if r.rx == nil {
		r.mu.Unlock()
		return
	}
	pic, ask := r.rx.Push(pkt)
	if pic != nil {
		r.last, r.at = pic, time.Now()
		r.n++
	}
	r.mu.Unlock()
	if pic != nil {
		s.mu.Lock()
		s.latest = userID
		s.mu.Unlock()
	}
	if ask && eng != nil {
		eng.RequestKeyframe(userID)
	}
}

// RemoveVideoUser frees userID's decoder; the latest picture and the count
// stay (LastFrame).
func (s *Sink) RemoveVideoUser(userID string) {
	s.mu.Lock()
	r := s.users[userID]
	s.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.rx != nil {
		r.rx.Close()
		r.rx = nil
	}
	r.mu.Unlock()
}

// LastFrame returns userID's latest decoded picture and how many were
// decoded.
func (s *Sink) LastFrame(userID string) (image.Image, int) {
	s.mu.Lock()
	r := s.users[userID]
	s.mu.Unlock()
	if r == nil {
		return nil, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil, r.n
	}
	return r.last, r.n
}

// Latest returns the user whose picture was decoded last, that picture,
// and that user's count.
func (s *Sink) Latest() (string, image.Image, int) {
	s.mu.Lock()
	u := s.latest
	s.mu.Unlock()
	if u == "" {
		return "", nil, 0
	}
	img, n := s.LastFrame(u)
	return u, img, n
}

// Close frees every decoder.
func (s *Sink) Close() {
	s.mu.Lock()
	users := make([]string, 0, len(s.users))
	for u := range s.users {
		users = append(users, u)
	}
	s.mu.Unlock()
	for _, u := range users {
		s.RemoveVideoUser(u)
	}
}

// DefaultCamera names the source --video uses without --camera: the first
// camera ("camera:"), else the test pattern ("pattern:").
func DefaultCamera() string {
	if devs, err := video.Devices(); err == nil && len(devs) > 0 {
		return "camera:"
	}
	return "pattern:"
}
