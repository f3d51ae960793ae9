package video

import (
	"errors"
	"image"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPatternDeterministic(t *testing.T) {
	a := PatternFrame(640, 360, 42)
	b := PatternFrame(640, 360, 42)
	if !cmp.Equal(a, b) {
		t.Fatal("same index gives different frames")
	}
	if c := PatternFrame(640, 360, 43); cmp.Equal(a.Y, c.Y) {
		t.Fatal("frames 42 and 43 are identical")
	}
	// The source yields PatternFrame(i) with PTS i/fps.
	p, err := Open("pattern:320x180@30")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if info := p.Info(); info.Width != 320 || info.Height != 180 || info.FPS != 30 || info.Live {
		t.Errorf("info %+v", info)
	}
	for i := 0; i < 3; i++ {
		f, err := p.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.Index != i || f.PTS.Milliseconds() != int64(i*1000/30) {
			t.Errorf("frame %d: index %d pts %v", i, f.Index, f.PTS)
		}
		if !cmp.Equal(f.Image.(*image.YCbCr), PatternFrame(320, 180, i)) {
			t.Errorf("frame %d differs from PatternFrame", i)
		}
	}
	p.Close()
	if _, err := p.ReadFrame(); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestPatternContent(t *testing.T) {
	const w, h = 640, 360
	img := PatternFrame(w, h, 7)
	l := PatternGeometry(w, h, 7)
	// bar centres have the bar colours
	bw := w / 7
	for i, c := range PatternBars {
		x, y := i*bw+bw/2, l.Bars.Dy()/2
		wy, wcb, wcr := RGBToYCbCr(c.R, c.G, c.B)
		got := img.YCbCrAt(x, y)
		if got.Y != wy || got.Cb != wcb || got.Cr != wcr {
			t.Errorf("bar %d: got %v want %d,%d,%d", i, got, wy, wcb, wcr)
		}
	}
	// the ramp goes from black to white
	if y0, y7 := img.YCbCrAt(5, l.Ramp.Min.Y+2).Y, img.YCbCrAt(w-5, l.Ramp.Min.Y+2).Y; y0 != 16 || y7 != 235 {
		t.Errorf("ramp ends %d %d", y0, y7)
	}
	// the box is white and moves right
	c := l.Box.Min.Add(image.Pt(l.Box.Dx()/2, l.Box.Dy()/2))
	if y := img.YCbCrAt(c.X, c.Y).Y; y < 200 {
		t.Errorf("box centre luma %d", y)
	}
	if l2 := PatternGeometry(w, h, 8); l2.Box.Min.X <= l.Box.Min.X {
		t.Errorf("box did not move: %v -> %v", l.Box, l2.Box)
	}
	if l.Box.Overlaps(l.Counter) || !l.Box.In(l.Band) || !l.Counter.In(l.Band) {
		t.Errorf("layout %+v", l)
	}
	checkPatternCounter(t, w, h, l)
}

// checkPatternCounter checks the frame counter of pattern frames 7 and 8:
// they differ in its last digit only, and the first digit is a "0".
func checkPatternCounter(t *testing.T, w, h int, l PatternLayout) {
	t.Helper()
	// the counter's last digit: frames 7 and 8 differ inside the counter
	// rectangle's last digit only
	a, b := PatternFrame(w, h, 7), PatternFrame(w, h, 8)
	s := l.Counter.Dy() / 5
	last := image.Rect(l.Counter.Min.X+5*4*s, l.Counter.Min.Y, l.Counter.Max.X, l.Counter.Max.Y)
	first := image.Rect(l.Counter.Min.X, l.Counter.Min.Y, l.Counter.Min.X+3*s, l.Counter.Max.Y)
	if countBright(a, last) == countBright(b, last) && sameBright(a, b, last) {
		t.Error("last digit did not change from 7 to 8")
	}
	if !sameBright(a, b, first) {
		t.Error("first digit changed")
	}
	// "0" in the first digit has 12 lit font pixels of s*s
	if n := countBright(a, first); n != 12*s*s {
		t.Errorf("first digit lit pixels %d, want %d", n, 12*s*s)
	}
}

func countBright(img *image.YCbCr, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.Y[img.YOffset(x, y)] > 200 {
				n++
			}
		}
	}
	return n
}

func sameBright(a, b *image.YCbCr, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if (a.Y[a.YOffset(x, y)] > 200) != (b.Y[b.YOffset(x, y)] > 200) {
				return false
			}
		}
	}
	return true
}

func TestPatternOddSizes(t *testing.T) {
	for _, sz := range [][2]int{{2, 2}, {17, 9}, {33, 100}, {1921, 1081}} {
		img := PatternFrame(sz[0], sz[1], 3)
		if img.Rect.Dx() != sz[0] || img.Rect.Dy() != sz[1] {
			t.Errorf("%v: rect %v", sz, img.Rect)
		}
	}
}
