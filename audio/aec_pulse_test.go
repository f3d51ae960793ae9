package audio

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/audio/audiotest"
)

// echoWindows are the time windows, after the echo first reaches the
// microphone, over which the echo left in the uplink is reported.
var echoWindows = []struct{ from, to time.Duration }{
	{0, 200 * time.Millisecond},
	{200 * time.Millisecond, 500 * time.Millisecond},
	{500 * time.Millisecond, time.Second},
	{time.Second, 2 * time.Second},
}

type pulseEchoRun struct {
	windows []float64 // echo left, dB relative to the echo in the microphone
	dtCorr  float64   // double talk: median correlation of the output with the near end, per 100 ms
	resyncs int       // the reference jumped (the sound server under- or overran)
	dtRatio float64   // double talk: output energy / near-end energy, dB
}

func (r pulseEchoRun) String() string {
	var b strings.Builder
	for i, w := range echoWindows {
		fmt.Fprintf(&b, "%v-%v: %.1f dB, ", w.from, w.to, r.windows[i])
	}
	fmt.Fprintf(&b, "double talk: near-end correlation %.3f, energy %+.1f dB", r.dtCorr, r.dtRatio)
	return b.String()
}

// runPulseEcho (deviceRef false: the canceller as it was before, fed the
// mix as Fill made it, with a 200 ms filter and no start-up suppression)
// plays a far end's speech (RTP through a Downlink) on the
// PulseAudio null sink, captures its monitor through a capture uplink
// with echo cancellation, and reports the echo left per window; a second
// playback stream adds a near-end talker 2 s after the echo starts, for
// 1.5 s (double talk).
func runPulseEcho(t *testing.T, deviceRef bool) (pulseEchoRun, bool) {
	t.Helper()
	const (
		lead     = 500 * time.Millisecond // silence before the far end talks
		farLen   = 4 * time.Second
		nearAt   = lead + 2*time.Second
		nearLen  = 1500 * time.Millisecond
		samples  = SampleRate / 1000 // per ms
		runFor   = lead + farLen + 300*time.Millisecond
		farFrame = FrameSamples
	)
	far := audiotest.Speech(11, int(farLen/time.Millisecond)*samples, SampleRate)
	nearSpeech := audiotest.Speech(22, int(nearLen/time.Millisecond)*samples, SampleRate)
	near := make([]int16, int(runFor/time.Millisecond)*samples)
	copy(near[int(nearAt/time.Millisecond)*samples:], nearSpeech)

	down := NewDownlink()
	var fills atomic.Int64
	spk, err := OpenPlayback("", func(pcm []int16) { fills.Add(1); down.Fill(pcm) })
	if err != nil {
		t.Fatal(err)
	}
	defer spk.Close()
	if b := spk.Backend(); b != "pulseaudio" {
		t.Fatalf("playback backend %q, want pulseaudio", b)
	}
	if deviceRef {
		spk.SetPlayedTap(down.Played)
	}
	// A fresh null sink renders in blocks of up to 2 s until it notices a
	// stream that wants low latency: wait until the playback flows.
	deadline := time.Now().Add(10 * time.Second)
	for fills.Load() < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("the playback device asked for %d frames in 10 s", fills.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	u, err := NewCaptureUplink("", down)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if b := u.Device().Backend(); b != "pulseaudio" {
		t.Fatalf("capture backend %q, want pulseaudio", b)
	}
	if !deviceRef { // the canceller as it was: 200 ms filter, no start-up suppression
		old, err := NewEchoCanceller(PeriodSamples, SampleRate/5)
		if err != nil {
			t.Fatal(err)
		}
		old.start.off = true
		u.aec.Close()
		u.aec = old
	}
	var mu sync.Mutex
	var mic, ref, out []int16
	u.tapAEC = func(m, f, o []int16) {
		mu.Lock()
		mic = append(mic, m...)
		ref = append(ref, f...)
		out = append(out, o...)
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, _, err := u.ReadOpusFrame(ctx); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
		}
	})
	nearSrc := NewPCMSource(near, false)
	talker, err := OpenPlayback("", func(pcm []int16) {
		if nearSrc.ReadFrame(pcm) != nil {
			clear(pcm)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	// the far end: its speech as RTP, one packet per 20 ms
	wg.Go(func() {
		enc, err := NewEncoder()
		if err != nil {
			t.Error(err)
			return
		}
		time.Sleep(lead)
		p := NewPacer(FrameDuration * time.Millisecond)
		pkt := make([]byte, MaxPacketSize)
		for i := 0; (i+1)*farFrame <= len(far) && ctx.Err() == nil; i++ {
			p.Wait()
			n, err := enc.Encode(far[i*farFrame:(i+1)*farFrame], pkt)
			if err != nil {
				t.Error(err)
				return
			}
			down.WriteRTP("far", &rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * farFrame)},
				Payload: append([]byte(nil), pkt[:n]...)})
		}
	})
	wg.Wait()
	o1, u1 := u.Device().Xruns()
	o2, u2 := spk.Xruns()
	t.Logf("capture overruns %d underruns %d; playback overruns %d underruns %d", o1, u1, o2, u2)
	mu.Lock()
	defer mu.Unlock()

	// the echo's onset: the first 10 ms of the microphone that is not silent
	const blk = PeriodSamples
	onset := -1
	for i := 0; i+blk <= len(mic); i += blk {
		if audiotest.DBFS(audiotest.Power(mic[i:i+blk])) > -60 {
			onset = i
			break
		}
	}
	if onset < 0 {
		t.Fatalf("the microphone (the null sink's monitor) heard nothing in %d samples", len(mic))
	}
	var r pulseEchoRun
	refLag, refPeak := audiotest.XCorrDelay(ref, mic, SampleRate/2)
	r.resyncs = down.played.resyncCount()
	t.Logf("captured %.2f s; the echo lags the canceller's reference by %.1f ms (correlation %.2f); the reference jumped %d times",
		float64(len(mic))/SampleRate, float64(refLag)/samples, refPeak, r.resyncs)
	lag := PeriodSamples
	at := func(dur time.Duration) int { return onset + int(dur/time.Millisecond)*samples }
	for _, w := range echoWindows {
		a, b := at(w.from), at(w.to)
		if b+lag > len(out) {
			t.Logf("recorded %d samples, need %d: the uplink dropped frames", len(out), b+lag)
			return r, false
		}
		r.windows = append(r.windows, audiotest.DB(audiotest.Power(out[a+lag:b+lag])/audiotest.Power(mic[a:b])))
	}
	// double talk: from 100 ms after the near end starts to its end
	a, b := at(nearAt-lead+100*time.Millisecond), at(nearAt-lead+nearLen-100*time.Millisecond)
	if b+lag > len(out) {
		t.Logf("recorded %d samples, need %d: the uplink dropped frames", len(out), b+lag)
		return r, false
	}
	// the near end must come through: its energy, and its waveform in
	// 100 ms pieces (the talker's own stream may slip on a busy machine)
	nearRef := nearSpeech[100*samples : 100*samples+(b-a)]
	r.dtRatio = audiotest.DB(audiotest.Power(out[a+lag:b+lag]) / audiotest.Power(nearRef))
	var corrs []float64
	piece := 100 * samples
	for k := 0; k+piece <= len(nearRef); k += piece {
		if audiotest.DBFS(audiotest.Power(nearRef[k:k+piece])) < -40 {
			continue
		}
		lo, hi := max(0, a+k-100*samples), min(len(out), a+k+piece+100*samples)
		_, c := audiotest.XCorrDelay(nearRef[k:k+piece], out[lo:hi], 200*samples)
		corrs = append(corrs, c)
	}
	slices.Sort(corrs)
	if len(corrs) > 0 {
		r.dtCorr = corrs[len(corrs)/2]
	}
	return r, true
}

// pulseEcho runs runPulseEcho until a run keeps all its frames (the
// uplink drops what it cannot read in time on a very busy machine, which
// shifts the windows), three times at most.
func pulseEcho(t *testing.T, deviceRef bool) pulseEchoRun {
	t.Helper()
	for range 3 {
		if r, ok := runPulseEcho(t, deviceRef); ok {
			return r
		}
	}
	t.Fatal("three runs in a row lost captured frames: the machine is too busy to measure")
	return pulseEchoRun{}
}

// TestEchoCancellerPulse: the far end's speech played on a real audio
// server (PulseAudio, null sink) and captured from its monitor through
// malgo's pulse backend, once with the canceller fed the mix as Fill made
// it (as before) and once with what the playback device played: the echo
// the far end would hear back must be 40 dB below its level within
// 200 ms and for the first second (from 1 s on, 10 dB below the old
// canceller's: the target is not met there yet), and a near-end talker
// must come through during double talk. On
// a machine so busy that the sound server itself underran (the reference
// jumped: the echo path itself moved), only the first window and the
// near end's energy are judged; the rest is reported.
func TestEchoCancellerPulse(t *testing.T) {
	audiotest.StartPulse(t)
	before := pulseEcho(t, false)
	t.Logf("echo left, before (Fill reference, 200 ms filter): %v", before)
	r := pulseEcho(t, true)
	t.Logf("echo left, now (device reference, 100 ms filter, start-up suppression): %v", r)
	for i, w := range echoWindows {
		if w.from > 0 && r.resyncs > 0 {
			continue
		}
		switch {
		case w.to <= time.Second:
			if r.windows[i] > -40 {
				t.Errorf("%v-%v after the echo starts: echo %.1f dB, want <= -40", w.from, w.to, r.windows[i])
			}
		default:
			// After the start-up suppression (1.5 s) the adaptive filter
			// alone is left: it does not reach -40 dB yet (docs/audio.md,
			// "Echo cancellation"). Guard what it does: clearly better than
			// the old canceller in the same run.
			if r.windows[i] > before.windows[i]-10 {
				t.Errorf("%v-%v after the echo starts: echo %.1f dB, want at least 10 dB below the old canceller's %.1f dB",
					w.from, w.to, r.windows[i], before.windows[i])
			}
		}
	}
	if r.dtRatio < -6 || r.dtRatio > 6 {
		t.Errorf("double talk: the near end's energy changed by %+.1f dB, want within 6 dB", r.dtRatio)
	}
	if r.dtCorr < 0.6 && r.resyncs == 0 {
		t.Errorf("double talk: the near end correlates %.3f with what is sent, want >= 0.6", r.dtCorr)
	}
}
