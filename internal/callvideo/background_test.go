package callvideo

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/segment/segmenttest"
)

// sceneFile writes n frames of the scene (the photo's person over a wall
// of stripes, 640x360) to a Y4M file: a camera that films her.
func sceneFile(t *testing.T, n int) (string, segmenttest.Scene) {
	t.Helper()
	sc := segmenttest.NewScene(640, 360)
	path := filepath.Join(t.TempDir(), "scene.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := video.NewY4MWriter(f, sc.W, sc.H, 15)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := w.WriteFrame(sc.Frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, sc
}

// sendAndDecode reads n frames through the Source (effect, VP8 encoder),
// decodes them as the far end would and returns the last picture.
func sendAndDecode(t *testing.T, s *Source, n int) *image.YCbCr {
	t.Helper()
	dec, err := video.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last *image.YCbCr
	for i := range n {
		frame, _, err := s.ReadVP8Frame(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		img, err := dec.Decode(frame)
		if err != nil {
			t.Fatalf("decoding frame %d: %v", i, err)
		}
		if yc, ok := img.(*image.YCbCr); ok {
			last = segmenttest.Clone(yc)
		}
	}
	if last == nil {
		t.Fatal("nothing decoded")
	}
	return last
}

func openScene(t *testing.T, path string) *Source {
	t.Helper()
	s, err := NewSource(path, Options{FPS: 30, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestSourceBlursTheBackground: the frames the Source sends, decoded, have
// the wall blurred and the person as sent without the effect.
func TestSourceBlursTheBackground(t *testing.T) {
	const n = 4
	path, sc := sceneFile(t, n)
	plain := sendAndDecode(t, openScene(t, path), n)
	s := openScene(t, path)
	if err := s.SetBlurBackground(3); err != nil {
		t.Fatal(err)
	}
	blurred := sendAndDecode(t, s, n)
	// The person is judged against the picture filmed: VP8 at the same
	// bitrate renders her at least as well with the wall blurred (the
	// stripes no longer take the bits).
	hf0, _ := sc.Stats(plain, plain, segmenttest.Back)
	hf1, _ := sc.Stats(blurred, plain, segmenttest.Back)
	_, plainDiff := sc.Stats(plain, sc.Frame, segmenttest.Person)
	_, personDiff := sc.Stats(blurred, sc.Frame, segmenttest.Person)
	t.Logf("decoded: wall HF %.0f -> %.0f; person vs the picture: %.2f levels without blur, %.2f with", hf0, hf1, plainDiff, personDiff)
	if hf1 > 0.1*hf0 {
		t.Errorf("the wall keeps %.1f%% of its high-frequency energy, want < 10%%", 100*hf1/hf0)
	}
	if personDiff > plainDiff+1 {
		t.Errorf("the person differs from the picture by %.2f levels (without blur %.2f)", personDiff, plainDiff)
	}
	if blur, _ := s.Background(); blur != 3 {
		t.Errorf("Background() blur %d, want 3", blur)
	}
}

// TestSourceReplacesTheBackground: with a virtual background (a flat
// green picture) the wall arrives green and the person as she was.
func TestSourceReplacesTheBackground(t *testing.T) {
	const n = 4
	path, sc := sceneFile(t, n)
	pic := filepath.Join(t.TempDir(), "green.png")
	green := color.RGBA{40, 170, 70, 255}
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = green.R, green.G, green.B, 255
	}
	f, err := os.Create(pic)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	plain := sendAndDecode(t, openScene(t, path), n)
	s := openScene(t, path)
	if err := s.SetVirtualBackground(pic); err != nil {
		t.Fatal(err)
	}
	got := sendAndDecode(t, s, n)
	want := segmenttest.Clone(got)
	gy, _, _ := segmenttest.RGBToYCbCr(green.R, green.G, green.B)
	for i := range want.Y {
		want.Y[i] = gy
	}
	_, wallDiff := sc.Stats(got, want, segmenttest.Back)
	_, plainDiff := sc.Stats(plain, sc.Frame, segmenttest.Person)
	_, personDiff := sc.Stats(got, sc.Frame, segmenttest.Person)
	t.Logf("decoded: wall vs the green picture %.2f levels; person vs the picture filmed: %.2f (without the effect %.2f)", wallDiff, personDiff, plainDiff)
	if wallDiff > 4 {
		t.Errorf("the wall differs from the green picture by %.2f levels on average, want <= 4", wallDiff)
	}
	if personDiff > plainDiff+1 {
		t.Errorf("the person differs from the picture by %.2f levels (without the effect %.2f)", personDiff, plainDiff)
	}
	// Off again: the wall is back.
	if err := s.SetVirtualBackground(""); err != nil {
		t.Fatal(err)
	}
	s.ForceKeyframe() // a new decoder below
	again := sendAndDecode(t, s, 3)
	if hf, _ := sc.Stats(again, again, segmenttest.Back); hf < 1000 {
		t.Errorf("after turning the background off the wall's HF is %.0f: still replaced", hf)
	}
}

func TestSourceBackgroundErrors(t *testing.T) {
	s := &Source{bg: &background{}}
	for _, l := range []int{-1, 4} {
		if err := s.SetBlurBackground(l); err == nil {
			t.Errorf("SetBlurBackground(%d) succeeded", l)
		}
	}
	notPic := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notPic, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{notPic, filepath.Join(t.TempDir(), "missing.png")} {
		if err := s.SetVirtualBackground(p); err == nil {
			t.Errorf("SetVirtualBackground(%s) succeeded", p)
		}
	}
	if blur, path := s.Background(); blur != 0 || path != "" {
		t.Errorf("after failures: blur %d, path %q; want 0, \"\"", blur, path)
	}
}

// writeSceneY4M writes n copies of frame as a 15 fps Y4M file.
func writeSceneY4M(b *testing.B, path string, frame *image.YCbCr, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w, err := video.NewY4MWriter(f, frame.Rect.Dx(), frame.Rect.Dy(), 15)
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		if err := w.WriteFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// writeBlankPNG writes a transparent w x h PNG.
func writeBlankPNG(b *testing.B, path string, w, h int) {
	b.Helper()
	pf, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := png.Encode(pf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		b.Fatal(err)
	}
	if err := pf.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSourceFrame640x360 is the whole cost of one frame sent, read
// from a file, effect, VP8 encode, with the effect off (the baseline, in
// the same run), blur 3 and a virtual background. cpu-ms/op is the CPU
// time per frame (getrusage), which on a shared machine is steadier than
// the wall time.
func BenchmarkSourceFrame640x360(b *testing.B) {
	sc := segmenttest.NewScene(640, 360)
	dir := b.TempDir()
	path := filepath.Join(dir, "scene.y4m")
	writeSceneY4M(b, path, sc.Frame, 30)
	pic := filepath.Join(dir, "bg.png")
	writeBlankPNG(b, pic, 1280, 720)
	for _, mode := range []string{"off", "blur3", "background"} {
		b.Run(mode, func(b *testing.B) {
			s, err := NewSource(path, Options{FPS: 1000, Loop: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close() //nolint:errcheck // a benchmark
			switch mode {
			case "blur3":
				err = s.SetBlurBackground(3)
			case "background":
				err = s.SetVirtualBackground(pic)
			}
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, _, err := s.ReadVP8Frame(ctx); err != nil { // the model loads
				b.Fatal(err)
			}
			c0 := cpuTime(b)
			for b.Loop() {
				if _, _, err := s.ReadVP8Frame(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-c0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}
