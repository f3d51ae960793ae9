package audio

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/termcall/termcall/audio/audiotest"
)

// echoPath simulates loudspeaker -> room -> microphone: 40 ms delay,
// attenuation 0.5 and a gentle one-pole lowpass (about 6 kHz).
func echoPath(far []int16) []float64 {
	const delay = 40 * SampleRate / 1000
	out := make([]float64, len(far))
	a := math.Exp(-2 * math.Pi * 6000 / SampleRate)
	var y float64
	for i := range out {
		x := 0.0
		if i >= delay {
			x = 0.5 * float64(far[i-delay])
		}
		y = (1-a)*x + a*y
		out[i] = y
	}
	return out
}

type aecRun struct {
	micPow, outPow float64 // after convergence
	out            []int16
}

func runAEC(t testing.TB, frame int, far []int16, near []int16) aecRun {
	t.Helper()
	ec, err := NewEchoCanceller(frame, SampleRate/5)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	echo := echoPath(far)
	r := rand.New(rand.NewPCG(5, 6))
	mic := make([]int16, len(far))
	for i := range mic {
		v := echo[i] + r.NormFloat64()*3 // faint noise floor, about -80 dBFS
		if near != nil {
			v += float64(near[i])
		}
		mic[i] = sat16f(v)
	}
	out := make([]int16, len(far))
	for i := 0; i+frame <= len(far); i += frame {
		ec.Process(mic[i:i+frame], far[i:i+frame], out[i:i+frame])
	}
	skip := 2 * SampleRate
	return aecRun{
		micPow: audiotest.Power(mic[skip:]),
		outPow: audiotest.Power(out[skip:]),
		out:    out,
	}
}

func TestEchoCancellerERLE(t *testing.T) {
	far := audiotest.Speech(11, 8*SampleRate, SampleRate)
	for _, frame := range []int{480, 960} {
		r := runAEC(t, frame, far, nil)
		erle := audiotest.DB(r.micPow / r.outPow)
		t.Logf("frame %d: ERLE %.1f dB", frame, erle)
		if erle < 15 {
			t.Errorf("frame %d: ERLE %.1f dB, want >= 15", frame, erle)
		}
	}
}

func TestEchoCancellerDoubleTalk(t *testing.T) {
	far := audiotest.Speech(11, 8*SampleRate, SampleRate)
	near := audiotest.Speech(22, 8*SampleRate, SampleRate)
	r := runAEC(t, 960, far, near)
	skip := 2 * SampleRate
	lag, peak := audiotest.XCorrDelay(near[skip:], r.out[skip:], 2000)
	ratio := audiotest.DB(audiotest.Power(r.out[skip:]) / audiotest.Power(near[skip:]))
	// how much of the echo is left in the output (project out the near end)
	_, echoCorr := audiotest.XCorrDelay(far[skip:], r.out[skip:], 4000)
	t.Logf("double talk: near-end correlation %.3f at lag %d, output/near-end energy %.1f dB, correlation with far end %.3f", peak, lag, ratio, echoCorr)
	if peak < 0.8 || lag < 960-10 || lag > 960+10 { // Delay(): one frame
		t.Errorf("near-end not kept: correlation %.3f at lag %d", peak, lag)
	}
	if math.Abs(ratio) > 4 {
		t.Errorf("near-end energy changed by %.1f dB", ratio)
	}
}

// BenchmarkEchoCanceller: the capture uplink's canceller per 10 ms
// block, each kind (speex as before: the 200 ms filter without the
// gate; speex and webrtc as the uplink runs them), on speech with its
// echo; cpu-s/call-s is the CPU time per second of call.
func BenchmarkEchoCanceller(b *testing.B) {
	far := audiotest.Speech(1, 100*PeriodSamples, SampleRate)
	echo := echoPath(far)
	mic := make([]int16, len(far))
	for i := range mic {
		mic[i] = sat16f(echo[i])
	}
	for _, kind := range []string{"speex-before", EchoSpeex, EchoWebRTC, EchoAEC3} {
		b.Run(kind, func(b *testing.B) {
			if kind == EchoWebRTC {
				needWebRTC(b)
			}
			var ec *EchoCanceller
			var err error
			if kind == "speex-before" {
				ec, err = NewEchoCanceller(PeriodSamples, SampleRate/5)
				if ec != nil {
					ec.start.off, ec.gate.off = true, true
				}
			} else {
				ec, err = newEchoCanceller(kind)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer ec.Close()
			out := make([]int16, PeriodSamples)
			b.ReportAllocs()
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			for i := 0; b.Loop(); i++ {
				k := (i % 100) * PeriodSamples
				ec.Process(mic[k:k+PeriodSamples], far[k:k+PeriodSamples], out)
			}
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(cpu.Seconds()/float64(b.N)*100, "cpu-s/call-s") // 100 blocks of 10 ms
		})
	}
}

// TestStartupSuppressorRearm: the start-up suppression ends once the
// echo is 40 dB down for 200 ms, and after a path change (rearm) it runs
// again for 0.5 s of far end at most while the echo is not cancelled; a
// near end louder than the far end passes all along.
func TestStartupSuppressorRearm(t *testing.T) {
	var s startupSuppressor
	far := audiotest.Tone(300, 0.25, PeriodSamples, SampleRate) // -12 dBFS
	block := func(echoLeft float64) (attenuated bool) {
		out := make([]int16, len(far))
		for i, v := range far {
			out[i] = int16(float64(v) * echoLeft)
		}
		mic := meanSquare(far) // the microphone hears the far end at 0 dB
		s.process(far, out, false, mic, meanSquare(out))
		return meanSquare(out) < meanSquare(far)*echoLeft*echoLeft/100
	}
	// the filter cancels 50 dB from the start: it ends after 200 ms
	n := 0
	for ; n < maxStartup && !s.converged(); n++ {
		block(0.003)
	}
	if !s.converged() || n != convMin {
		t.Fatalf("converged %v after %d blocks, want after %d", s.converged(), n, convMin)
	}
	if block(0.5) {
		t.Error("an uncancelled block attenuated after convergence (the residual suppressors' job)")
	}
	// the path moves: the echo is back, uncancelled, for a second
	s.rearm()
	cut := 0
	for range 100 {
		if block(1) {
			cut++
		}
	}
	if cut != rearmBlocks {
		t.Errorf("after rearm: %d of 100 blocks attenuated, want %d (0.5 s)", cut, rearmBlocks)
	}
	// a near end 10 dB louder than the far end passes while it runs
	s.rearm()
	if block(3.16) {
		t.Error("a near end 10 dB louder than the far end was attenuated")
	}
}
