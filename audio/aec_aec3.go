package audio

import (
	"fmt"

	"github.com/termcall/termcall/audio/aec3"
	"github.com/termcall/termcall/audio/webrtcap"
)

// EchoAEC3 is WebRTC's AEC3 (audio/aec3: the canceller Chrome runs, as
// WebAssembly in process), then WebRTC's module or a noise suppressor.
const EchoAEC3 = "aec3"

// NewAEC3EchoCanceller returns an EchoCanceller for 10 ms frames
// (PeriodSamples) run by AEC3, followed, where the build has it
// (audio/webrtcap), by WebRTC's module as the webrtc canceller runs it
// (its echo canceller on what AEC3 left, its noise suppressor, its
// high-pass filter), elsewhere by speexdsp's preprocessor (noise
// suppression). Its output lags its input by Delay.
func NewAEC3EchoCanceller() (*EchoCanceller, error) {
	c, err := aec3.New()
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	e := &EchoCanceller{frame: PeriodSamples, a3: c, noise: true}
	// AEC3's own suppressor covers its start and keeps double talk; the
	// start-up and residual suppressors of aec.go, aec_residual.go and
	// aec_gate.go, after it, cut the near end more and took no more echo
	// off on PulseAudio (docs/audio.md): off
	e.start.off, e.res.off, e.gate.off = true, true, true
	if webrtcap.Available {
		cfg := webrtcConfig(true, false)
		cfg.NoEcho = !aec3ModuleEcho
		p, err := webrtcap.New(cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("audio: %w", err)
		}
		e.post = p
		return e, nil
	}
	if e.pre = newSpeexPreprocessor(PeriodSamples); e.pre == nil {
		c.Close()
		return nil, fmt.Errorf("audio: speex_preprocess_state_init failed")
	}
	return e, nil
}

// aec3Render is AEC3's render stream: every sample the playback device
// played, in order, in 10 ms frames, handed over before each captured
// frame is processed (renderAEC3). AEC3 finds the echo's lag in it
// itself and follows it when the sound server underruns (the echo then
// comes later: one move of its lag). It is not the aligned reference of
// aecref.go, which jumps 0.5 s after such an underrun to restore the lag
// it had, moving it a second time.
type aec3Render struct {
	started bool
	pos     int64   // the next played sample to hand over
	buf     []int16 // samples taken from the ring, not yet a whole frame
	scratch []int16
}

// aec3PlayedStream: AEC3's render stream is the played samples
// (renderAEC3); off, the aligned reference frame of each captured frame
// (as for the other cancellers). A variable so that TestEchoAEC3Compare
// can compare them.
var aec3PlayedStream = true

// aec3ModuleEcho: WebRTC's module after AEC3 keeps its own echo
// canceller on (fed each frame's aligned reference), to take what AEC3
// left; off, it only suppresses noise. On: measured on PulseAudio, AEC3
// alone left -35.5 and -36.3 dB in the 1-2 s window of two of four quiet
// runs where the echo path held still, AEC3 and the module -37.3 ... -47.0
// there (two of ten runs short of -40), double talk kept in both
// (docs/audio.md, "Echo cancellation"). A variable so that
// TestEchoAEC3Compare can compare them.
var aec3ModuleEcho = true

// renderAEC3 hands AEC3 what was played since the last call, in whole
// frames (the rest waits for the next call); at most the newest
// maxRenderFrames frames, so that a capture that stalled does not flood
// it. It reports whether the playback device feeds the played stream
// (Downlink.Played); without it the uplink pairs each frame with the mix
// as Fill made it, as for the other cancellers.
func (u *Uplink) renderAEC3() bool {
	const maxRenderFrames = 20 // 200 ms
	r := &u.a3r
	if r.scratch == nil {
		r.scratch = make([]int16, maxRenderFrames*PeriodSamples)
		r.buf = make([]int16, 0, (maxRenderFrames+1)*PeriodSamples)
	}
	played := u.down.played
	if !r.started {
		played.mu.Lock()
		r.pos, r.started = played.w, played.fed
		played.mu.Unlock()
		return r.started
	}
	n, next := played.playedSince(r.pos, r.scratch)
	r.pos = next
	r.buf = append(r.buf, r.scratch[:n]...)
	whole := len(r.buf) / PeriodSamples * PeriodSamples
	first := max(0, whole-maxRenderFrames*PeriodSamples)
	for i := first; i < whole; i += PeriodSamples {
		u.aec.render(r.buf[i : i+PeriodSamples])
	}
	r.buf = append(r.buf[:0], r.buf[whole:]...)
	return true
}

// setStreamRender says whether renderAEC3 feeds AEC3 (else Process
// hands it each frame's reference).
func (e *EchoCanceller) setStreamRender(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.a3Stream = on
}

// render hands AEC3 one played frame.
func (e *EchoCanceller) render(far []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.a3 != nil {
		_ = e.a3.Render(far)
	}
}

// processAEC3 is Process for AEC3 (sizes checked here); pm is the
// microphone frame's mean square.
func (e *EchoCanceller) processAEC3(mic, farEnd, out []int16, pm float64) {
	copy(out, mic)
	if len(mic) != e.frame || len(farEnd) != e.frame || len(out) != e.frame {
		return
	}
	// errors only after Close or once the module trapped: the microphone
	// then passes (still denoised)
	if !e.a3Stream { // else renderAEC3 hands AEC3 the played stream
		_ = e.a3.Render(farEnd)
	}
	_ = e.a3.Capture(out)
	if aec3ModuleEcho && e.post != nil {
		_ = e.post.Reverse(farEnd)
	}
	e.denoiseAEC3(out)
	e.res.process(farEnd, out)
	e.start.process(farEnd, out, e.lost, pm, meanSquare(out))
	e.gate.process(farEnd, out)
}
