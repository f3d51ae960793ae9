package callvideo

import (
	"context"
	"fmt"
	"image"
	"sync"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/video"
)

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
	eng     Engine
	closed  bool
	frames  int
	keys    int
	beauty  float64
	bg      *background // blur / virtual background (background.go)

	scratch []uint8 // the beauty filter's, used by ReadVP8Frame only
}

// NewSource opens the source named name.
func NewSource(name string, opts Options) (*Source, error) {
	s := &Source{opts: opts, names: [2]string{name, opts.Back}, bg: &background{}}
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

func (s *Source) setEngine(e Engine) {
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
		beauty, bg := s.beauty, s.bg
		s.mu.Unlock()
		if yc, ok := f.Image.(*image.YCbCr); ok {
			bg.apply(yc) // before beauty: the model sees the camera's picture
			if beauty > 0 {
				s.scratch = smoothLuma(yc, beauty, s.scratch)
			}
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
