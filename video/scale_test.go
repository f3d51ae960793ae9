package video

import (
	"image"
	"image/color"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// grayRGBA builds an RGBA image from rows of grey levels.
func grayRGBA(rows ...[]byte) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, len(rows[0]), len(rows)))
	for y, r := range rows {
		for x, v := range r {
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

// grays reads back the red channel of every pixel, row by row.
func grays(img *image.RGBA) [][]byte {
	out := make([][]byte, img.Rect.Dy())
	for y := range out {
		for x := 0; x < img.Rect.Dx(); x++ {
			out[y] = append(out[y], img.RGBAAt(x, y).R)
		}
	}
	return out
}

func TestFitRotation(t *testing.T) {
	// a b c
	// d e f
	src := grayRGBA([]byte{1, 2, 3}, []byte{4, 5, 6})
	cases := []struct {
		rot  Rotation
		w, h int
		want [][]byte
	}{
		{Rotation0, 3, 2, [][]byte{{1, 2, 3}, {4, 5, 6}}},
		{Rotation90, 2, 3, [][]byte{{4, 1}, {5, 2}, {6, 3}}},
		{Rotation180, 3, 2, [][]byte{{6, 5, 4}, {3, 2, 1}}},
		{Rotation270, 2, 3, [][]byte{{3, 6}, {2, 5}, {1, 4}}},
	}
	for _, c := range cases {
		for _, mode := range []FillMode{FillModeFill, FillModeFit} {
			got := grays(Fit(src, c.w, c.h, mode, c.rot))
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("rot %d mode %d: %s", c.rot, mode, diff)
			}
		}
	}
}

func TestFitFillCrop(t *testing.T) {
	src := grayRGBA([]byte{1, 2, 3, 4}, []byte{5, 6, 7, 8})
	// 4x2 filling 2x2: the centre columns
	if diff := cmp.Diff([][]byte{{2, 3}, {6, 7}}, grays(Fit(src, 2, 2, FillModeFill, Rotation0))); diff != "" {
		t.Error(diff)
	}
	// 4x2 filling 4x1 (wider): the centre... all rows? 4x1 crops to one row
	tall := grayRGBA([]byte{1, 2}, []byte{3, 4}, []byte{5, 6}, []byte{7, 8})
	if diff := cmp.Diff([][]byte{{3, 4}, {5, 6}}, grays(Fit(tall, 2, 2, FillModeFill, Rotation0))); diff != "" {
		t.Error(diff)
	}
}

func TestFitLetterbox(t *testing.T) {
	src := grayRGBA([]byte{10, 20, 30, 40}, []byte{50, 60, 70, 80})
	want := [][]byte{{0, 0, 0, 0}, {10, 20, 30, 40}, {50, 60, 70, 80}, {0, 0, 0, 0}}
	got := Fit(src, 4, 4, FillModeFit, Rotation0)
	if diff := cmp.Diff(want, grays(got)); diff != "" {
		t.Error(diff)
	}
	if a := got.RGBAAt(0, 0).A; a != 255 {
		t.Errorf("bars are not opaque: alpha %d", a)
	}
	// pillarbox: 2x2 into 4x2
	sq := grayRGBA([]byte{10, 20}, []byte{30, 40})
	if diff := cmp.Diff([][]byte{{0, 10, 20, 0}, {0, 30, 40, 0}}, grays(Fit(sq, 4, 2, FillModeFit, Rotation0))); diff != "" {
		t.Error(diff)
	}
	// rotated 90: 4x2 becomes 2x4, fit into 4x4 with bars left and right
	want90 := [][]byte{{0, 50, 10, 0}, {0, 60, 20, 0}, {0, 70, 30, 0}, {0, 80, 40, 0}}
	if diff := cmp.Diff(want90, grays(Fit(src, 4, 4, FillModeFit, Rotation90))); diff != "" {
		t.Error(diff)
	}
}

func TestFitScale(t *testing.T) {
	src := grayRGBA([]byte{0, 100, 200, 255}, []byte{20, 40, 60, 80})
	// downscale: 2x2 averages (rounded)
	if diff := cmp.Diff([][]byte{{40, 149}}, grays(Fit(src, 2, 1, FillModeFill, Rotation0))); diff != "" {
		t.Error(diff)
	}
	// upscale: nearest
	small := grayRGBA([]byte{7, 9})
	if diff := cmp.Diff([][]byte{{7, 7, 9, 9}, {7, 7, 9, 9}}, grays(Fit(small, 4, 2, FillModeFill, Rotation0))); diff != "" {
		t.Error(diff)
	}
	// empty and degenerate
	if got := Fit(image.NewRGBA(image.Rect(0, 0, 0, 0)), 2, 1, FillModeFit, Rotation0); got.RGBAAt(1, 0) != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("empty source: %v", got.RGBAAt(1, 0))
	}
	if got := Fit(src, 0, 0, FillModeFit, Rotation0); got.Rect.Dx() != 0 {
		t.Error("zero size")
	}
}

// ycbcrFromGray builds a 4:2:0 image with the given luma and neutral
// chroma, and the RGBA image it should look like.
func ycbcrFromGray(w, h int, f func(x, y int) byte) (*image.YCbCr, *image.RGBA) {
	ycc := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rgba := image.NewRGBA(ycc.Rect)
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := f(x, y)
			ycc.Y[y*ycc.YStride+x] = v
			r, g, b := YCbCrToRGB(v, 128, 128)
			rgba.SetRGBA(x, y, color.RGBA{r, g, b, 255})
		}
	}
	return ycc, rgba
}

func TestFitYCbCrMatchesRGBA(t *testing.T) {
	// Luma steps of 16 keep both paths' rounding identical for 1:1 and
	// nearest sampling; for averaging allow 1 level.
	ycc, rgba := ycbcrFromGray(12, 8, func(x, y int) byte { return byte(16 + (x*7+y*3)%14*16) })
	for rot := Rotation0; rot <= Rotation270; rot++ {
		for _, mode := range []FillMode{FillModeFill, FillModeFit} {
			for _, sz := range [][2]int{{12, 8}, {8, 12}, {5, 3}, {24, 9}, {3, 7}} {
				a := Fit(ycc, sz[0], sz[1], mode, rot)
				b := Fit(rgba, sz[0], sz[1], mode, rot)
				for i := range a.Pix {
					d := int(a.Pix[i]) - int(b.Pix[i])
					if d < -2 || d > 2 {
						t.Fatalf("rot %d mode %d size %v: pixel byte %d: %d vs %d", rot, mode, sz, i, a.Pix[i], b.Pix[i])
					}
				}
			}
		}
	}
}

func TestYCbCrConversion(t *testing.T) {
	for _, c := range []struct{ r, g, b, y, cb, cr byte }{
		{0, 0, 0, 16, 128, 128}, {255, 255, 255, 235, 128, 128},
		{255, 0, 0, 81, 90, 240}, {0, 255, 0, 145, 54, 34}, {0, 0, 255, 41, 240, 110},
	} {
		y, cb, cr := RGBToYCbCr(c.r, c.g, c.b)
		if y != c.y || cb != c.cb || cr != c.cr {
			t.Errorf("RGBToYCbCr(%d,%d,%d) = %d,%d,%d want %d,%d,%d", c.r, c.g, c.b, y, cb, cr, c.y, c.cb, c.cr)
		}
		r, g, b := YCbCrToRGB(c.y, c.cb, c.cr)
		if absDiff(r, c.r) > 2 || absDiff(g, c.g) > 2 || absDiff(b, c.b) > 2 {
			t.Errorf("YCbCrToRGB(%d,%d,%d) = %d,%d,%d", c.y, c.cb, c.cr, r, g, b)
		}
	}
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestToI420(t *testing.T) {
	// solid RGBA -> exact video-range values
	src := image.NewRGBA(image.Rect(0, 0, 6, 4))
	for i := 0; i < len(src.Pix); i += 4 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = 255, 0, 0, 255
	}
	got := ToI420(nil, src, 3, 2)
	for _, v := range got.Y {
		if v != 81 {
			t.Fatalf("Y %v", got.Y)
		}
	}
	if got.Cb[0] != 90 || got.Cr[0] != 240 {
		t.Errorf("chroma %d %d", got.Cb[0], got.Cr[0])
	}
	// same-size 4:2:0 is copied exactly, into a reused buffer
	p := PatternFrame(64, 36, 1)
	dst := image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio420)
	if out := ToI420(dst, p, 64, 36); out != dst || !cmp.Equal(out, p) {
		t.Error("same-size copy differs or did not reuse dst")
	}
	// 4:4:4 chroma is averaged 2x2
	ycc := image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio444)
	copy(ycc.Cb, []byte{100, 110, 120, 130})
	copy(ycc.Cr, []byte{128, 128, 128, 128})
	out := ToI420(nil, ycc, 2, 2)
	if out.Cb[0] != 115 {
		t.Errorf("Cb %d", out.Cb[0])
	}
	// scaling down fills and crops: a 16:9 pattern into 4:3 keeps the centre
	s := ToI420(nil, PatternFrame(640, 360, 0), 320, 240)
	if s.Rect.Dx() != 320 || s.Rect.Dy() != 240 {
		t.Errorf("rect %v", s.Rect)
	}
}
