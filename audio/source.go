package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrBadFile is wrapped by errors about a corrupt or unsupported audio
// file; Open and SetCallingBell return it before anything plays.
var ErrBadFile = errors.New("audio: bad audio file")

// ErrBadName is wrapped by errors about an unparseable source or sink name.
var ErrBadName = errors.New("audio: bad source/sink name")

// MaxFileDuration caps decoded files (they are held in memory: 20 min of
// 48 kHz mono is 110 MB).
const MaxFileDuration = 20 * time.Minute

const maxFileSamples = int(MaxFileDuration / time.Second * SampleRate)

// Source produces 48 kHz mono audio a frame at a time. ReadFrame fills
// all of pcm (normally FrameSamples long); a finite source pads its last
// frame with silence and then returns io.EOF. Sources are not paced: the
// caller reads in real time (a device callback, a Pacer, Paced).
type Source interface {
	ReadFrame(pcm []int16) error
}

// Sink consumes 48 kHz mono audio. Close finishes the file (headers,
// last page) and closes it.
type Sink interface {
	WriteFrame(pcm []int16) error
	Close() error
}

// OpenOption modifies Open.
type OpenOption func(*openOptions)

type openOptions struct{ loop bool }

// Loop makes a file source start over at its end instead of returning
// io.EOF (a tone with a duration loops too).
func Loop(on bool) OpenOption { return func(o *openOptions) { o.loop = on } }

// Open returns the source named by name:
//
//	null, silence             endless silence
//	tone:440                  endless sine at 440 Hz, amplitude 0.3 FS
//	tone:440:3s               the same for 3 s (a Go duration, or seconds)
//	ring, ringback            the built-in ringtone / ringback tone (endless)
//	file:PATH, PATH.wav,      a WAV (PCM 8/16/24/32-bit or float, any rate and
//	PATH.ogg, PATH.opus       channel count) or Ogg Opus file, decoded to 48 kHz
//	                          mono in memory at Open
//
// Files are recognized by content, not extension. A corrupt or
// unsupported file gives an error wrapping ErrBadFile; a malformed name
// one wrapping ErrBadName.
func Open(name string, opts ...OpenOption) (Source, error) {
	var o openOptions
	for _, f := range opts {
		f(&o)
	}
	lower := strings.ToLower(name)
	switch {
	case lower == "null" || lower == "silence":
		return NullSource{}, nil
	case lower == "ring":
		return NewRingSource(), nil
	case lower == "ringback":
		return NewRingbackSource(), nil
	case strings.HasPrefix(lower, "tone:"):
		return parseTone(name[5:], o.loop)
	case strings.HasPrefix(lower, "file:"):
		return openFile(name[5:], o.loop)
	case strings.HasSuffix(lower, ".wav"), strings.HasSuffix(lower, ".ogg"),
		strings.HasSuffix(lower, ".opus"), strings.HasSuffix(lower, ".oga"):
		return openFile(name, o.loop)
	}
	return nil, fmt.Errorf("%w: %q (want null, tone:HZ[:DUR], ring, ringback, file:PATH, PATH.wav or PATH.ogg)", ErrBadName, name)
}

func parseTone(spec string, loop bool) (Source, error) {
	parts := strings.Split(spec, ":")
	if len(parts) > 2 {
		return nil, fmt.Errorf("%w: tone:%s", ErrBadName, spec)
	}
	f, err := strconv.ParseFloat(parts[0], 64)
	if err != nil || f <= 0 || f >= SampleRate/2 || math.IsNaN(f) {
		return nil, fmt.Errorf("%w: tone frequency %q (want 0 < Hz < 24000)", ErrBadName, parts[0])
	}
	t := NewTone(f, 0.3)
	if len(parts) == 2 {
		d, err := time.ParseDuration(parts[1])
		if err != nil {
			s, err2 := strconv.ParseFloat(parts[1], 64)
			if err2 != nil {
				return nil, fmt.Errorf("%w: tone duration %q", ErrBadName, parts[1])
			}
			d = time.Duration(s * float64(time.Second))
		}
		if d <= 0 {
			return nil, fmt.Errorf("%w: tone duration %q", ErrBadName, parts[1])
		}
		t.total = int(d.Seconds() * SampleRate)
		t.left = t.total
		t.loop = loop
	}
	return t, nil
}

func openFile(path string, loop bool) (Source, error) {
	pcm, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return NewPCMSource(pcm, loop), nil
}

// LoadFile decodes a WAV or Ogg Opus file to 48 kHz mono.
func LoadFile(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: %s: too short", ErrBadFile, path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	var pcm []int16
	switch string(magic[:]) {
	case "RIFF", "RIFX", "RF64":
		pcm, err = ReadWAV(f)
	case "OggS":
		pcm, err = ReadOggOpus(f)
	default:
		return nil, fmt.Errorf("%w: %s: not a WAV or Ogg file", ErrBadFile, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, nil
}

// NullSource is endless silence.
type NullSource struct{}

// ReadFrame zeroes pcm.
func (NullSource) ReadFrame(pcm []int16) error { clear(pcm); return nil }

// PCMSource plays 48 kHz mono samples held in memory.
type PCMSource struct {
	mu      sync.Mutex
	samples []int16
	pos     int
	loop    bool
}

// NewPCMSource plays samples once, or forever with loop.
func NewPCMSource(samples []int16, loop bool) *PCMSource {
	return &PCMSource{samples: samples, loop: loop}
}

// Duration is the length of one pass.
func (s *PCMSource) Duration() time.Duration {
	return time.Duration(len(s.samples)) * time.Second / SampleRate
}

// Samples returns the decoded samples (do not modify).
func (s *PCMSource) Samples() []int16 { return s.samples }

// Rewind starts over.
func (s *PCMSource) Rewind() { s.mu.Lock(); s.pos = 0; s.mu.Unlock() }

// ReadFrame implements Source.
func (s *PCMSource) ReadFrame(pcm []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		if s.loop {
			clear(pcm)
			return nil
		}
		return io.EOF
	}
	if s.pos >= len(s.samples) && !s.loop {
		return io.EOF
	}
	for i := 0; i < len(pcm); {
		if s.pos >= len(s.samples) {
			if !s.loop {
				clear(pcm[i:])
				break
			}
			s.pos = 0
		}
		n := copy(pcm[i:], s.samples[s.pos:])
		i += n
		s.pos += n
	}
	return nil
}

// Tone is a sine source.
type Tone struct {
	freq, amp   float64
	phase       float64
	total, left int // samples; total 0 = endless
	loop        bool
}

// NewTone returns an endless sine at freq Hz with amplitude amp (0..1 of
// full scale).
func NewTone(freq, amp float64) *Tone { return &Tone{freq: freq, amp: amp} }

// ReadFrame implements Source.
func (t *Tone) ReadFrame(pcm []int16) error {
	if t.total > 0 && t.left <= 0 {
		if !t.loop {
			return io.EOF
		}
		t.left = t.total
	}
	step := 2 * math.Pi * t.freq / SampleRate
	// A rotating phasor rather than a sine per sample (a bot's hot path);
	// it starts from the exact phase in every frame, so no error builds up.
	a := t.amp * 32767
	x, y := math.Cos(t.phase), math.Sin(t.phase)
	c, s := math.Cos(step), math.Sin(step)
	for i := range pcm {
		if t.total > 0 && t.left <= 0 {
			if !t.loop {
				clear(pcm[i:])
				break
			}
			t.left = t.total
		}
		pcm[i] = int16(math.Round(a * y))
		x, y = x*c-y*s, x*s+y*c
		t.phase += step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
		if t.total > 0 {
			t.left--
		}
	}
	return nil
}

// Pacer releases a caller once per period on an absolute schedule (no
// drift). When the caller falls more than 5 periods behind it resyncs
// instead of bursting.
type Pacer struct {
	period time.Duration
	next   time.Time
	now    func() time.Time
	sleep  func(time.Duration)
}

// NewPacer returns a Pacer ticking every period (e.g. 20 ms).
func NewPacer(period time.Duration) *Pacer {
	return &Pacer{period: period, now: time.Now, sleep: time.Sleep}
}

// Wait blocks until the next tick. The first call returns at once.
func (p *Pacer) Wait() {
	now := p.now()
	if p.next.IsZero() || now.Sub(p.next) > 5*p.period {
		p.next = now.Add(p.period)
		return
	}
	if d := p.next.Sub(now); d > 0 {
		p.sleep(d)
	}
	p.next = p.next.Add(p.period)
}

// Paced wraps src so that each ReadFrame waits for the next 20 ms tick
// (for sources read outside a device callback: a bot playing a file).
func Paced(src Source) Source {
	return &pacedSource{src: src, p: NewPacer(FrameDuration * time.Millisecond)}
}

type pacedSource struct {
	src Source
	p   *Pacer
}

func (s *pacedSource) ReadFrame(pcm []int16) error {
	s.p.Wait()
	return s.src.ReadFrame(pcm)
}

// Create returns the sink named by name: null (discard), file:PATH,
// PATH.wav (16-bit 48 kHz mono WAV) or PATH.ogg / PATH.opus (Ogg Opus,
// 32 kbps). With file:PATH the extension picks the format (WAV unless
// .ogg/.opus/.oga).
func Create(name string) (Sink, error) {
	lower := strings.ToLower(name)
	if lower == "null" {
		return nullSink{}, nil
	}
	path := name
	if strings.HasPrefix(lower, "file:") {
		path, lower = name[5:], lower[5:]
	} else if !strings.HasSuffix(lower, ".wav") && !isOggName(lower) {
		return nil, fmt.Errorf("%w: sink %q (want null, file:PATH, PATH.wav or PATH.ogg)", ErrBadName, name)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	if isOggName(lower) {
		w, err := NewOggOpusWriter(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return w, nil
	}
	w, err := NewWAVWriter(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func isOggName(s string) bool {
	return strings.HasSuffix(s, ".ogg") || strings.HasSuffix(s, ".opus") || strings.HasSuffix(s, ".oga")
}

type nullSink struct{}

func (nullSink) WriteFrame([]int16) error { return nil }
func (nullSink) Close() error             { return nil }
