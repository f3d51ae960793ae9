package audio

// Ours or speexdsp's resampler? Issue 14 item 7. The measurements behind
// docs/audio.md "The resampler: ours or speexdsp's":
//
//	go test -run TestResampleVsSpeex -v ./audio
//	go test -run '^$' -bench 'Resample(Ours|Speex)' -benchmem ./audio

import (
	"math"
	"testing"
)

func tone(f float64, rate, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 0.5 * float32(math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
	}
	return x
}

// snrDB: the in-band tone's power against everything else, over the middle
// of out (the edges have the filter's transients).
func snrDB(out []float32, f float64, rate int) float64 {
	mid := out[len(out)/4 : 3*len(out)/4]
	// least-squares fit of a*sin + b*cos at f, the residual is the error
	var ss, cc, sc, ys, yc float64
	for i, v := range mid {
		w := 2 * math.Pi * f * float64(i+len(out)/4) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss, cc, sc, ys, yc = ss+s*s, cc+c*c, sc+s*c, ys+float64(v)*s, yc+float64(v)*c
	}
	det := ss*cc - sc*sc
	a, b := (ys*cc-yc*sc)/det, (yc*ss-ys*sc)/det
	var sig, noise float64
	for i, v := range mid {
		w := 2 * math.Pi * f * float64(i+len(out)/4) / float64(rate)
		fit := a*math.Sin(w) + b*math.Cos(w)
		sig += fit * fit
		noise += (float64(v) - fit) * (float64(v) - fit)
	}
	return 10 * math.Log10(sig/noise)
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// TestResampleVsSpeex: the cases a WAV file meets (44.1, 16 and 96 kHz to
// 48 kHz): the SNR of an in-band tone, and what is left of a tone above the
// output's Nyquist (it must be filtered, not aliased). The output becomes
// 16-bit PCM, whose own noise floor is about 98 dB below a full-scale tone:
// past 96 dB a difference cannot be heard or even stored. Ours must reach
// speexdsp's best quality (10) within 3 dB, or 96 dB.
func TestResampleVsSpeex(t *testing.T) {
	cases := []struct {
		in    int
		pass  float64 // in-band tone
		alias float64 // above 24 kHz (0: upsampling, none)
	}{
		{44100, 1000, 0}, {44100, 15000, 0}, {16000, 3000, 0}, {96000, 1000, 30000}, {96000, 15000, 0},
	}
	for _, tc := range cases {
		in := tone(tc.pass, tc.in, tc.in) // 1 s
		ours := Resample(in, tc.in, SampleRate)
		sp, err := speexResample(in, tc.in, SampleRate, 10)
		if err != nil {
			t.Fatal(err)
		}
		sp5, err := speexResample(in, tc.in, SampleRate, 5)
		if err != nil {
			t.Fatal(err)
		}
		so, ss := snrDB(ours, tc.pass, SampleRate), snrDB(sp, tc.pass, SampleRate)
		t.Logf("%d -> 48000, %.0f Hz: SNR ours %.1f dB, speexdsp q10 %.1f dB, q5 %.1f dB", tc.in, tc.pass, so, ss, snrDB(sp5, tc.pass, SampleRate))
		if so < min(ss-3, 96) {
			t.Errorf("%d Hz %.0f Hz tone: ours %.1f dB, speexdsp %.1f dB", tc.in, tc.pass, so, ss)
		}
		if tc.alias > 0 {
			hi := tone(tc.alias, tc.in, tc.in)
			ao := rms(Resample(hi, tc.in, SampleRate)[4800:43200])
			sa, err := speexResample(hi, tc.in, SampleRate, 10)
			if err != nil {
				t.Fatal(err)
			}
			as := rms(sa[4800:43200])
			t.Logf("%d -> 48000, %.0f Hz (above Nyquist): left ours %.1f dB, speexdsp %.1f dB", tc.in, tc.alias,
				20*math.Log10(ao/0.354), 20*math.Log10(as/0.354))
			if 20*math.Log10(ao/0.354) > -70 {
				t.Errorf("ours lets the %.0f Hz tone through at %.1f dB", tc.alias, 20*math.Log10(ao/0.354))
			}
		}
	}
}

func benchResample(b *testing.B, f func([]float32) []float32) {
	b.Helper()
	in := tone(1000, 44100, 44100*10) // a 10 s 44.1 kHz WAV
	b.SetBytes(int64(4 * len(in)))
	for b.Loop() {
		f(in)
	}
}

func BenchmarkResampleOurs(b *testing.B) {
	benchResample(b, func(in []float32) []float32 { return Resample(in, 44100, SampleRate) })
}

func BenchmarkResampleSpeexQ10(b *testing.B) {
	benchResample(b, func(in []float32) []float32 { o, _ := speexResample(in, 44100, SampleRate, 10); return o })
}

func BenchmarkResampleSpeexQ5(b *testing.B) {
	benchResample(b, func(in []float32) []float32 { o, _ := speexResample(in, 44100, SampleRate, 5); return o })
}
