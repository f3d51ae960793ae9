package audio

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Cadence is a repeating pattern of tones: each step plays the sum of
// Freqs (Hz; none = silence) for Ms milliseconds. Steps start and end
// with 5 ms ramps, so there are no clicks.
type Cadence struct {
	Steps []CadenceStep
	Amp   float64 // peak amplitude of the sum, 0..1 of full scale
}

// CadenceStep is one step of a Cadence.
type CadenceStep struct {
	Freqs []float64
	Ms    int
}

// The built-in patterns.
var (
	// RingCadence is the incoming-call ring: 440+480 Hz, 2 s on, 4 s off.
	RingCadence = Cadence{Amp: 0.3, Steps: []CadenceStep{{Freqs: []float64{440, 480}, Ms: 2000}, {Ms: 4000}}}
	// RingbackCadence is what a caller hears while the callee rings:
	// the ETSI ringback tone, 425 Hz, 1 s on, 4 s off.
	RingbackCadence = Cadence{Amp: 0.3, Steps: []CadenceStep{{Freqs: []float64{425}, Ms: 1000}, {Ms: 4000}}}
)

// CadenceSource plays a Cadence forever.
type CadenceSource struct {
	c     Cadence
	step  int
	pos   int // sample within the step
	phase []float64
}

// NewCadenceSource plays c forever.
func NewCadenceSource(c Cadence) *CadenceSource {
	return &CadenceSource{c: c, phase: make([]float64, 4)}
}

// NewRingSource returns the built-in ringtone.
func NewRingSource() *CadenceSource { return NewCadenceSource(RingCadence) }

// NewRingbackSource returns the built-in ringback tone.
func NewRingbackSource() *CadenceSource { return NewCadenceSource(RingbackCadence) }

const rampSamples = SampleRate * 5 / 1000

// ReadFrame implements Source.
func (s *CadenceSource) ReadFrame(pcm []int16) error {
	for i := range pcm {
		st := s.c.Steps[s.step]
		n := st.Ms * SampleRate / 1000
		var v float64
		if len(st.Freqs) > 0 {
			env := 1.0
			if s.pos < rampSamples {
				env = float64(s.pos) / rampSamples
			} else if n-s.pos < rampSamples {
				env = float64(n-s.pos) / rampSamples
			}
			for k, f := range st.Freqs {
				if k >= len(s.phase) {
					break
				}
				v += math.Sin(s.phase[k])
				s.phase[k] += 2 * math.Pi * f / SampleRate
				if s.phase[k] > 2*math.Pi {
					s.phase[k] -= 2 * math.Pi
				}
			}
			v *= env * s.c.Amp / float64(len(st.Freqs))
		}
		pcm[i] = int16(math.Round(v * 32767))
		s.pos++
		if s.pos >= n {
			s.pos = 0
			s.step = (s.step + 1) % len(s.c.Steps)
		}
	}
	return nil
}

// Bell is the ringtone played for incoming calls: the built-in ring or
// a file set with SetCallingBell; in mute mode it is silent. It mirrors
// TUICallKit's setCallingBell / enableMuteMode. Safe for concurrent use.
type Bell struct {
	mu    sync.Mutex
	path  string
	pcm   []int16
	muted atomic.Bool
}

// NewBell returns a Bell with the built-in ring.
func NewBell() *Bell { return &Bell{} }

// SetCallingBell sets the ringtone file (WAV or Ogg Opus). The file is
// decoded now: a missing, corrupt or unsupported file is an error (the
// ringtone stays as it was). An empty path restores the built-in ring.
func (b *Bell) SetCallingBell(path string) error {
	if path == "" {
		b.mu.Lock()
		b.path, b.pcm = "", nil
		b.mu.Unlock()
		return nil
	}
	pcm, err := LoadFile(path)
	if err != nil {
		return err
	}
	if len(pcm) == 0 {
		return fmt.Errorf("%w: %s: no audio", ErrBadFile, path)
	}
	b.mu.Lock()
	b.path, b.pcm = path, pcm
	b.mu.Unlock()
	return nil
}

// CallingBell returns the ringtone file path ("" for the built-in ring).
func (b *Bell) CallingBell() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.path
}

// EnableMuteMode silences the ringtone (calls still ring visually).
func (b *Bell) EnableMuteMode(on bool) { b.muted.Store(on) }

// Muted reports the mute mode.
func (b *Bell) Muted() bool { return b.muted.Load() }

// Source returns an endless source of the current ringtone (the file
// loops). Mute mode applies while it plays.
func (b *Bell) Source() Source {
	b.mu.Lock()
	defer b.mu.Unlock()
	var src Source = NewRingSource()
	if b.pcm != nil {
		src = NewPCMSource(b.pcm, true)
	}
	return &bellSource{b: b, src: src}
}

type bellSource struct {
	b   *Bell
	src Source
}

func (s *bellSource) ReadFrame(pcm []int16) error {
	if err := s.src.ReadFrame(pcm); err != nil {
		return err
	}
	if s.b.muted.Load() {
		clear(pcm)
	}
	return nil
}
