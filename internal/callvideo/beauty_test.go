package callvideo

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/video"
)

// noisyFrame is a 4:2:0 frame: two flat halves (80 | 170, a hard edge)
// plus uniform noise of +-20 levels.
func noisyFrame(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			base := 80
			if x >= w/2 {
				base = 170
			}
			img.Y[y*img.YStride+x] = uint8(base + rng.IntN(41) - 20)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

// lapVar is the variance of the 4-neighbour Laplacian of the luma plane
// (high-frequency energy), and mean the mean luma.
func lapVar(img *image.YCbCr) (lapVar, mean float64) {
	b := img.Rect
	var s, s2, sum float64
	n := 0
	for y := 1; y < b.Dy()-1; y++ {
		for x := 1; x < b.Dx()-1; x++ {
			at := func(x, y int) float64 { return float64(img.Y[y*img.YStride+x]) }
			l := 4*at(x, y) - at(x-1, y) - at(x+1, y) - at(x, y-1) - at(x, y+1)
			s += l
			s2 += l * l
			n++
		}
	}
	for _, v := range img.Y {
		sum += float64(v)
	}
	m := s / float64(n)
	return s2/float64(n) - m*m, sum / float64(len(img.Y))
}

func clone(img *image.YCbCr) *image.YCbCr {
	c := *img
	c.Y = append([]uint8(nil), img.Y...)
	c.Cb = append([]uint8(nil), img.Cb...)
	c.Cr = append([]uint8(nil), img.Cr...)
	return &c
}

func TestBeautyLevelZeroLeavesFrame(t *testing.T) {
	img := noisyFrame(64, 48)
	want := clone(img)
	smoothLuma(img, 0, nil)
	if diff := cmp.Diff(want.Y, img.Y); diff != "" {
		t.Errorf("level 0 changed the luma (-want +got):\n%s", diff)
	}
	// Through the Source: level 0 encodes the frame as read.
	s := &Source{}
	s.SetBeautyLevel(0)
	if s.beauty != 0 {
		t.Errorf("beauty %v; want 0", s.beauty)
	}
}

func TestBeautyLevelSmooths(t *testing.T) {
	img := noisyFrame(320, 180)
	v0, m0 := lapVar(img)
	prev := v0
	for _, level := range []float64{1, 5, 9} {
		got := clone(img)
		smoothLuma(got, level, nil)
		v, m := lapVar(got)
		t.Logf("level %v: Laplacian variance %.0f -> %.0f (%.0f%%), mean %.2f -> %.2f", level, v0, v, 100*v/v0, m0, m)
		if v >= prev {
			t.Errorf("level %v: Laplacian variance %.0f, not below the previous level's %.0f", level, v, prev)
		}
		prev = v
		if d := m - m0; d > 0.5 || d < -0.5 {
			t.Errorf("level %v: mean moved from %.2f to %.2f", level, m0, m)
		}
		if level == 9 {
			if v > v0/4 {
				t.Errorf("level 9: Laplacian variance %.0f; want at most a quarter of %.0f", v, v0)
			}
			// The edge stays: the halves' means stay apart.
			l, r := halfMeans(got)
			if r-l < 80 {
				t.Errorf("level 9: the edge faded (halves %.1f and %.1f)", l, r)
			}
		}
	}
}

func halfMeans(img *image.YCbCr) (l, r float64) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var sl, sr float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				sl += float64(img.Y[y*img.YStride+x])
			} else {
				sr += float64(img.Y[y*img.YStride+x])
			}
		}
	}
	n := float64(w / 2 * h)
	return sl / n, sr / n
}

// BenchmarkBeauty640x360Level9 is the filter's cost per frame at its
// strongest (radius 2).
func BenchmarkBeauty640x360Level9(b *testing.B) {
	img := video.PatternFrame(640, 360, 0)
	var scratch []uint8
	for b.Loop() {
		scratch = smoothLuma(img, 9, scratch)
	}
}
