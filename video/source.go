package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrBadName is wrapped by errors about an unparseable source name.
var ErrBadName = errors.New("video: bad source name")

// ErrBadFile is wrapped by errors about a corrupt or unsupported video
// file (Y4M or IVF).
var ErrBadFile = errors.New("video: bad video file")

// ErrNoCamera is wrapped by errors opening a camera when there is none,
// or not the one asked for.
var ErrNoCamera = errors.New("video: no camera")

// Frame is one picture from a Source.
type Frame struct {
	// Image is the picture. Every built-in source returns a 4:2:0
	// *image.YCbCr in video-range BT.601 (what VP8 carries), freshly
	// allocated: the caller owns it.
	Image image.Image
	// PTS is the presentation time relative to the source's first frame.
	PTS time.Duration
	// Index counts frames from 0.
	Index int
}

// SourceInfo describes a source.
type SourceInfo struct {
	Name          string // the name it was opened with
	Width, Height int    // frame size (a camera may deliver another size)
	FPS           int    // nominal frame rate
	// Live sources (cameras) deliver frames in real time: ReadFrame
	// blocks until the next one. The others return frames as fast as
	// they are read; pace them with Paced or a Pacer.
	Live bool
}

// Source produces video frames. ReadFrame returns io.EOF at the end of
// a finite source. Close releases the device or file; ReadFrame after
// Close returns an error. Sources are not safe for concurrent ReadFrame
// calls; Close may be called from another goroutine.
type Source interface {
	ReadFrame() (Frame, error)
	Info() SourceInfo
	Close() error
}

// OpenOption modifies Open.
type OpenOption func(*openOptions)

type openOptions struct {
	w, h int
	fps  int
	loop bool
}

// Loop makes a file source start over at its end instead of returning
// io.EOF.
func Loop(on bool) OpenOption { return func(o *openOptions) { o.loop = on } }

// WithSize asks for a frame size: the size of the test pattern (unless
// the name gives one) and the preferred camera capture size. Files keep
// their own size.
func WithSize(w, h int) OpenOption { return func(o *openOptions) { o.w, o.h = w, h } }

// WithFPS sets the frame rate of the test pattern and the preferred
// camera rate (default DefaultFPS).
func WithFPS(fps int) OpenOption { return func(o *openOptions) { o.fps = fps } }

// Open returns the video source named by name:
//
//	pattern:                 the moving test pattern at 640x360 (or WithSize)
//	pattern:WxH[@FPS]        the test pattern at that size (and rate)
//	camera:                  the first camera (mediadevices, V4L2 on Linux)
//	camera:/dev/video0       a camera by device path, label or name
//	camera:video0            (a substring of Devices' ID, Label or Name)
//	file:PATH, PATH.y4m,     a Y4M (YUV4MPEG2, 8-bit 4:2:0, 4:2:2, 4:4:4
//	PATH.ivf                 or mono) or IVF (VP8) file, decoded as read;
//	                         recognized by content, not extension
//
// A malformed name gives an error wrapping ErrBadName, a bad file one
// wrapping ErrBadFile, and a missing camera one wrapping ErrNoCamera.
func Open(name string, opts ...OpenOption) (Source, error) {
	o := newOpenOptions(opts)
	lower := strings.ToLower(name)
	switch {
	case isScheme(lower, "pattern"):
		return openPattern(name, strings.TrimPrefix(strings.TrimPrefix(lower, "pattern"), ":"), o)
	case isScheme(lower, "camera"):
		dev := ""
		if i := strings.IndexByte(name, ':'); i >= 0 {
			dev = name[i+1:]
		}
		return openCamera(name, dev, o)
	case strings.HasPrefix(lower, "file:"):
		return OpenFile(name[5:], o.loop)
	case strings.HasSuffix(lower, ".y4m") || strings.HasSuffix(lower, ".ivf"):
		return OpenFile(name, o.loop)
	}
	if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() {
		return OpenFile(name, o.loop)
	}
	return nil, fmt.Errorf("%w: %q (want pattern:[WxH], camera:[DEVICE], file:PATH, PATH.y4m or PATH.ivf)", ErrBadName, name)
}

func newOpenOptions(opts []OpenOption) openOptions {
	o := openOptions{fps: DefaultFPS}
	for _, f := range opts {
		f(&o)
	}
	if o.fps <= 0 {
		o.fps = DefaultFPS
	}
	return o
}

// isScheme reports whether the (lower-case) source name is scheme alone
// or scheme:SOMETHING.
func isScheme(lower, scheme string) bool {
	return lower == scheme || strings.HasPrefix(lower, scheme+":")
}

// openPattern opens the test pattern named name, spec its WxH[@FPS] part
// ("": the options' size, 640x360 by default).
func openPattern(name, spec string, o openOptions) (Source, error) {
	w, h, fps := o.w, o.h, o.fps
	if w <= 0 || h <= 0 {
		w, h = 640, 360
	}
	if spec != "" {
		var err error
		if w, h, fps, err = parseSize(spec, fps); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadName, name, err)
		}
	}
	p := NewPattern(w, h, fps)
	p.name = name
	return p, nil
}

// parseSize parses "WxH" or "WxH@FPS".
func parseSize(spec string, fps int) (w, h, f int, err error) {
	f = fps
	if i := strings.IndexByte(spec, '@'); i >= 0 {
		if f, err = parseFPS(spec[i+1:]); err != nil {
			return 0, 0, 0, err
		}
		spec = spec[:i]
	}
	ws, hs, ok := strings.Cut(spec, "x")
	if !ok {
		return 0, 0, 0, fmt.Errorf("bad size %q (want WxH)", spec)
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 2 || h < 2 || w > 4096 || h > 4096 {
		return 0, 0, 0, fmt.Errorf("bad size %q (want WxH, 2..4096)", spec)
	}
	return w, h, f, nil
}

// parseFPS parses a frame rate, 1..120.
func parseFPS(s string) (int, error) {
	f, err := strconv.Atoi(s)
	if err != nil || f <= 0 || f > 120 {
		return 0, fmt.Errorf("bad frame rate %q", s)
	}
	return f, nil
}

// Pacer releases a caller once per period on an absolute schedule (no
// drift). When the caller falls more than 5 periods behind it resyncs
// instead of bursting.
type Pacer struct {
	period time.Duration
	next   time.Time
	now    func() time.Time
}

// NewPacer returns a Pacer ticking fps times a second.
func NewPacer(fps int) *Pacer {
	if fps <= 0 {
		fps = DefaultFPS
	}
	return &Pacer{period: time.Second / time.Duration(fps), now: time.Now}
}

// Period returns the tick period.
func (p *Pacer) Period() time.Duration { return p.period }

// Wait blocks until the next tick or until ctx is done (then it returns
// ctx.Err()). The first call returns at once.
func (p *Pacer) Wait(ctx context.Context) error {
	now := p.now()
	if p.next.IsZero() || now.Sub(p.next) > 5*p.period {
		p.next = now.Add(p.period)
		return ctx.Err()
	}
	d := p.next.Sub(now)
	p.next = p.next.Add(p.period)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Paced wraps a non-live source so that each ReadFrame waits for the
// next tick at fps (0: the source's own rate). Live sources are returned
// unchanged. Close interrupts a waiting ReadFrame.
func Paced(src Source, fps int) Source {
	info := src.Info()
	if info.Live {
		return src
	}
	if fps <= 0 {
		fps = info.FPS
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &pacedSource{Source: src, p: NewPacer(fps), ctx: ctx, cancel: cancel}
}

type pacedSource struct {
	Source
	p      *Pacer
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *pacedSource) ReadFrame() (Frame, error) {
	if err := s.p.Wait(s.ctx); err != nil {
		return Frame{}, fmt.Errorf("video: source closed: %w", err)
	}
	return s.Source.ReadFrame()
}

func (s *pacedSource) Close() error {
	s.cancel()
	return s.Source.Close()
}
