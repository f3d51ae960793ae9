package audio

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/audio/audiotest"
)

func TestMixSaturates(t *testing.T) {
	var m Mixer
	dst := make([]int16, 5)
	m.Mix(dst, [][]int16{
		{30000, -30000, 100, 32767, 1},
		{30000, -30000, -50, 32767},
		{1000, -10000, 7},
	})
	want := []int16{32767, -32768, 57, 32767, 1}
	if diff := cmp.Diff(want, dst); diff != "" {
		t.Errorf("mix (-want +got):\n%s", diff)
	}
	// opposite overloads cancel before clipping (int32 sum, one clamp)
	m.Mix(dst, [][]int16{{32767, 32767}, {32767, 0}, {-32768, 0}})
	if dst[0] != 32766 || dst[1] != 32767 {
		t.Errorf("got %v, want [32766 32767 ...]", dst[:2])
	}
	m.Mix(dst, nil)
	if diff := cmp.Diff(make([]int16, 5), dst); diff != "" {
		t.Errorf("empty mix not silent: %v", dst)
	}
	a := []int16{32000, -5}
	MixAdd(a, []int16{32000, 5})
	if a[0] != 32767 || a[1] != 0 {
		t.Errorf("MixAdd %v", a)
	}
}

func TestLevels(t *testing.T) {
	silence := make([]int16, FrameSamples)
	square := make([]int16, FrameSamples)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32768
		}
	}
	for _, tc := range []struct {
		name  string
		pcm   []int16
		level int
		dbov  uint8
	}{
		{"silence", silence, 0, 127},
		{"full-scale square", square, 100, 0},
		{"full-scale sine", audiotest.Tone(1000, 1, FrameSamples, SampleRate), 95, 3},
		{"-30 dBFS sine", audiotest.Tone(1000, math.Pow(10, -30.0/20)*math.Sqrt2, FrameSamples, SampleRate), 50, 30},
		{"-70 dBFS sine", audiotest.Tone(1000, math.Pow(10, -70.0/20)*math.Sqrt2, FrameSamples, SampleRate), 0, 70},
		{"one LSB", []int16{1, -1, 1, -1}, 0, 90},
	} {
		if got := Level(tc.pcm); got != tc.level {
			t.Errorf("%s: Level %d, want %d", tc.name, got, tc.level)
		}
		if got := AudioLevelDBov(tc.pcm); got != tc.dbov {
			t.Errorf("%s: AudioLevelDBov %d, want %d", tc.name, got, tc.dbov)
		}
	}
}

func BenchmarkMixer4(b *testing.B) {
	srcs := make([][]int16, 4)
	for i := range srcs {
		srcs[i] = audiotest.Speech(uint64(i), FrameSamples, SampleRate)
	}
	dst := make([]int16, FrameSamples)
	var m Mixer
	b.ReportAllocs()
	for b.Loop() {
		m.Mix(dst, srcs)
	}
}

func BenchmarkLevel(b *testing.B) {
	pcm := audiotest.Speech(1, FrameSamples, SampleRate)
	b.ReportAllocs()
	for b.Loop() {
		_ = Level(pcm)
		_ = AudioLevelDBov(pcm)
	}
}
