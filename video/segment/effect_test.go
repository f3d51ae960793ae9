package segment

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/termcall/termcall/video/segment/segmenttest"
)

// The frame size of the tests (the scene: the photo's person over a wall).
const cw, ch = 640, 360

func newEffect(t testing.TB) *Effect {
	t.Helper()
	e, err := NewEffect()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBlurKeepsThePerson: after blur the wall's high-frequency energy is
// a small part of what it was, and the person is nearly untouched. A fake
// mask fails one of the two: all-person blurs nothing, all-background
// blurs the person, a blob blurs part of her or keeps part of the wall.
func TestBlurKeepsThePerson(t *testing.T) {
	for _, level := range []int{BlurLow, BlurMedium, BlurHigh} {
		sc := segmenttest.NewScene(cw, ch)
		orig := sc.Frame
		e := newEffect(t)
		if err := e.SetBlur(level); err != nil {
			t.Fatal(err)
		}
		var out *image.YCbCr
		for range 3 { // as a camera would: the same picture, a few frames
			out = segmenttest.Clone(orig)
			e.Apply(out)
		}
		hf0, _ := sc.Stats(orig, orig, segmenttest.Back)
		hf1, wallDiff := sc.Stats(out, orig, segmenttest.Back)
		phf0, _ := sc.Stats(orig, orig, segmenttest.Person)
		phf1, personDiff := sc.Stats(out, orig, segmenttest.Person)
		t.Logf("level %d: wall HF %.0f -> %.0f (%.1f%%), mean change %.1f; person HF %.0f -> %.0f, mean change %.2f",
			level, hf0, hf1, 100*hf1/hf0, wallDiff, phf0, phf1, personDiff)
		if hf1 > 0.1*hf0 {
			t.Errorf("level %d: the wall keeps %.1f%% of its high-frequency energy, want < 10%%", level, 100*hf1/hf0)
		}
		if personDiff > 3 {
			t.Errorf("level %d: the person changed by %.2f levels on average, want <= 3", level, personDiff)
		}
		if phf1 < 0.9*phf0 {
			t.Errorf("level %d: the person lost detail: HF %.0f -> %.0f", level, phf0, phf1)
		}
	}
}

// TestReplaceKeepsThePerson: after replacement the wall is the picture
// and the person is kept.
func TestReplaceKeepsThePerson(t *testing.T) {
	sc := segmenttest.NewScene(cw, ch)
	orig, truth := sc.Frame, sc.Truth
	// The replacement: a smooth colour gradient, 1280x720 (scaled down to
	// cover the frame).
	bg := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for y := 0; y < 720; y++ {
		for x := 0; x < 1280; x++ {
			bg.Set(x, y, color.RGBA{uint8(x / 5), uint8(y / 3), 90, 255})
		}
	}
	e := newEffect(t)
	e.SetBackground(bg)
	var out *image.YCbCr
	for range 3 {
		out = segmenttest.Clone(orig)
		e.Apply(out)
	}
	want := coverYCbCr(bg, cw, ch)
	_, wallDiff := sc.Stats(out, want, segmenttest.Back)
	_, personDiff := sc.Stats(out, orig, segmenttest.Person)
	t.Logf("wall vs the picture: %.2f levels; person vs the original: %.2f levels", wallDiff, personDiff)
	if wallDiff > 3 {
		t.Errorf("the wall differs from the replacement by %.2f levels on average, want <= 3", wallDiff)
	}
	if personDiff > 3 {
		t.Errorf("the person changed by %.2f levels on average, want <= 3", personDiff)
	}
	// Chroma too: a wall pixel's Cb is the picture's.
	var cdiff float64
	n := 0
	for y := 0; y < ch; y += 2 {
		for x := 0; x < cw; x += 2 {
			if truth[y*cw+x] == segmenttest.Back && truth[min(y+1, ch-1)*cw+min(x+1, cw-1)] == segmenttest.Back {
				cdiff += math.Abs(float64(out.Cb[out.COffset(x, y)]) - float64(want.Cb[want.COffset(x, y)]))
				n++
			}
		}
	}
	if cdiff /= float64(n); cdiff > 3 {
		t.Errorf("wall chroma differs from the picture's by %.2f", cdiff)
	}
}

func TestEffectOffLeavesFrames(t *testing.T) {
	orig := segmenttest.NewScene(cw, ch).Frame
	out := segmenttest.Clone(orig)
	e := newEffect(t)
	e.Apply(out)
	if string(out.Y) != string(orig.Y) || string(out.Cb) != string(orig.Cb) {
		t.Error("an effect that is off changed the frame")
	}
	if err := e.SetBlur(4); err == nil {
		t.Error("SetBlur(4) succeeded")
	}
	if err := e.SetBlur(-1); err == nil {
		t.Error("SetBlur(-1) succeeded")
	}
}

// TestEffectOddFrames: odd sizes, tiny and large frames, a sub-image and
// a 1x1 picture neither panic nor leave the frame's bounds.
func TestEffectOddFrames(t *testing.T) {
	e := newEffect(t)
	tiny := image.NewRGBA(image.Rect(0, 0, 1, 1))
	for _, mode := range []string{"blur", "replace"} {
		if mode == "blur" {
			_ = e.SetBlur(BlurHigh)
		} else {
			e.SetBackground(tiny)
		}
		for _, r := range []image.Rectangle{
			image.Rect(0, 0, 641, 361), image.Rect(0, 0, 17, 17), image.Rect(0, 0, 8, 8),
			image.Rect(0, 0, 1280, 720), image.Rect(0, 0, 320, 240),
		} {
			img := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
			e.Apply(img)
			e.Apply(img)
		}
		big := segmenttest.Wall(660, 380)
		sub := big.SubImage(image.Rect(10, 10, 650, 370)).(*image.YCbCr)
		before := segmenttest.Clone(big)
		e.Apply(sub)
		// Outside the sub-image nothing changed.
		for y := 0; y < 380; y++ {
			for x := 0; x < 660; x++ {
				if !(image.Point{x, y}).In(sub.Rect) && big.Y[big.YOffset(x, y)] != before.Y[before.YOffset(x, y)] {
					t.Fatalf("%s: the effect on a sub-image changed (%d,%d) outside it", mode, x, y)
				}
			}
		}
	}
}
