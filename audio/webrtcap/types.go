package webrtcap

import "errors"

// What both builds share: the settings, the measures and the errors.

// Suppression is how hard the echo suppressor (the non-linear stage
// after the adaptive filter) works.
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
	SampleRate     int // 8000, 16000, 32000 or 48000
	Noise          NoiseLevel
	Suppression    Suppression
	ExtendedFilter bool // a longer filter, more robust to delay changes
	DelayAgnostic  bool // find the delay between the streams on its own
	HighPass       bool // remove DC and rumble from the capture
	NoEcho         bool // no echo cancellation: noise suppression and the high-pass filter only (Reverse is then not needed)
}

// Stats are the canceller's own measures, averaged since it started.
type Stats struct {
	ERL, ERLE, ANLP    float64 // dB; -100 while not known
	DelayMedian        int     // ms, the far end's estimated delay; -1 while not known
	DelayStd           int     // ms
	FractionPoorDelays float64 // of the delay estimates, the share that hurts cancellation
}

// ErrUnavailable is New's error in a build without the module (never in
// one with it: see Available).
var ErrUnavailable = errors.New("webrtcap: WebRTC audio processing is not in this build (Linux with cgo and libwebrtc-audio-processing-dev 0.3 only)")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("webrtcap: processor closed")
