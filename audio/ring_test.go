package audio

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/audio/audiotest"
)

func readN(s Source, frames int) []int16 {
	out := make([]int16, frames*FrameSamples)
	for i := 0; i < frames; i++ {
		_ = s.ReadFrame(out[i*FrameSamples : (i+1)*FrameSamples])
	}
	return out
}

func TestRingCadence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		on, off time.Duration
		freqs   []float64
	}{
		{"ring", 2 * time.Second, 4 * time.Second, []float64{440, 480}},
		{"ringback", time.Second, 4 * time.Second, []float64{425}},
	} {
		src, err := Open(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		period := tc.on + tc.off
		pcm := readN(src, int(2*period/(20*time.Millisecond)))
		at := func(d time.Duration) []int16 { // 100 ms from d
			i := int(d.Seconds() * SampleRate)
			return pcm[i : i+SampleRate/10]
		}
		for _, start := range []time.Duration{0, period} {
			on := at(start + tc.on/2)
			for _, f := range tc.freqs {
				if db := audiotest.DB(audiotest.Goertzel(on, SampleRate, f)) - audiotest.DB(32768*32768); db < -25 {
					t.Errorf("%s: %v Hz at %.1f dBFS while on", tc.name, f, db)
				}
			}
			if off := at(start + tc.on + tc.off/2); DBFS(off) > -90 {
				t.Errorf("%s: not silent while off (%.1f dBFS)", tc.name, DBFS(off))
			}
		}
		// ramps: no click at the start of the tone
		for i, v := range pcm[:24] { // 0.5 ms into a 5 ms ramp: under 10% of full level
			if math.Abs(float64(v)) > 0.3*32767*0.1 {
				t.Errorf("%s: abrupt start (sample %d = %d)", tc.name, i, v)
				break
			}
		}
		if p := math.Pow(10, DBFS(pcm[:int(tc.on.Seconds()*SampleRate)])/20); p > 0.3 {
			t.Errorf("%s: too loud (%.2f FS rms)", tc.name, p)
		}
	}
}

func TestBell(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("RIFF....WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "bell.wav")
	if err := os.WriteFile(good, toneWAV(800, 300*time.Millisecond, 1, 16000, 16), 0o644); err != nil {
		t.Fatal(err)
	}

	b := NewBell()
	if err := b.SetCallingBell(bad); !errors.Is(err, ErrBadFile) {
		t.Errorf("bad bell: %v", err)
	}
	if err := b.SetCallingBell(filepath.Join(dir, "none.ogg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing bell: %v", err)
	}
	if b.CallingBell() != "" {
		t.Error("failed SetCallingBell changed the bell")
	}
	if f := audiotest.ToneFreq(readN(b.Source(), 50), SampleRate); math.Abs(f-440) > 25 {
		t.Errorf("default bell at %.0f Hz", f)
	}
	if err := b.SetCallingBell(good); err != nil {
		t.Fatal(err)
	}
	src := b.Source()
	pcm := readN(src, 100) // 2 s: the 0.3 s file loops
	if f := audiotest.ToneFreq(pcm, SampleRate); math.Abs(f-800) > 1 {
		t.Errorf("custom bell at %.1f Hz", f)
	}
	if DBFS(pcm[len(pcm)-FrameSamples:]) < -20 {
		t.Error("custom bell does not loop")
	}
	b.EnableMuteMode(true)
	if DBFS(readN(src, 5)) > -200 || !b.Muted() {
		t.Error("muted bell not silent")
	}
	b.EnableMuteMode(false)
	if err := b.SetCallingBell(""); err != nil || b.CallingBell() != "" {
		t.Errorf("reset: %v", err)
	}
	if f := audiotest.ToneFreq(readN(b.Source(), 50), SampleRate); math.Abs(f-800) < 50 {
		t.Error("empty path did not restore the default ring")
	}
}
