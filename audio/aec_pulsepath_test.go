package audio

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/audio/audiotest"
)

// pulseSlips plays white noise on the PulseAudio null sink with the
// given playback period, records what the playback device's tap says it
// played and what the capture device hears (the sink's monitor), and
// returns, per 100 ms of the capture, where in the played stream it was
// found (played index - capture index, samples) and how well it matched
// (normalized correlation: 1 for the very samples).
func pulseSlips(t *testing.T, period uint32, dur time.Duration) (offsets []int, corrs []float64) {
	t.Helper()
	defer func(p uint32) { pulsePlaybackPeriod = p }(pulsePlaybackPeriod)
	pulsePlaybackPeriod = period
	r := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	var played, heard []int16
	spk, err := OpenPlayback("", func(pcm []int16) {
		for i := range pcm {
			pcm[i] = int16(r.NormFloat64() * 3000)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer spk.Close()
	spk.SetPlayedTap(func(p []int16) {
		mu.Lock()
		played = append(played, p...)
		mu.Unlock()
	})
	// a fresh null sink renders in large blocks until a low-latency
	// stream runs for a while
	time.Sleep(time.Second)
	mic, err := OpenCapture("", func(f []int16) {
		mu.Lock()
		heard = append(heard, f...)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(dur)
	mic.Close()
	spk.Close()
	mu.Lock()
	defer mu.Unlock()
	const piece = SampleRate / 10
	for c := 0; c+piece <= len(heard); c += piece {
		lo, hi := max(0, c-SampleRate), min(len(played), c+SampleRate)
		if hi-lo < piece {
			break
		}
		l, p := audiotest.XCorrDelay(heard[c:c+piece], played[lo:hi], hi-lo)
		offsets, corrs = append(offsets, lo+l-c), append(corrs, p)
	}
	return offsets, corrs
}

// TestPulsePlayedTap: what the playback device's tap reports played is
// what the sound server played: each 100 ms the null sink's monitor
// hears is found, sample for sample, in the tapped stream (white noise:
// no ambiguity of lag). Where it is found moves only when the server
// underran the playback (it played silence nobody handed it): those
// slips are counted and reported for the 10 ms playback period as it was
// and the 30 ms one (pulsePlaybackPeriod), in the same run.
func TestPulsePlayedTap(t *testing.T) {
	audiotest.StartPulse(t)
	for _, period := range []uint32{PeriodSamples, pulsePlaybackPeriod} {
		offs, corrs := pulseSlips(t, period, 5*time.Second)
		var trace []string
		found, slips, moved := 0, 0, 0
		prev := 0
		for i, o := range offs {
			trace = append(trace, fmt.Sprintf("%.1f", float64(o)/(SampleRate/1000)))
			if corrs[i] < 0.9 {
				trace[i] += "?"
				continue
			}
			if found > 0 && o != prev {
				slips++
				moved += prev - o
			}
			found++
			prev = o
		}
		t.Logf("playback period %d ms: the capture found in the played stream at (ms, per 100 ms): %s", period/(SampleRate/1000), strings.Join(trace, " "))
		t.Logf("playback period %d ms: %d of %d pieces found, %d slips, %.1f ms in all", period/(SampleRate/1000), found, len(offs), slips, float64(moved)/(SampleRate/1000))
		// noise found at >= 0.9 is the very samples; a piece with a slip in
		// it matches less (on a busy machine many do)
		if found < 5 || len(offs) < 30 {
			t.Errorf("playback period %d ms: %d of %d pieces of the capture found in what the tap reported played, want 5 of 30 or more",
				period/(SampleRate/1000), found, len(offs))
		}
	}
}
