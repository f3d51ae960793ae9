package audiotest

import (
	"math"
	"testing"
)

func TestToneFreq(t *testing.T) {
	for _, f := range []float64{300, 440, 997, 3150} {
		got := ToneFreq(Tone(f, 0.3, 9600, 48000), 48000)
		if math.Abs(got-f) > 1 {
			t.Errorf("ToneFreq(%v Hz) = %v", f, got)
		}
	}
	if got := ToneFreq(Tone(1000, 0.5, 4000, 8000), 8000); math.Abs(got-1000) > 1 {
		t.Errorf("ToneFreq at 8 kHz = %v", got)
	}
}

func TestGoertzel(t *testing.T) {
	x := Tone(1000, 0.5, 4800, 48000)
	amp := 0.5 * 32767
	want := amp * amp / 2
	if got := Goertzel(x, 48000, 1000); math.Abs(got-want)/want > 0.02 {
		t.Errorf("Goertzel at 1000 = %v, want %v", got, want)
	}
	if got := Goertzel(x, 48000, 1500); got > want*1e-3 {
		t.Errorf("Goertzel at 1500 = %v, want ~0", got)
	}
}

func TestXCorrDelay(t *testing.T) {
	ref := Speech(1, 24000, 48000)
	for _, d := range []int{0, 37, 1234, -50} {
		sig := make([]int16, len(ref))
		for i := range sig {
			if j := i - d; j >= 0 && j < len(ref) {
				sig[i] = ref[j] / 2
			}
		}
		lag, peak := XCorrDelay(ref, sig, 2000)
		if lag != d || peak < 0.99 {
			t.Errorf("delay %d: lag %d peak %.3f", d, lag, peak)
		}
	}
	_, peak := XCorrDelay(ref, Speech(2, 24000, 48000), 2000)
	if peak > 0.5 {
		t.Errorf("unrelated talkers correlate: %.3f", peak)
	}
}

func TestSpeechDeterministic(t *testing.T) {
	a, b := Speech(7, 48000, 48000), Speech(7, 48000, 48000)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("Speech not deterministic")
		}
	}
	if p := DB(Power(a)) - DB(32768*32768); p < -30 || p > -6 {
		t.Errorf("speech level %.1f dBFS", p)
	}
}
