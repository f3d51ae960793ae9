package audio

/*
#cgo pkg-config: speexdsp
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

static int tc_pre_ctl_int(SpeexPreprocessState *st, int req, int v) {
	return speex_preprocess_ctl(st, req, &v);
}
static int tc_echo_set_rate(SpeexEchoState *st, int rate) {
	return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
}
static int tc_pre_set_echo(SpeexPreprocessState *pre, SpeexEchoState *echo) {
	return speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
}
*/
import "C"

import (
	"fmt"
	"sync"
)

// EchoCanceller removes the far-end (loudspeaker) signal's echo from
// the microphone and suppresses noise, with speexdsp: the MDF adaptive
// echo canceller followed by the speex preprocessor (denoise on,
// residual echo suppression through SPEEX_PREPROCESS_SET_ECHO_STATE,
// AGC off). The output lags the microphone by one frame (Delay). Feed it, frame by frame, the microphone frame and the frame
// that was sent to the loudspeaker at the same time. Safe for
// concurrent use (calls are serialized).
type EchoCanceller struct {
	mu    sync.Mutex
	echo  *C.SpeexEchoState
	pre   *C.SpeexPreprocessState
	frame int
	in    []int16 // copy of the mic frame (input and output must differ)
}

// NewEchoCanceller returns an echo canceller for frames of frameSize
// samples at 48 kHz (480 = 10 ms or 960 = 20 ms recommended) with an
// adaptive filter of filterLength samples (the longest echo path it can
// model: 9600 = 200 ms is a good default). Close frees it.
func NewEchoCanceller(frameSize, filterLength int) (*EchoCanceller, error) {
	if frameSize <= 0 || frameSize > 4*FrameSamples {
		return nil, fmt.Errorf("audio: echo canceller frame size %d out of range", frameSize)
	}
	if filterLength < frameSize || filterLength > 10*SampleRate {
		return nil, fmt.Errorf("audio: echo canceller filter length %d out of range", filterLength)
	}
	e := &EchoCanceller{frame: frameSize, in: make([]int16, frameSize)}
	e.echo = C.speex_echo_state_init(C.int(frameSize), C.int(filterLength))
	if e.echo == nil {
		return nil, fmt.Errorf("audio: speex_echo_state_init failed")
	}
	e.pre = C.speex_preprocess_state_init(C.int(frameSize), C.int(SampleRate))
	if e.pre == nil {
		C.speex_echo_state_destroy(e.echo)
		return nil, fmt.Errorf("audio: speex_preprocess_state_init failed")
	}
	C.tc_echo_set_rate(e.echo, C.int(SampleRate))
	C.tc_pre_ctl_int(e.pre, C.SPEEX_PREPROCESS_SET_DENOISE, 1)
	C.tc_pre_ctl_int(e.pre, C.SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, -25)
	C.tc_pre_ctl_int(e.pre, C.SPEEX_PREPROCESS_SET_AGC, 0)
	C.tc_pre_ctl_int(e.pre, C.SPEEX_PREPROCESS_SET_DEREVERB, 0)
	C.tc_pre_set_echo(e.pre, e.echo)
	return e, nil
}

// Delay is the latency Process adds, in samples: one frame (the speex
// preprocessor's overlap-add window). Prefer 480-sample (10 ms) frames
// for that reason.
func (e *EchoCanceller) Delay() int { return e.frame }

// FrameSize is the number of samples Process expects.
func (e *EchoCanceller) FrameSize() int { return e.frame }

// Process writes to out the microphone frame mic with the echo of
// farEnd removed and noise suppressed. All three must be FrameSize
// samples long (out may alias mic); otherwise out gets mic unchanged.
func (e *EchoCanceller) Process(mic, farEnd, out []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.echo == nil || len(mic) != e.frame || len(farEnd) != e.frame || len(out) != e.frame {
		copy(out, mic)
		return
	}
	// speex_echo_cancellation needs distinct input and output buffers
	in := e.in
	copy(in, mic)
	C.speex_echo_cancellation(e.echo, (*C.spx_int16_t)(&in[0]), (*C.spx_int16_t)(&farEnd[0]), (*C.spx_int16_t)(&out[0]))
	C.speex_preprocess_run(e.pre, (*C.spx_int16_t)(&out[0]))
}

// SetDenoise turns noise suppression on or off.
func (e *EchoCanceller) SetDenoise(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pre == nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	C.tc_pre_ctl_int(e.pre, C.SPEEX_PREPROCESS_SET_DENOISE, C.int(v))
}

// Reset forgets the echo path (e.g. after switching devices).
func (e *EchoCanceller) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.echo != nil {
		C.speex_echo_state_reset(e.echo)
	}
}

// Close frees the speexdsp state.
func (e *EchoCanceller) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.echo != nil {
		C.speex_preprocess_state_destroy(e.pre)
		C.speex_echo_state_destroy(e.echo)
		e.echo, e.pre = nil, nil
	}
	return nil
}
