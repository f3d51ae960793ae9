package audio

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/audio/ogg"
)

// readAll reads a finite source to its end (at most limit frames).
func readAll(t *testing.T, s Source, limit int) []int16 {
	t.Helper()
	var out []int16
	f := make([]int16, FrameSamples)
	for i := 0; i < limit; i++ {
		err := s.ReadFrame(f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f...)
	}
	return out
}

func TestToneSource(t *testing.T) {
	s, err := Open("tone:440")
	if err != nil {
		t.Fatal(err)
	}
	pcm := readAll(t, s, 50)
	if f := audiotest.ToneFreq(pcm, SampleRate); math.Abs(f-440) > 1 {
		t.Errorf("tone at %.2f Hz", f)
	}
	if db := DBFS(pcm); math.Abs(db-(20*math.Log10(0.3/math.Sqrt2))) > 0.2 {
		t.Errorf("tone level %.2f dBFS, want 0.3 FS", db)
	}
	for name, frames := range map[string]int{"tone:440:3s": 150, "TONE:1000:0.5": 25, "tone:300:30ms": 2} {
		s, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(readAll(t, s, 1000)) / FrameSamples; got != frames {
			t.Errorf("%s: %d frames, want %d", name, got, frames)
		}
	}
	s, _ = Open("tone:440:100ms", Loop(true))
	if got := len(readAll(t, s, 20)); got != 20*FrameSamples {
		t.Errorf("looped tone ended after %d samples", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodWAV := wavBytes(1, 48000, 16, make([]byte, 960*2))
	mp3WAV := append([]byte(nil), goodWAV...)
	binary.LittleEndian.PutUint16(mp3WAV[20:], 0x55)
	goodOgg := oggBytes(t, audiotest.Tone(440, 0.3, 4800, SampleRate))
	flipped := append([]byte(nil), goodOgg...)
	flipped[len(flipped)-10] ^= 0xff
	for _, tc := range []struct {
		name string
		want error
	}{
		{"bogus", ErrBadName},
		{"tone:abc", ErrBadName},
		{"tone:440:forever", ErrBadName},
		{"tone:30000", ErrBadName},
		{filepath.Join(dir, "missing.wav"), os.ErrNotExist},
		{write("noise.wav", []byte("this is not audio at all")), ErrBadFile},
		{write("empty.ogg", nil), ErrBadFile},
		{write("mp3.wav", mp3WAV), ErrBadFile},
		{write("trunc.wav", goodWAV[:30]), ErrBadFile},
		{write("flipped.ogg", flipped), ErrBadFile},
		{write("trunc.ogg", goodOgg[:len(goodOgg)/2]), ErrBadFile},
		{write("vorbis.ogg", oggWithHead(t, []byte("\x01vorbis\x00\x00\x00\x00\x01"))), ErrBadFile},
		{"file:" + write("wavasogg.ogg", goodWAV), nil}, // content decides
	} {
		_, err := Open(tc.name)
		if tc.want == nil {
			if err != nil {
				t.Errorf("Open(%s): %v", filepath.Base(tc.name), err)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(%s) = %v, want %v", filepath.Base(tc.name), err, tc.want)
		} else {
			t.Logf("Open(%s): %v", filepath.Base(tc.name), err)
		}
	}
}

func wavBytes(channels, rate, bits int, data []byte) []byte {
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	format := 1
	if bits == 33 { // float32
		format, bits = 3, 32
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(format))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(bits))
	b = append(b, "LIST"...) // an extra chunk to skip
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = append(b, 1, 2, 3, 0)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// toneWAV encodes a tone at freq in the given format, on every channel.
func toneWAV(freq float64, dur time.Duration, channels, rate, bits int) []byte {
	n := int(dur.Seconds() * float64(rate))
	var data []byte
	for i := 0; i < n; i++ {
		v := 0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		for c := 0; c < channels; c++ {
			switch bits {
			case 8:
				data = append(data, byte(128+math.Round(v*127)))
			case 16:
				data = binary.LittleEndian.AppendUint16(data, uint16(int16(math.Round(v*32767))))
			case 24:
				x := int32(math.Round(v * 8388607))
				data = append(data, byte(x), byte(x>>8), byte(x>>16))
			case 33:
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(v)))
			}
		}
	}
	return wavBytes(channels, rate, bits, data)
}

func TestWAVFormats(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		freq                 float64
		channels, rate, bits int
	}{
		{1000, 2, 44100, 16},
		{440, 1, 8000, 16},
		{440, 1, 48000, 16},
		{3000, 1, 16000, 24},
		{700, 2, 22050, 8},
		{1234, 1, 96000, 33},
	} {
		p := filepath.Join(dir, "t.wav")
		if err := os.WriteFile(p, toneWAV(tc.freq, time.Second, tc.channels, tc.rate, tc.bits), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		pcm := s.(*PCMSource).Samples()
		if math.Abs(float64(len(pcm)-SampleRate)) > 1 {
			t.Errorf("%+v: %d samples, want 48000", tc, len(pcm))
		}
		mid := pcm[4800 : len(pcm)-4800]
		if f := audiotest.ToneFreq(mid, SampleRate); math.Abs(f-tc.freq) > 1 {
			t.Errorf("%+v: tone at %.2f Hz", tc, f)
		}
		want := 20 * math.Log10(0.5/math.Sqrt2)
		if db := DBFS(mid); math.Abs(db-want) > 0.5 {
			t.Errorf("%+v: level %.2f dBFS, want %.2f", tc, db, want)
		}
	}
}

func TestResampleAntiAlias(t *testing.T) {
	// a 30 kHz tone at 96 kHz must vanish at 48 kHz (it would alias to 18 kHz)
	in := make([]float32, 96000)
	for i := range in {
		in[i] = 0.5 * float32(math.Sin(2*math.Pi*30000*float64(i)/96000))
	}
	out := Resample(in, 96000, 48000)
	pcm := make([]int16, len(out))
	for i, v := range out {
		pcm[i] = sat16f(float64(v) * 32768)
	}
	if db := DBFS(pcm[1000 : len(pcm)-1000]); db > -70 {
		t.Errorf("aliased tone at %.1f dBFS, want < -70", db)
	}
}

func TestWAVSinkRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.wav")
	sink, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	want := audiotest.Speech(5, 10*FrameSamples+123, SampleRate)
	for i := 0; i < len(want); i += FrameSamples {
		if err := sink.WriteFrame(want[i:min(i+FrameSamples, len(want))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if len(b) != 44+2*len(want) || binary.LittleEndian.Uint32(b[40:]) != uint32(2*len(want)) || binary.LittleEndian.Uint32(b[4:]) != uint32(36+2*len(want)) {
		t.Fatalf("bad header: file %d bytes, sizes %d %d", len(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[40:]))
	}
	got, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %d, want %d", i, got[i], want[i])
		}
	}
}

func oggBytes(t *testing.T, pcm []int16) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.ogg")
	sink, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pcm); i += FrameSamples {
		if err := sink.WriteFrame(pcm[i:min(i+FrameSamples, len(pcm))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOggOpusRoundTrip(t *testing.T) {
	for _, n := range []int{SampleRate, 3*SampleRate + 517, 100} {
		want := audiotest.Tone(440, 0.3, n, SampleRate)
		b := oggBytes(t, want)
		p := filepath.Join(t.TempDir(), "y.opus")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got := s.(*PCMSource).Samples()
		if len(got) != n {
			t.Errorf("%d samples in, %d out (pre-skip or end trimming wrong)", n, len(got))
		}
		if n < 4800 {
			continue
		}
		if f := audiotest.ToneFreq(got, SampleRate); math.Abs(f-440) > 1 {
			t.Errorf("tone at %.2f Hz", f)
		}
		// pre-skip removes the codec delay: speech comes out aligned
		// (within a few samples: SILK's delay is not exactly 312)
		sp := audiotest.Speech(9, n, SampleRate)
		out, err := ReadOggOpus(bytesReader(oggBytes(t, sp)))
		if err != nil {
			t.Fatal(err)
		}
		lag, peak := audiotest.XCorrDelay(sp, out, 400)
		if lag < -10 || lag > 10 || peak < 0.8 {
			t.Errorf("alignment: lag %d peak %.3f", lag, peak)
		}
		t.Logf("%d samples: %d bytes (%.1f kbit/s), lag %d, peak %.3f", n, len(b), float64(len(b))*8/(float64(n)/SampleRate)/1000, lag, peak)
	}
}

func TestSilenceAndLoop(t *testing.T) {
	s, _ := Open("null")
	f := []int16{1, 2, 3}
	if err := s.ReadFrame(f); err != nil || f[0] != 0 || f[2] != 0 {
		t.Errorf("null source: %v %v", f, err)
	}
	ps := NewPCMSource([]int16{1, 2, 3}, true)
	f = make([]int16, 7)
	_ = ps.ReadFrame(f)
	if want := []int16{1, 2, 3, 1, 2, 3, 1}; !equal16(f, want) {
		t.Errorf("loop: %v, want %v", f, want)
	}
	ps = NewPCMSource([]int16{1, 2, 3}, false)
	f = make([]int16, 2)
	_ = ps.ReadFrame(f)
	_ = ps.ReadFrame(f)
	if want := []int16{3, 0}; !equal16(f, want) {
		t.Errorf("last frame %v, want %v", f, want)
	}
	if err := ps.ReadFrame(f); !errors.Is(err, io.EOF) {
		t.Errorf("after end: %v", err)
	}
}

func equal16(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPacer(t *testing.T) {
	now := time.Unix(0, 0)
	var slept []time.Duration
	p := NewPacer(20 * time.Millisecond)
	p.now = func() time.Time { return now }
	p.sleep = func(d time.Duration) { slept = append(slept, d); now = now.Add(d) }
	p.Wait()                            // first: immediate
	now = now.Add(5 * time.Millisecond) // work took 5 ms
	p.Wait()                            // sleeps 15
	now = now.Add(25 * time.Millisecond)
	p.Wait() // 5 ms late: no sleep, schedule kept
	p.Wait() // sleeps 15 to catch up the schedule
	want := []time.Duration{15 * time.Millisecond, 15 * time.Millisecond}
	if len(slept) != 2 || slept[0] != want[0] || slept[1] != want[1] {
		t.Errorf("slept %v, want %v", slept, want)
	}
	// real time: 10 paced frames take about 180 ms
	start := time.Now()
	src := Paced(NullSource{})
	f := make([]int16, FrameSamples)
	for i := 0; i < 10; i++ {
		_ = src.ReadFrame(f)
	}
	if d := time.Since(start); d < 170*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("10 paced frames took %v", d)
	}
}

// oggWithHead is a valid Ogg stream whose first packet is head.
func oggWithHead(t *testing.T, head []byte) []byte {
	t.Helper()
	var buf bytesBuffer
	w := ogg.NewWriter(&buf, 1)
	if err := w.WritePacket(head, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.b
}

func bytesReader(b []byte) io.Reader { return &bytesBuffer{b: b} }

func (w *bytesBuffer) Read(p []byte) (int, error) {
	if len(w.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, w.b)
	w.b = w.b[n:]
	return n, nil
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
