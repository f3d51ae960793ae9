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
	"path/filepath"
	"strings"
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
	// RecordVideo writes the video received from the others, as assembled
	// (VP8, no re-encoding), to this IVF file; with RecordPerUser each
	// user's to FILE-<user>.ivf instead (FILE without its .ivf). A user's
	// recording starts at their first keyframe; timestamps are the RTP
	// ones (IVF timebase 1/90000).
	RecordVideo   string
	RecordPerUser bool
	// RecordDir writes, per call, each other user's video to
	// DIR/<callId>-<userId>.ivf (only when they send video); the file is
	// finished when the call ends.
	RecordDir string
	// Logger gets warnings (default slog.Default()).
	Logger *slog.Logger
	// RenderMode is Render's terminal picture mode (a video.ParseMode
	// name, the video.render config key); "" or "auto" detects it from the
	// environment (video.DetectMode).
	RenderMode string
}

// RecordingName returns the file name of a user's video recording in a
// call (Options.RecordDir).
func RecordingName(dir, callID, userID string) string {
	return filepath.Join(dir, callID+"-"+userID+".ivf")
}

// PerUserName returns the file a user's video goes to with
// Options.RecordPerUser: FILE-<user>.ivf.
func PerUserName(file, userID string) string {
	base := file
	if strings.EqualFold(filepath.Ext(base), ".ivf") {
		base = base[:len(base)-len(filepath.Ext(base))]
	}
	return base + "-" + userID + ".ivf"
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
	v.sink.log = opts.Logger
	switch {
	case opts.RecordDir != "":
		if st, err := os.Stat(opts.RecordDir); err != nil || !st.IsDir() {
			if err == nil {
				err = errors.New("not a directory")
			}
			return nil, fmt.Errorf("record dir %s: %w", opts.RecordDir, err)
		}
		v.sink.recordPath = func(callID, user string) string {
			if callID == "" {
				callID = "nocall"
			}
			return RecordingName(opts.RecordDir, callID, user)
		}
		v.sink.closeOnEnd = true
	case opts.RecordVideo != "":
		if !strings.EqualFold(filepath.Ext(opts.RecordVideo), ".ivf") {
			return nil, fmt.Errorf("--record-video %s: the file name must end in .ivf", opts.RecordVideo)
		}
		var mu sync.Mutex
		first := ""
		v.sink.recordPath = func(_, user string) string {
			if opts.RecordPerUser {
				return PerUserName(opts.RecordVideo, user)
			}
			mu.Lock()
			defer mu.Unlock()
			if first == "" {
				first = user
			}
			if user != first {
				return "" // one file holds one user (RecordPerUser for more)
			}
			return opts.RecordVideo
		}
	}
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
	if v.opts.ViewAll || v.sink.closeOnEnd {
		v.obs = engine.NewObserver(func(ev engine.Event) {
			switch ev := ev.(type) {
			case engine.CallEnd:
				v.sink.endCall(ev.CallID)
			case engine.CallCancelled:
				v.sink.endCall(ev.CallID)
			}
			if ev, ok := ev.(engine.UserVideoAvailable); ok && v.opts.ViewAll {
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
	if rerr := v.sink.Close(); err == nil {
		err = rerr
	}
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
	r := video.NewRenderer(video.DetectMode(func(k string) string {
		if k == video.RenderModeEnv && v.opts.RenderMode != "" {
			return v.opts.RenderMode // the option stands where the variable would
		}
		return os.Getenv(k)
	}))
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
	keys    int
	beauty  float64

	scratch []uint8 // the beauty filter's, used by ReadVP8Frame only
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
		beauty := s.beauty
		s.mu.Unlock()
		if yc, ok := f.Image.(*image.YCbCr); ok && beauty > 0 {
			s.scratch = smoothLuma(yc, beauty, s.scratch)
		}
		frame, key, err := enc.Encode(f.Image)
		if err != nil {
			return nil, false, err
		}
		if frame == nil {
			continue
		}
		s.mu.Lock()
		s.frames++
		if key {
			s.keys++
		}
		s.mu.Unlock()
		return frame, key, nil
	}
}

// Keyframes counts the keyframes encoded so far.
func (s *Source) Keyframes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys
}

// SetBeautyLevel sets the beauty filter's strength, 0 (off) to 9, applied
// to the luma plane of every frame before encoding (engine.BeautySetter).
func (s *Source) SetBeautyLevel(level float64) {
	s.mu.Lock()
	s.beauty = min(max(level, 0), 9)
	s.mu.Unlock()
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

// SetBitrate caps the bitrate at kbps (from the engine's bandwidth estimate); it never
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

	log        *slog.Logger
	recordPath func(callID, user string) string // nil: no recording
	closeOnEnd bool                             // recordings end with their call
}

type remote struct {
	mu     sync.Mutex // serialises Push against RemoveVideoUser
	rx     *video.Receiver
	last   *image.YCbCr
	n      int
	at     time.Time // when last was decoded
	failed bool
	rec    *recording
}

// recording is one user's IVF recording; guarded by its remote's mu.
type recording struct {
	callID string
	f      *os.File
	w      *video.IVFWriter
	lastTS uint32
	pts    uint64
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
		if s.recordPath != nil {
			rx.OnFrame = func(f video.AssembledFrame) { s.record(userID, r, eng, f) }
		}
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

// record appends an assembled frame to userID's recording, opening it at
// the first keyframe; r.mu is held.
func (s *Sink) record(userID string, r *remote, eng *engine.Engine, f video.AssembledFrame) {
	rec := r.rec
	if rec != nil && rec.failed {
		return
	}
	if rec == nil {
		if !f.Keyframe {
			return
		}
		w, h, ok := video.KeyframeSize(f.Data)
		if !ok {
			return
		}
		var callID string
		if eng != nil {
			if info, ok := eng.CurrentCall(); ok {
				callID = info.CallID
			}
		}
		rec = &recording{callID: callID, lastTS: f.Timestamp}
		r.rec = rec
		path := s.recordPath(callID, userID)
		if path == "" {
			rec.failed = true
			s.logger().Warn("not recording video: --record-video holds one user", "user", userID)
			return
		}
		file, err := os.Create(path)
		if err == nil {
			rec.f = file
			rec.w, err = video.NewIVFWriter(file, w, h, video.ClockRate)
		}
		if err != nil {
			rec.failed = true
			s.logger().Warn("recording video", "user", userID, "file", path, "err", err)
			if rec.f != nil {
				rec.f.Close()
			}
			return
		}
	} else {
		d := int32(f.Timestamp - rec.lastTS)
		if d <= 0 {
			d = 1
		}
		rec.pts += uint64(d)
		rec.lastTS = f.Timestamp
	}
	if err := rec.w.WriteFrame(f.Data, rec.pts); err != nil {
		rec.failed = true
		s.logger().Warn("recording video", "user", userID, "err", err)
	}
}

func (s *Sink) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// endCall finishes the recordings of callID (Options.RecordDir).
func (s *Sink) endCall(callID string) {
	if !s.closeOnEnd {
		return
	}
	for _, r := range s.remotes() {
		r.mu.Lock()
		if r.rec != nil && r.rec.callID == callID {
			if err := r.rec.close(); err != nil {
				s.logger().Warn("finishing a video recording", "err", err)
			}
			r.rec = nil
		}
		r.mu.Unlock()
	}
}

func (rec *recording) close() error {
	if rec.w != nil {
		return rec.w.Close() // closes the file
	}
	return nil
}

func (s *Sink) remotes() []*remote {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := make([]*remote, 0, len(s.users))
	for _, r := range s.users {
		rs = append(rs, r)
	}
	return rs
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

// Close frees every decoder and finishes the recordings; it returns the
// first error finishing one.
func (s *Sink) Close() error {
	s.mu.Lock()
	users := make([]string, 0, len(s.users))
	for u := range s.users {
		users = append(users, u)
	}
	s.mu.Unlock()
	var first error
	for _, u := range users {
		s.RemoveVideoUser(u)
	}
	for _, r := range s.remotes() {
		r.mu.Lock()
		if r.rec != nil {
			if err := r.rec.close(); err != nil && first == nil {
				first = err
			}
			r.rec = nil
		}
		r.mu.Unlock()
	}
	return first
}

// DefaultCamera names the source --video uses without --camera: the first
// camera ("camera:"), else the test pattern ("pattern:").
func DefaultCamera() string {
	if devs, err := video.Devices(); err == nil && len(devs) > 0 {
		return "camera:"
	}
	return "pattern:"
}
