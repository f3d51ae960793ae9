package webrtcap_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/audio/webrtcap"
)

const rate = 48000

func TestMain(m *testing.M) {
	if !webrtcap.Available {
		// a build without the module: New must say so
		if _, err := webrtcap.New(webrtcap.Config{SampleRate: rate}); !errors.Is(err, webrtcap.ErrUnavailable) {
			fmt.Fprintln(os.Stderr, "New without the module:", err)
			os.Exit(1)
		}
		fmt.Println("webrtcap: not in this build, tests skipped")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// room: 30 ms delay, attenuation 0.5, a one-pole lowpass (about 6 kHz)
// and a faint noise floor.
func room(far, near []int16) []int16 {
	const delay = 30 * rate / 1000
	a := math.Exp(-2 * math.Pi * 6000 / rate)
	r := rand.New(rand.NewPCG(5, 6))
	mic := make([]int16, len(far))
	var y float64
	for i := range mic {
		x := 0.0
		if i >= delay {
			x = 0.5 * float64(far[i-delay])
		}
		y = (1-a)*x + a*y
		v := y + r.NormFloat64()*3
		if near != nil {
			v += float64(near[i])
		}
		mic[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return mic
}

func process(t *testing.T, far, mic []int16) []int16 {
	t.Helper()
	p, err := webrtcap.New(webrtcap.Config{SampleRate: rate, Noise: webrtcap.NoiseModerate,
		Suppression: webrtcap.SuppressionModerate, ExtendedFilter: true, DelayAgnostic: true, HighPass: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := append([]int16(nil), mic...)
	n := p.FrameSize()
	for i := 0; i+n <= len(far); i += n {
		if err := p.Reverse(far[i : i+n]); err != nil {
			t.Fatal(err)
		}
		if err := p.Capture(out[i:i+n], 0); err != nil {
			t.Fatal(err)
		}
	}
	s := p.Stats()
	t.Logf("stats: ERL %.1f dB, ERLE %.1f dB, A_NLP %.1f dB, delay median %d ms (std %d), poor delays %.2f",
		s.ERL, s.ERLE, s.ANLP, s.DelayMedian, s.DelayStd, s.FractionPoorDelays)
	return out
}

// The echo of the far end's speech, 30 ms late in the microphone, is
// removed: at least 30 dB down after the first second (the delay
// estimate and the filter settle), and the near end alone passes.
func TestEchoRemoved(t *testing.T) {
	far := audiotest.Speech(11, 6*rate, rate)
	mic := room(far, nil)
	out := process(t, far, mic)
	for s := 0; s < 6; s++ {
		a, b := s*rate, (s+1)*rate
		t.Logf("second %d: echo left %.1f dB", s, audiotest.DB(audiotest.Power(out[a:b])/audiotest.Power(mic[a:b])))
	}
	if left := audiotest.DB(audiotest.Power(out[rate:]) / audiotest.Power(mic[rate:])); left > -30 {
		t.Errorf("echo left after 1 s: %.1f dB, want <= -30", left)
	}
}

// Double talk: the near end's speech over the echo keeps its energy
// (within 6 dB) once the canceller has settled.
func TestDoubleTalk(t *testing.T) {
	far := audiotest.Speech(11, 6*rate, rate)
	nearSpeech := audiotest.Speech(22, 3*rate, rate)
	near := make([]int16, len(far))
	copy(near[3*rate:], nearSpeech)
	out := process(t, far, room(far, near))
	a := 3*rate + rate/10
	ratio := audiotest.DB(audiotest.Power(out[a:]) / audiotest.Power(near[a:]))
	_, corr := audiotest.XCorrDelay(near[a:], out[a:], rate/50)
	t.Logf("double talk: near-end energy %+.1f dB, correlation %.3f", ratio, corr)
	if ratio < -6 || ratio > 6 {
		t.Errorf("near-end energy changed by %+.1f dB, want within 6 dB", ratio)
	}
	if corr < 0.6 {
		t.Errorf("near-end correlation %.3f, want >= 0.6", corr)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := webrtcap.New(webrtcap.Config{SampleRate: 44100}); err == nil {
		t.Error("44.1 kHz accepted")
	}
	p, err := webrtcap.New(webrtcap.Config{SampleRate: rate, Noise: webrtcap.NoiseOff})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Capture(make([]int16, 100), 0); err == nil {
		t.Error("a 100-sample frame accepted")
	}
	p.Close()
	if err := p.Reverse(make([]int16, 480)); !errors.Is(err, webrtcap.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	p.Close()
}
