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
	"math"
	"sync"
	"time"

	"github.com/termcall/termcall/audio/aec3"
	"github.com/termcall/termcall/audio/webrtcap"
)

// EchoCanceller removes the far-end (loudspeaker) signal's echo from
// the microphone and suppresses noise, with speexdsp: the MDF adaptive
// echo canceller followed by the speex preprocessor (denoise on,
// residual echo suppression through SPEEX_PREPROCESS_SET_ECHO_STATE,
// AGC off). The output lags the microphone by one frame (Delay). Feed it, frame by frame, the microphone frame and the frame
// that was sent to the loudspeaker at the same time. Safe for
// concurrent use (calls are serialized).
type EchoCanceller struct {
	mu     sync.Mutex
	echo   *C.SpeexEchoState
	pre    *C.SpeexPreprocessState
	frame  int
	in     []int16 // copy of the mic frame (input and output must differ)
	start  startupSuppressor
	lost   bool                // the reference is not what the microphone hears (setReferenceLost)
	jumps  int                 // reference jumps seen (noteJumps)
	nlost  int                 // blocks processed with lost set (tests)
	capEnd int64               // tests: where the frame being processed ends in the capture (takeReference)
	wap    *webrtcap.Processor // the WebRTC canceller (NewWebRTCEchoCanceller) instead of speexdsp's
	a3     *aec3.Canceller     // WebRTC's AEC3 (NewAEC3EchoCanceller) instead of either
	post   *webrtcap.Processor // AEC3: WebRTC's module after it (else speex's preprocessor, pre)
	// AEC3: its render stream is the played samples (Uplink.renderAEC3),
	// not the frames Process is handed
	a3Stream bool
	noise    bool               // WebRTC: noise suppression on
	res      residualSuppressor // WebRTC: after the module (aec_residual.go)
	gate     echoGate           // after either filter (aec_gate.go)
	// WebRTC: delay-agnostic mode off, the stream delay estimated
	// (aec_delay.go)
	aligned bool
	bulk    bulkDelay
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
	// speexdsp's preprocessor takes 20 dB off the echo long before its
	// filter has adapted (then leaks again: 0.5-1 s at -18 dB in
	// TestEchoCancellerMovingPath), so its start-up suppression runs its
	// full 1.5 s
	e := &EchoCanceller{frame: frameSize, in: make([]int16, frameSize), start: startupSuppressor{noConv: true}}
	e.echo = C.speex_echo_state_init(C.int(frameSize), C.int(filterLength))
	if e.echo == nil {
		return nil, fmt.Errorf("audio: speex_echo_state_init failed")
	}
	if e.pre = newSpeexPreprocessor(frameSize); e.pre == nil {
		C.speex_echo_state_destroy(e.echo)
		return nil, fmt.Errorf("audio: speex_preprocess_state_init failed")
	}
	C.tc_echo_set_rate(e.echo, C.int(SampleRate))
	C.tc_pre_set_echo(e.pre, e.echo)
	return e, nil
}

// newSpeexPreprocessor is speexdsp's preprocessor for frames of
// frameSize samples: denoise on (-25 dB), AGC and dereverb off; nil when
// it cannot be made.
func newSpeexPreprocessor(frameSize int) *C.SpeexPreprocessState {
	pre := C.speex_preprocess_state_init(C.int(frameSize), C.int(SampleRate))
	if pre == nil {
		return nil
	}
	C.tc_pre_ctl_int(pre, C.SPEEX_PREPROCESS_SET_DENOISE, 1)
	C.tc_pre_ctl_int(pre, C.SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, -25)
	C.tc_pre_ctl_int(pre, C.SPEEX_PREPROCESS_SET_AGC, 0)
	C.tc_pre_ctl_int(pre, C.SPEEX_PREPROCESS_SET_DEREVERB, 0)
	return pre
}

// Delay is the latency Process adds, in samples: one frame (the speex
// preprocessor's overlap-add window). Prefer 480-sample (10 ms) frames
// for that reason.
func (e *EchoCanceller) Delay() int {
	switch {
	case e.a3 != nil && e.post != nil:
		return aec3.Delay + webrtcDelay
	case e.a3 != nil && e.pre != nil:
		return aec3.Delay + e.frame
	case e.a3 != nil:
		return aec3.Delay
	case e.wap != nil:
		return webrtcDelay
	}
	return e.frame
}

// FrameSize is the number of samples Process expects.
func (e *EchoCanceller) FrameSize() int { return e.frame }

// Process writes to out the microphone frame mic with the echo of
// farEnd removed and noise suppressed. All three must be FrameSize
// samples long (out may alias mic); otherwise out gets mic unchanged.
func (e *EchoCanceller) Process(mic, farEnd, out []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lost {
		e.nlost++
	}
	pm := meanSquare(mic) // before out (which may alias mic) is written
	if e.a3 != nil {
		e.processAEC3(mic, farEnd, out, pm)
		return
	}
	if e.wap != nil && len(mic) == e.frame && len(farEnd) == e.frame && len(out) == e.frame {
		copy(out, mic)
		// errors only for a wrong frame size or after Close, both excluded here
		delay := e.streamDelay(farEnd, mic)
		_ = e.wap.Reverse(farEnd)
		_ = e.wap.Capture(out, delay)
		// the residual suppressor first: it learns the filter's residual
		// from blocks the start-up suppression has not attenuated yet,
		// and the convergence test judges the echo both leave
		e.res.process(farEnd, out)
		e.start.process(farEnd, out, e.lost, pm, meanSquare(out))
		e.gate.process(farEnd, out)
		return
	}
	if e.echo == nil || len(mic) != e.frame || len(farEnd) != e.frame || len(out) != e.frame {
		copy(out, mic)
		return
	}
	// speex_echo_cancellation needs distinct input and output buffers
	in := e.in
	copy(in, mic)
	C.speex_echo_cancellation(e.echo, (*C.spx_int16_t)(&in[0]), (*C.spx_int16_t)(&farEnd[0]), (*C.spx_int16_t)(&out[0]))
	C.speex_preprocess_run(e.pre, (*C.spx_int16_t)(&out[0]))
	e.start.process(farEnd, out, e.lost, pm, meanSquare(out))
	e.gate.process(farEnd, out)
}

// streamDelay is the delay to tell WebRTC's module for this block: the
// bulk delay estimate when aligned (aec_delay.go), else 0 (delay-agnostic
// mode finds it).
func (e *EchoCanceller) streamDelay(far, mic []int16) int {
	if !e.aligned {
		return 0
	}
	return e.bulk.observe(far, mic)
}

// SetDenoise turns noise suppression on or off.
func (e *EchoCanceller) SetDenoise(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.wap != nil {
		e.noise = on
		_ = e.wap.SetNoise(webrtcNoise(on))
		return
	}
	if e.post != nil {
		_ = e.post.SetNoise(webrtcNoise(on))
		return
	}
	if e.pre == nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	C.tc_pre_ctl_int(e.pre, C.SPEEX_PREPROCESS_SET_DENOISE, C.int(v))
}

// Reset forgets the echo path (e.g. after switching devices, or when
// the reference jumped): the adaptive filter starts over, and so does the
// start-up suppression.
func (e *EchoCanceller) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.echo != nil {
		C.speex_echo_state_reset(e.echo)
	}
	if e.a3 != nil { // AEC3 has no reset: a new one
		if c, err := aec3.New(); err == nil {
			e.a3.Close()
			e.a3 = c
		}
	}
	if e.wap != nil { // the module has no reset: a new one
		if p, err := webrtcap.New(webrtcConfig(e.noise, e.aligned)); err == nil {
			e.wap.Close()
			e.wap = p
		}
	}
	off := e.start.off
	e.start.reset()
	e.start.off = off
	e.res.reset()
	e.gate.reset()
	e.bulk.restart()
}

// Close frees the speexdsp state.
func (e *EchoCanceller) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pre != nil {
		C.speex_preprocess_state_destroy(e.pre)
		e.pre = nil
	}
	if e.echo != nil {
		C.speex_echo_state_destroy(e.echo)
		e.echo = nil
	}
	if e.post != nil {
		e.post.Close()
		e.post = nil
	}
	if e.wap != nil {
		e.wap.Close()
		e.wap = nil
	}
	if e.a3 != nil {
		e.a3.Close()
		e.a3 = nil
	}
	return nil
}

// startupSuppressor covers the adaptive filter until it has converged,
// 1.5 s at most. speexdsp's MDF filter adapts slowly at first (about four
// times its length before it counts as adapted), and its residual echo
// suppressor only knows the echo the filter predicts, so without help the
// far end hears its own echo almost unattenuated for the first few hundred
// ms; WebRTC's filter is 20 dB down within about 100 ms on a steady echo
// path, but not on one that moves. Until the filter has converged (below),
// for at most maxStartup blocks (10 ms each, 1.5 s) in which the far end
// talks, after New or Reset, any block of the output no louder than the
// loudest far-end block of the last 200 ms (in the reference, or in the
// downlink's mix of the last 600 ms: SetFarLevel) plus 6 dB is taken for
// echo and attenuated by 50 dB (startupGain): a loudspeaker is at most as
// loud at the microphone as it was sent (0 dB coupling), and a filter that
// has not adapted yet can add up to 6 dB. A louder block (someone talking
// close to the microphone) passes. The price: double talk is half duplex
// while it runs (the near end is cut while it is quieter than the far
// end).
//
// Converged, measured: convBlocks blocks in a row in which the far end
// talked (in the reference), with the reference not lost, and each with
// the output so far (the filter's, after the residual-level suppressor)
// at least convERLE below the microphone (40 dB: the echo the microphone
// heard cancelled as far as the target asks) or the microphone convQuiet below the far
// end (nothing worth cancelling); at least convHeard of them with echo
// heard, or convSilent blocks with none (headphones: no acoustic echo),
// and never before convMin blocks of far end (200 ms: on a busy machine
// the echo path can move right after a quick convergence, and the first
// 200 ms are covered whatever happens). A
// block that fails (echo left, or a near end talking: the output is then
// as loud as the microphone) starts the count again, so double talk before
// convergence keeps it half duplex. Once converged it runs only while the
// reference is lost (setReferenceLost), and again after the reference
// jumps (noteJumps: the sound server underran, and the filter has to
// adapt to the echo's new lag), until the filter has converged again or
// for rearmBlocks of far end at most; meanwhile, and when the echo path
// moves unnoticed, the residual suppressors (aec_residual.go, aec_gate.go)
// cover the gap.
type startupSuppressor struct {
	active   int                  // blocks with the far end active so far
	hist     [startupHist]float64 // far-end block powers
	n        int
	gain     float64 // last block's gain
	farLevel float64 // SetFarLevel
	off      bool    // tests: off, as before it existed
	noConv   bool    // tests: no early end, 1.5 s as before
	streak   int     // far-active blocks in a row that passed the convergence test
	heard    int     // of them, with echo heard
	seen     int     // far-active blocks observed before it converged
	conv     int     // the far-active block at which it converged; 0: not yet
	first    int     // conv of the first convergence since New or Reset (rearm keeps it; tests)
}

const (
	maxStartup  = 150                  // 1.5 s of far-end activity
	startupHist = 20                   // 200 ms of far-end history
	startupGain = 0.00316              // -50 dB
	farActive   = 32768 * 32768 * 1e-6 // -60 dBFS
	convERLE    = 1e-4                 // 40 dB: output / microphone
	convQuiet   = 1e-4                 // 40 dB: microphone / far end
	convBlocks  = 20                   // 200 ms
	convHeard   = 16
	convSilent  = 30 // 300 ms
	rearmBlocks = 50 // 500 ms
	convMin     = 20 // 200 ms: never earlier
)

func (s *startupSuppressor) reset() { *s = startupSuppressor{noConv: s.noConv} }

// rearm runs the suppression again until the filter has converged again,
// rearmBlocks of far-end activity at most (see the type).
func (s *startupSuppressor) rearm() {
	if s.noConv {
		return
	}
	if s.conv > 0 { // it had ended: rearmBlocks from now
		s.active = maxStartup - rearmBlocks
	} else { // still in the start-up: what is left of it, rearmBlocks at least
		s.active = min(s.active, maxStartup-rearmBlocks)
	}
	s.conv, s.seen, s.streak, s.heard = 0, 0, 0, 0
}

// converged reports whether the start-up is over (tests; see the type).
func (s *startupSuppressor) converged() bool { return s.conv > 0 }

// observe runs the convergence test on a block: mic the microphone's
// power, lin the filter output's, refMax the loudest far-end block of the
// last 200 ms in the reference.
func (s *startupSuppressor) observe(refMax, mic, lin float64, lost bool) {
	if s.conv > 0 || s.noConv || refMax <= farActive {
		return
	}
	s.seen++
	switch {
	case lost:
		s.streak, s.heard = 0, 0
		return
	case mic <= refMax*convQuiet:
		s.streak++
	case lin <= mic*convERLE:
		s.streak++
		s.heard++
	default:
		s.streak, s.heard = 0, 0
		return
	}
	if s.seen < convMin {
		return
	}
	if (s.streak >= convBlocks && s.heard >= convHeard) || (s.streak >= convSilent && s.heard == 0) {
		s.conv = s.seen
		if s.first == 0 {
			s.first = s.conv
		}
	}
}

// process runs the suppression on a block (out: the output so far; mic,
// lin: the powers of the microphone and of the filter's output): until the filter has converged in the start-up
// period, or whenever lost says the reference is not what the microphone
// hears now (setReferenceLost).
func (s *startupSuppressor) process(far, out []int16, lost bool, mic, lin float64) {
	pf := meanSquare(far)
	s.hist[s.n%startupHist] = pf
	s.n++
	if s.n == 1 {
		s.gain = 1
	}
	refMax := 0.0
	for _, p := range s.hist {
		refMax = max(refMax, p)
	}
	s.observe(refMax, mic, lin, lost)
	if s.off || ((s.active >= maxStartup || s.conv > 0) && !lost) {
		s.gain = 1
		return
	}
	ref := max(s.farLevel, refMax)
	if ref > farActive {
		s.active++
	}
	g := 1.0
	if pe := meanSquare(out); ref > farActive && pe <= 4*ref {
		g = startupGain
	}

	// down at once (the echo's first block must not leak), up over the
	// block (no click)
	g0 := min(s.gain, g)
	for i := range out {
		k := g0 + (g-g0)*float64(i+1)/float64(len(out))
		out[i] = int16(math.Round(float64(out[i]) * k))
	}
	s.gain = g
}

// setReferenceLost tells the canceller whether the reference of the
// next frame is known to be wrong: more than 10 ms of it had not been
// played when it was read, late (the playback fell behind: the sound server underran and
// the reference has not jumped yet). The adaptive filter then cannot
// cancel anything (it is shown silence, or the wrong samples, while the
// microphone hears the echo of older ones), and the correlation gate sees
// no far end; the start-up suppressor runs for such frames whatever the
// time, on the downlink's level (SetFarLevel), which does not depend on
// the reference. Half duplex, only while the reference is lost.
func (e *EchoCanceller) setReferenceLost(lost bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lost = lost
}

// noteJumps tells the canceller how many times the reference has jumped,
// or a jump is due, so far (echoReference.pathChanges): then the echo's
// lag behind the reference is another, and the start-up suppression runs
// again until the filter has converged to it (startupSuppressor.rearm).
func (e *EchoCanceller) noteJumps(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n != e.jumps {
		e.jumps = n
		e.start.rearm()
		e.bulk.restart()
	}
}

// SetFarLevel tells the start-up suppression how loud (mean square) the
// far end was at its loudest lately, independently of the reference's
// alignment (the uplink gives it the downlink's last 600 ms).
func (e *EchoCanceller) SetFarLevel(p float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.start.farLevel = p
	e.res.farLevel = p
	e.gate.farLevel = p
}

func meanSquare(p []int16) float64 {
	var s float64
	for _, v := range p {
		s += float64(v) * float64(v)
	}
	return s / float64(max(len(p), 1))
}

// capturedLen is the length of a captured frame in the uplink's queue:
// the frame, where its echo reference starts (4 x 16 bits), whether it
// has one, and where it ends in the capture (4 x 16 bits, dropped samples
// included: the tests place each frame in time with it, as the uplink
// drops frames nobody reads in time).
const capturedLen = FrameSamples + 9

// pairReference notes after a captured frame f, as it arrives, where
// its echo reference starts in what the playback device played.
func (u *Uplink) pairReference(f []int16) {
	if u.aec == nil || len(f) != capturedLen {
		return
	}
	var over uint64 // samples the capture ring dropped
	if d := u.capDev.Load(); d != nil {
		over, _ = d.Xruns()
	}
	u.capPos += FrameSamples
	p, ok := u.down.played.align(u.capPos+int64(over), FrameSamples)
	f[FrameSamples+4] = 0
	for i := range 4 {
		f[FrameSamples+5+i] = int16(uint16(uint64(u.capPos+int64(over)) >> (16 * i)))
	}
	if ok {
		for i := range 4 {
			f[FrameSamples+i] = int16(uint16(uint64(p) >> (16 * i)))
		}
		f[FrameSamples+4] = 1
	}
}

// takeReference reads a queued frame's reference for cancelEcho (late,
// so that the newest samples it may need have been played by now).
func (u *Uplink) takeReference(f []int16) {
	u.farOK = len(f) == capturedLen && f[FrameSamples+4] == 1
	if u.aec != nil && len(f) == capturedLen {
		var c uint64
		for i := range 4 {
			c |= uint64(uint16(f[FrameSamples+5+i])) << (16 * i)
		}
		u.aec.capEnd = int64(c)
	}
	lost := false
	if u.farOK {
		var p uint64
		for i := range 4 {
			p |= uint64(uint16(f[FrameSamples+i])) << (16 * i)
		}
		// more than one playback period (10 ms) not played yet: the
		// playback is behind, not just between two of its callbacks
		lost = u.down.played.readAt(int64(p), u.far) > PeriodSamples
	}
	if u.aec != nil {
		u.aec.setReferenceLost(lost)
		u.aec.noteJumps(u.down.played.pathChanges())
	}
}

// Played is the tap of the playback device (Device.SetPlayedTap) that
// gives the echo canceller of a capture uplink on this Downlink its
// reference. Without it the reference is the mix as Fill made it, which
// can be far out of step with the echo (see echoReference).
func (d *Downlink) Played(pcm []int16) { d.played.Played(pcm) }

// cancelEcho runs the uplink's echo canceller on a captured frame and
// returns the frame to send (pcm itself without a canceller).
func (u *Uplink) cancelEcho(pcm []int16) []int16 {
	if u.aec == nil {
		return pcm
	}
	if !u.farOK {
		u.down.farEnd(u.far)
	}
	u.aec.SetFarLevel(u.down.level.max(time.Now()))
	if u.aec.a3 != nil {
		u.aec.setStreamRender(aec3PlayedStream && u.renderAEC3())
	}
	for i := 0; i < FrameSamples; i += PeriodSamples {
		u.aec.Process(pcm[i:i+PeriodSamples], u.far[i:i+PeriodSamples], u.clean[i:i+PeriodSamples])
	}
	if u.tapAEC != nil {
		u.tapAEC(pcm, u.far, u.clean)
	}
	return u.clean
}

// aecFilterLength is the capture uplink's echo filter: 100 ms. With the
// reference taken at the playback device (echoReference) the filter only
// has to model the device buffers and the room, and speexdsp's MDF
// adapts in about four filter lengths: a 200 ms filter took over a
// second, 100 ms about half that (see docs/audio.md).
const aecFilterLength = SampleRate / 10

// denoiseAEC3 runs what follows AEC3 (NewAEC3EchoCanceller): WebRTC's
// module (its reverse stream already handed over) or speex's
// preprocessor.
func (e *EchoCanceller) denoiseAEC3(out []int16) {
	switch {
	case e.post != nil:
		_ = e.post.Capture(out, 0) // errors only for a wrong size or after Close
	case e.pre != nil:
		C.speex_preprocess_run(e.pre, (*C.spx_int16_t)(&out[0]))
	}
}
