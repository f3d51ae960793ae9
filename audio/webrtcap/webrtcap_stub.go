//go:build !linux || !cgo || nowebrtcap

package webrtcap

// Available reports whether this build has the module: not this one (not
// Linux, no cgo, or the build tag nowebrtcap).
const Available = false

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
