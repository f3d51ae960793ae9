//go:build linux && cgo && !nowebrtcap

// Package webrtcap is WebRTC's audio processing module (the "AEC2"
// echo canceller with its extended filter and delay-agnostic mode, the
// noise suppressor and the high-pass filter), through cgo from Debian's
// libwebrtc-audio-processing 0.3 (package libwebrtc-audio-processing-dev;
// BSD-3-Clause). The library is C++: shim.cc is a small extern "C" layer
// over webrtc::AudioProcessing; this package is the only one that
// compiles it.
//
// A Processor works on 10 ms mono frames of 16-bit samples: feed it each
// far-end (loudspeaker) frame with Reverse and then the microphone frame
// captured with it with Capture, which removes the echo in place. The
// output lags the input by about 14 ms at 48 kHz (its band-splitting
// filters and blocks).
//
// It is built on Linux with cgo (Debian/Ubuntu ship version 0.3, whose
// pkg-config name is webrtc-audio-processing; later versions changed the
// API). Elsewhere, or with the build tag nowebrtcap, New returns
// ErrUnavailable and Available is false: callers fall back to another
// canceller.
package webrtcap

/*
#cgo pkg-config: webrtc-audio-processing
#cgo CXXFLAGS: -std=c++11
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// Processor is one audio processing module. Safe for concurrent use
// (calls are serialized).
type Processor struct {
	mu     sync.Mutex
	p      *C.tc_apm
	frame  int
	buf    *C.int16_t // C memory: one frame
	closed bool
}

// Available reports whether this build has the module (see the package
// doc).
const Available = true

// New creates a Processor.
func New(c Config) (*Processor, error) {
	switch c.SampleRate {
	case 8000, 16000, 32000, 48000:
	default:
		return nil, fmt.Errorf("webrtcap: sample rate %d not supported (8000, 16000, 32000 or 48000)", c.SampleRate)
	}
	cc := C.tc_apm_config{
		rate:           C.int(c.SampleRate),
		ns:             C.int(c.Noise),
		suppression:    C.int(c.Suppression),
		extended:       cbool(c.ExtendedFilter),
		delay_agnostic: cbool(c.DelayAgnostic),
		high_pass:      cbool(c.HighPass),
		no_echo:        cbool(c.NoEcho),
	}
	var e C.int
	p := C.tc_apm_new(&cc, &e)
	if p == nil {
		return nil, fmt.Errorf("webrtcap: creating the audio processing module: error %d", int(e))
	}
	frame := c.SampleRate / 100
	return &Processor{p: p, frame: frame, buf: (*C.int16_t)(C.malloc(C.size_t(frame * 2)))}, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// FrameSize is the number of samples Reverse and Capture take: 10 ms.
func (p *Processor) FrameSize() int { return p.frame }

func (p *Processor) load(pcm []int16) {
	copy(unsafe.Slice((*int16)(unsafe.Pointer(p.buf)), p.frame), pcm)
}

// Reverse feeds the far end's next frame (what goes to the loudspeaker).
func (p *Processor) Reverse(far []int16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if len(far) != p.frame {
		return fmt.Errorf("webrtcap: far-end frame of %d samples, want %d", len(far), p.frame)
	}
	p.load(far)
	if e := C.tc_apm_reverse(p.p, p.buf); e != 0 {
		return fmt.Errorf("webrtcap: reverse stream: error %d", int(e))
	}
	return nil
}

// Capture removes the echo from a microphone frame, in place; delayMs
// is how long after its Reverse the echo of a far-end frame reaches
// Capture (a hint with DelayAgnostic).
func (p *Processor) Capture(mic []int16, delayMs int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if len(mic) != p.frame {
		return fmt.Errorf("webrtcap: microphone frame of %d samples, want %d", len(mic), p.frame)
	}
	p.load(mic)
	if e := C.tc_apm_capture(p.p, p.buf, C.int(delayMs)); e != 0 {
		return fmt.Errorf("webrtcap: capture stream: error %d", int(e))
	}
	copy(mic, unsafe.Slice((*int16)(unsafe.Pointer(p.buf)), p.frame))
	return nil
}

// SetNoise changes the noise suppression (NoiseOff: none).
func (p *Processor) SetNoise(l NoiseLevel) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if e := C.tc_apm_set_ns(p.p, C.int(l)); e != 0 {
		return fmt.Errorf("webrtcap: noise suppression: error %d", int(e))
	}
	return nil
}

// HasEcho reports whether the last Capture frame held echo, by the
// canceller's judgement.
func (p *Processor) HasEcho() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && C.tc_apm_has_echo(p.p) != 0
}

// Stats returns the canceller's measures.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Stats{ERL: -100, ERLE: -100, ANLP: -100, DelayMedian: -1, DelayStd: -1, FractionPoorDelays: -1}
	}
	var s C.tc_apm_stats
	C.tc_apm_stats_get(p.p, &s)
	return Stats{ERL: float64(s.erl), ERLE: float64(s.erle), ANLP: float64(s.a_nlp),
		DelayMedian: int(s.delay_median), DelayStd: int(s.delay_std), FractionPoorDelays: float64(s.fraction_poor_delays)}
}

// Close frees the module. It is safe to call more than once.
func (p *Processor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		C.tc_apm_free(p.p)
		C.free(unsafe.Pointer(p.buf))
		p.p, p.buf, p.closed = nil, nil, true
	}
	return nil
}
