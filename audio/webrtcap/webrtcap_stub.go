//go:build !linux || !cgo || nowebrtcap

package webrtcap

import "errors"

// Available reports whether this build has the module: not this one (not
// Linux, no cgo, or the build tag nowebrtcap).
const Available = false

// ErrUnavailable is New's error in a build without the module.
var ErrUnavailable = errors.New("webrtcap: WebRTC audio processing is not in this build (Linux with cgo and libwebrtc-audio-processing-dev 0.3 only)")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("webrtcap: processor closed")

// Suppression is how hard the echo suppressor works.
type Suppression int

const (
	SuppressionLow Suppression = iota
	SuppressionModerate
	SuppressionHigh
)

// NoiseLevel is the noise suppressor's aggressiveness; NoiseOff turns it off.
type NoiseLevel int

const (
	NoiseOff NoiseLevel = iota - 1
	NoiseLow
	NoiseModerate
	NoiseHigh
	NoiseVeryHigh
)

// Config sets up a Processor.
type Config struct {
	SampleRate     int
	Noise          NoiseLevel
	Suppression    Suppression
	ExtendedFilter bool
	DelayAgnostic  bool
	HighPass       bool
}

// Stats are the canceller's own measures.
type Stats struct {
	ERL, ERLE, ANLP    float64
	DelayMedian        int
	DelayStd           int
	FractionPoorDelays float64
}

// Processor is never created in this build.
type Processor struct{ frame int }

// New returns ErrUnavailable.
func New(Config) (*Processor, error) { return nil, ErrUnavailable }

// FrameSize is 0.
func (p *Processor) FrameSize() int { return p.frame }

// Reverse returns ErrUnavailable.
func (p *Processor) Reverse([]int16) error { return ErrUnavailable }

// Capture returns ErrUnavailable.
func (p *Processor) Capture([]int16, int) error { return ErrUnavailable }

// SetNoise returns ErrUnavailable.
func (p *Processor) SetNoise(NoiseLevel) error { return ErrUnavailable }

// HasEcho is false.
func (p *Processor) HasEcho() bool { return false }

// Stats is unknown.
func (p *Processor) Stats() Stats {
	return Stats{ERL: -100, ERLE: -100, ANLP: -100, DelayMedian: -1, DelayStd: -1, FractionPoorDelays: -1}
}

// Close does nothing.
func (p *Processor) Close() error { return nil }
