package audio

import (
	"fmt"
	"slices"

	"github.com/termcall/termcall/audio/webrtcap"
)

// The echo cancellers a capture uplink can run (config key
// audio.echo_canceller).
const (
	// EchoWebRTC is WebRTC's audio processing module (audio/webrtcap):
	// its adaptive filter (extended filter, delay-agnostic), a non-linear
	// echo suppressor driven by the coherence of microphone, reference and
	// filter output (so double talk stays full duplex), and its noise
	// suppressor.
	EchoWebRTC = "webrtc"
	// EchoSpeex is speexdsp's MDF filter and preprocessor with the
	// start-up suppressor of aec.go.
	EchoSpeex = "speex"
)

// webrtcDelay is how much WebRTC's module delays the microphone: 670
// samples (14 ms: its band-splitting filters and its 4 ms blocks; measured
// by TestWebRTCDelay).
const webrtcDelay = 670

// EchoCancellers are the names NewCaptureUplinkWith takes, the default
// first.
var EchoCancellers = []string{EchoAEC3, EchoWebRTC, EchoSpeex}

// DefaultEchoCanceller is the canceller a capture uplink runs when none
// is named (docs/audio.md, "Echo cancellation"): AEC3 then WebRTC's
// module, the one that meets the target on PulseAudio (the echo 40 dB
// down within 200 ms, double talk kept from the start), in every build
// (AEC3 is WebAssembly; without the module, speex's noise suppressor
// follows it). webrtc costs a sixth of its CPU and is half duplex until
// its filter has converged.
var DefaultEchoCanceller = EchoAEC3

// NewWebRTCEchoCanceller returns an EchoCanceller for 10 ms frames
// (PeriodSamples) run by WebRTC's audio processing module, with noise
// suppression (moderate) on, followed by the residual echo suppressors of
// aec_residual.go and aec_gate.go. Its output lags its input by
// webrtcDelay.
func NewWebRTCEchoCanceller() (*EchoCanceller, error) {
	aligned := webrtcAligned
	p, err := webrtcap.New(webrtcConfig(true, aligned))
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	e := &EchoCanceller{frame: PeriodSamples, wap: p, noise: true, aligned: aligned, bulk: newBulkDelay()}
	return e, nil
}

// webrtcConfig is how the uplink runs WebRTC's module: 48 kHz, low echo
// suppression (in double talk high cut the near end by 8 dB in the unit
// test, moderate by 5 and low by 2; on PulseAudio moderate cut it by
// 5.0–6.0 dB and low by 3.8–4.5, leaving more echo from 2 s on in two runs
// of three: docs/audio.md), the extended filter and delay-agnostic mode
// (the reference is aligned to the capture already, within tens of ms,
// but the sound server's latency changes when it underruns), the
// high-pass filter, AGC off (the microphone level is the user's).
func webrtcConfig(noise, aligned bool) webrtcap.Config {
	return webrtcap.Config{SampleRate: SampleRate, Noise: webrtcNoise(noise), Suppression: webrtcap.SuppressionLow,
		ExtendedFilter: webrtcExtended, DelayAgnostic: !aligned, HighPass: true}
}

// webrtcAligned: delay-agnostic mode off, the stream delay estimated by
// bulkDelay (aec_delay.go) instead; off, as measured no better on
// PulseAudio (docs/audio.md, "Echo cancellation": the convergence and the
// module's ERLE follow the reference jumps, not the delay mode).
// webrtcExtended: the extended filter. Variables so that
// TestEchoAlignCompare can compare the settings in one run.
var (
	webrtcAligned  = false
	webrtcExtended = true
)

func webrtcNoise(on bool) webrtcap.NoiseLevel {
	if on {
		return webrtcap.NoiseModerate
	}
	return webrtcap.NoiseOff
}

// newEchoCanceller returns the capture uplink's canceller named kind
// ("" = DefaultEchoCanceller).
func newEchoCanceller(kind string) (*EchoCanceller, error) {
	switch kind {
	case "":
		return newEchoCanceller(DefaultEchoCanceller)
	case EchoWebRTC:
		return NewWebRTCEchoCanceller()
	case EchoSpeex:
		return NewEchoCanceller(PeriodSamples, aecFilterLength)
	case EchoAEC3:
		return NewAEC3EchoCanceller()
	}
	return nil, fmt.Errorf("audio: unknown echo canceller %q (want one of %v)", kind, EchoCancellers)
}

// ValidEchoCanceller reports whether kind names an echo canceller ("" is
// the default).
func ValidEchoCanceller(kind string) bool { return kind == "" || slices.Contains(EchoCancellers, kind) }

// NewCaptureUplinkWith is NewCaptureUplink with the echo canceller named
// (EchoCancellers; "" is DefaultEchoCanceller). Without down there is no
// echo cancellation and canceller is only checked.
func NewCaptureUplinkWith(name string, down *Downlink, canceller string) (*Uplink, error) {
	if !ValidEchoCanceller(canceller) {
		return nil, fmt.Errorf("audio: unknown echo canceller %q (want one of %v)", canceller, EchoCancellers)
	}
	return newCaptureUplink(name, down, canceller)
}

// EchoCanceller names the canceller the uplink runs (EchoWebRTC or
// EchoSpeex), "" without one.
func (u *Uplink) EchoCanceller() string {
	switch {
	case u.aec == nil:
		return ""
	case u.aec.a3 != nil:
		return EchoAEC3
	case u.aec.wap != nil:
		return EchoWebRTC
	}
	return EchoSpeex
}
