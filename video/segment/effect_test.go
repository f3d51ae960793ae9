package segment

import (
	"image"
	"image/color"
	"math"
	"sync"
	"testing"
)

// The composite: the photo's person (and the helmet she holds) cut out by
// the hand-made outline, scaled to 360x360 and put in the middle of a
// 640x360 wall of stripes. Every pixel's truth is known: person, wall, or
// not scored (the helmet, and an 8-pixel band along the outline).
const (
	cw, ch   = 640, 360
	photoX   = (cw - ch) / 2
	photoPix = ch
)

const (
	truthSkip = iota
	truthPerson
	truthWall
)

var (
	compOnce  sync.Once
	compFrame *image.YCbCr
	compTruth []uint8
)

func composite(t testing.TB) (*image.YCbCr, []uint8) {
	compOnce.Do(func() {
		photo := toYCbCr(loadPhoto(t))
		img := wall(cw, ch)
		truth := make([]uint8, cw*ch)
		for y := 0; y < ch; y++ {
			for x := 0; x < cw; x++ {
				truth[y*cw+x] = truthWall
				if x < photoX || x >= photoX+photoPix {
					continue
				}
				px, py := (x-photoX)*512/photoPix, y*512/photoPix
				l, ok := scored(px, py, 12)
				switch {
				case l != 0:
					img.Y[y*img.YStride+x] = photo.Y[photo.YOffset(px, py)]
					ci := img.COffset(x, y)
					img.Cb[ci] = photo.Cb[photo.COffset(px, py)]
					img.Cr[ci] = photo.Cr[photo.COffset(px, py)]
					truth[y*cw+x] = truthPerson
					if !ok || l < 0 {
						truth[y*cw+x] = truthSkip
					}
				case !ok:
					truth[y*cw+x] = truthSkip
				}
			}
		}
		compFrame, compTruth = img, truth
	})
	c := *compFrame
	c.Y = append([]uint8(nil), compFrame.Y...)
	c.Cb = append([]uint8(nil), compFrame.Cb...)
	c.Cr = append([]uint8(nil), compFrame.Cr...)
	return &c, compTruth
}

// regionStats returns, over the pixels of one truth class, the mean
// squared 4-neighbour Laplacian of luma (high-frequency energy) and the
// mean absolute luma difference to ref.
func regionStats(img, ref *image.YCbCr, truth []uint8, class uint8) (hf, diff float64) {
	n := 0
	for y := 1; y < ch-1; y++ {
		for x := 1; x < cw-1; x++ {
			if truth[y*cw+x] != class {
				continue
			}
			at := func(x, y int) float64 { return float64(img.Y[y*img.YStride+x]) }
			l := 4*at(x, y) - at(x-1, y) - at(x+1, y) - at(x, y-1) - at(x, y+1)
			hf += l * l
			diff += math.Abs(at(x, y) - float64(ref.Y[y*ref.YStride+x]))
			n++
		}
	}
	return hf / float64(n), diff / float64(n)
}

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
		orig, truth := composite(t)
		e := newEffect(t)
		if err := e.SetBlur(level); err != nil {
			t.Fatal(err)
		}
		var out *image.YCbCr
		for range 3 { // as a camera would: the same picture, a few frames
			out, _ = composite(t)
			e.Apply(out)
		}
		hf0, _ := regionStats(orig, orig, truth, truthWall)
		hf1, wallDiff := regionStats(out, orig, truth, truthWall)
		phf0, _ := regionStats(orig, orig, truth, truthPerson)
		phf1, personDiff := regionStats(out, orig, truth, truthPerson)
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
	orig, truth := composite(t)
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
		out, _ = composite(t)
		e.Apply(out)
	}
	want := coverYCbCr(bg, cw, ch)
	_, wallDiff := regionStats(out, want, truth, truthWall)
	_, personDiff := regionStats(out, orig, truth, truthPerson)
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
			if truth[y*cw+x] == truthWall && truth[min(y+1, ch-1)*cw+min(x+1, cw-1)] == truthWall {
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
	orig, _ := composite(t)
	out, _ := composite(t)
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
