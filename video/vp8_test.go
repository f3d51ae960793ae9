package video

import (
	"bytes"
	"errors"
	"image"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func newTestEncoder(t testing.TB, w, h, kbps int) *Encoder {
	t.Helper()
	e, err := NewEncoder(EncoderParams{Width: w, Height: h, FPS: 15, BitrateKbps: kbps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newTestDecoder(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// checkKeyframes checks encoded frame i of a stream: not dropped, a
// keyframe first and only first, flagged as IsKeyframe reads it.
func checkKeyframes(t *testing.T, i int, frame []byte, key bool) {
	t.Helper()
	if frame == nil {
		t.Fatalf("frame %d dropped", i)
	}
	if i == 0 && (!key || !IsKeyframe(frame)) {
		t.Fatalf("first frame is not a keyframe")
	}
	if i > 0 && key {
		t.Errorf("frame %d is an unexpected keyframe", i)
	}
	if key != IsKeyframe(frame) {
		t.Errorf("frame %d: keyframe flag %v but IsKeyframe %v", i, key, IsKeyframe(frame))
	}
}

func TestEncodeDecodePSNR(t *testing.T) {
	const w, h = 640, 360
	e := newTestEncoder(t, w, h, 600)
	d := newTestDecoder(t)
	var total int
	for i := 0; i < 30; i++ {
		src := PatternFrame(w, h, i)
		frame, key, err := e.Encode(src)
		if err != nil {
			t.Fatal(err)
		}
		checkKeyframes(t, i, frame, key)
		total += len(frame)
		img, err := d.Decode(frame)
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		got := img.(*image.YCbCr)
		if got.Rect.Dx() != w || got.Rect.Dy() != h {
			t.Fatalf("decoded size %v", got.Rect)
		}
		p := psnr(src, got)
		if i >= 3 && p < 30 {
			t.Errorf("frame %d: PSNR %.1f dB < 30", i, p)
		}
		if i == 29 {
			t.Logf("frame %d: PSNR %.1f dB; %d bytes/frame avg = %d kbps", i, p, total/30, total*8*15/30/1000)
		}
	}
}

func TestKeyframeOnDemand(t *testing.T) {
	e := newTestEncoder(t, 320, 180, 300)
	var keys []int
	for i := 0; i < 20; i++ {
		if i == 7 || i == 15 {
			e.ForceKeyframe()
		}
		frame, key, err := e.Encode(PatternFrame(320, 180, i))
		if err != nil {
			t.Fatal(err)
		}
		if key {
			keys = append(keys, i)
			if w, h, ok := KeyframeSize(frame); !ok || w != 320 || h != 180 {
				t.Errorf("keyframe %d size %dx%d %v", i, w, h, ok)
			}
		}
	}
	want := []int{0, 7, 15}
	if len(keys) != len(want) || keys[0] != 0 || keys[1] != 7 || keys[2] != 15 {
		t.Errorf("keyframes at %v, want %v", keys, want)
	}
}

func TestBitrateChange(t *testing.T) {
	const w, h = 640, 360
	e := newTestEncoder(t, w, h, 1500)
	avg := func(from, n int) int {
		sum := 0
		for i := from; i < from+n; i++ {
			frame, _, err := e.Encode(noisyFrame(w, h, i))
			if err != nil {
				t.Fatal(err)
			}
			sum += len(frame)
		}
		return sum / n
	}
	avg(0, 15) // settle past the keyframe
	high := avg(15, 30)
	if err := e.SetBitrate(150); err != nil {
		t.Fatal(err)
	}
	if got := e.Bitrate(); got != 150 {
		t.Errorf("Bitrate() = %d", got)
	}
	avg(45, 15) // let rate control react
	low := avg(60, 30)
	t.Logf("avg frame: %d bytes at 1500 kbps, %d bytes at 150 kbps", high, low)
	if low*2 > high {
		t.Errorf("frames did not shrink enough: %d -> %d bytes", high, low)
	}
	if err := e.SetBitrate(0); err == nil {
		t.Error("SetBitrate(0) succeeded")
	}
}

func TestEncodeConvertsInput(t *testing.T) {
	// An RGBA picture of another size is scaled and converted.
	e := newTestEncoder(t, 160, 90, 200)
	d := newTestDecoder(t)
	rgba := Fit(PatternFrame(320, 180, 0), 320, 180, FillModeFill, Rotation0)
	frame, _, err := e.Encode(rgba)
	if err != nil {
		t.Fatal(err)
	}
	img, err := d.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	want := ToI420(nil, PatternFrame(320, 180, 0), 160, 90)
	if p := psnr(want, img.(*image.YCbCr)); p < 25 {
		t.Errorf("PSNR %.1f", p)
	}
}

func TestDecoderNeedsKeyframe(t *testing.T) {
	e := newTestEncoder(t, 160, 90, 200)
	var frames [][]byte
	for i := 0; i < 3; i++ {
		f, _, err := e.Encode(PatternFrame(160, 90, i))
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	d := newTestDecoder(t)
	if _, err := d.Decode(frames[1]); !errors.Is(err, ErrNeedKeyframe) {
		t.Errorf("inter frame first: err %v, want ErrNeedKeyframe", err)
	}
	if _, err := d.Decode([]byte{1}); err == nil {
		t.Error("short frame decoded")
	}
	for i, f := range frames {
		if _, err := d.Decode(f); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
	}
	// garbage is an error, not a crash
	bad := bytes.Repeat([]byte{0xa5}, 500)
	bad[0] = 0x10 // inter frame tag
	if _, err := d.Decode(bad); err == nil {
		t.Log("garbage inter frame decoded without error (libvpx concealed it)")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Encode(PatternFrame(160, 90, 0)); err == nil {
		t.Error("Encode after Close succeeded")
	}
}

func TestNewEncoderBadSize(t *testing.T) {
	if _, err := NewEncoder(EncoderParams{Width: 0, Height: 10}); !errors.Is(err, ErrCodec) {
		t.Errorf("err %v", err)
	}
}

func TestResolutionTable(t *testing.T) {
	for _, c := range []struct{ code, w, h, kbps int }{
		{108, 640, 360, 500}, {62, 640, 480, 600}, {110, 960, 540, 850},
		{64, 960, 720, 1000}, {112, 1280, 720, 1200}, {114, 1920, 1080, 2000},
	} {
		w, h, k, ok := ResolutionSize(c.code, false)
		if !ok || w != c.w || h != c.h || k != c.kbps {
			t.Errorf("ResolutionSize(%d) = %d %d %d %v", c.code, w, h, k, ok)
		}
		w, h, _, _ = ResolutionSize(c.code, true)
		if w != c.h || h != c.w {
			t.Errorf("portrait %d = %dx%d", c.code, w, h)
		}
	}
	if _, _, _, ok := ResolutionSize(1, false); ok {
		t.Error("unknown code accepted")
	}
	p, ok := EncoderParamsFor(Resolution640x480, ResolutionModePortrait, 0)
	if !ok || p.Width != 480 || p.Height != 640 || p.BitrateKbps != 600 || p.FPS != 15 {
		t.Errorf("EncoderParamsFor = %+v", p)
	}
	if got := bitrateForSize(1280, 720); got != 1200 {
		t.Errorf("bitrateForSize = %d", got)
	}
}

func TestIVFRoundTrip(t *testing.T) {
	const w, h, n = 160, 96, 10
	path := filepath.Join(t.TempDir(), "x.ivf")
	sizes := writeTestIVF(t, path, w, h, n)

	// raw reading
	checkIVFFrames(t, path, w, h, sizes)

	// as a decoded, looping source
	checkIVFLoop(t, path, w, h, n)
}

// writeTestIVF writes n pattern frames, encoded at w x h, 15 fps, to an IVF
// file at path and returns their sizes.
func writeTestIVF(t *testing.T, path string, w, h, n int) []int {
	t.Helper()
	e := newTestEncoder(t, w, h, 200)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	iw, err := NewIVFWriter(f, w, h, 15)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for i := 0; i < n; i++ {
		frame, _, err := e.Encode(PatternFrame(w, h, i))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(frame))
		if err := iw.WriteFrame(frame, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}
	return sizes
}

// checkIVFFrames reads the IVF file raw: its header, then one frame of
// each size with its index as pts, then EOF.
func checkIVFFrames(t *testing.T, path string, w, h int, sizes []int) {
	t.Helper()
	n := len(sizes)
	rf, _ := os.Open(path)
	defer rf.Close()
	r, err := NewIVFReader(rf)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Width != w || r.Header.Height != h || int(r.Header.Frames) != n || r.Header.FPS() != 15 {
		t.Errorf("header %+v", r.Header)
	}
	for i := 0; ; i++ {
		frame, pts, err := r.Next()
		if errors.Is(err, io.EOF) {
			if i != n {
				t.Errorf("read %d frames", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(frame) != sizes[i] || pts != uint64(i) {
			t.Errorf("frame %d: %d bytes pts %d", i, len(frame), pts)
		}
	}
}

// checkIVFLoop opens the IVF file of n frames as a looping source and
// reads two loops and more: indexes count on, pictures repeat, PTS goes on
// past the loop.
func checkIVFLoop(t *testing.T, path string, w, h, n int) {
	t.Helper()
	src, err := Open(path, Loop(true))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if info := src.Info(); info.Width != w || info.Height != h || info.FPS != 15 || info.Live {
		t.Errorf("info %+v", info)
	}
	for i := 0; i < 2*n+3; i++ {
		fr, err := src.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if fr.Index != i {
			t.Errorf("index %d, want %d", fr.Index, i)
		}
		if want := PatternFrame(w, h, i%n); psnr(want, fr.Image.(*image.YCbCr)) < 25 {
			t.Errorf("frame %d does not look like pattern %d", i, i%n)
		}
		if i == n && fr.PTS != time.Duration(n)*time.Second/15 {
			t.Errorf("looped PTS %v", fr.PTS)
		}
	}
}

func TestEncoderConcurrentControl(t *testing.T) {
	e := newTestEncoder(t, 160, 90, 300)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			_ = e.SetBitrate(100 + i*10)
			if i%10 == 0 {
				e.ForceKeyframe()
			}
			_ = e.Params()
		}
	}()
	for i := 0; i < 30; i++ {
		if _, _, err := e.Encode(PatternFrame(160, 90, i)); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if _, _, err := e.Encode(nil); err == nil {
		t.Error("nil image encoded")
	}
}
