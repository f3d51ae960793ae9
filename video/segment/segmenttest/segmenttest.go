// Package segmenttest is the test scene of the background effects: a
// public-domain photo of a person (astronaut.jpg, see README.md), a
// hand-drawn outline of her, and a frame with her cut out over a wall of
// stripes, with every pixel's truth known. Tests of video/segment, of
// internal/callvideo and end to end use it to check that the person is
// kept and the background blurred or replaced.
package segmenttest

import (
	"bytes"
	_ "embed"
	"image"
	"image/jpeg"
	"math"
	"sync"
)

//go:embed astronaut.jpg
var photoJPEG []byte

// PhotoSize is the photo's width and height.
const PhotoSize = 512

// Photo returns the photo (512x512 RGB).
func Photo() image.Image {
	img, err := jpeg.Decode(bytes.NewReader(photoJPEG))
	if err != nil {
		panic("segmenttest: the embedded photo: " + err.Error())
	}
	return img
}

// personOutline is the hand-drawn outline of the person in the photo
// (pixel coordinates, drawn on the photo): head and hair, the suit's neck
// ring, shoulders and body to the bottom edge, left of the helmet she
// holds. The helmet (helmetCX.. below) is not scored either way: whether a
// held object is "person" is the model's business.
var personOutline = []image.Point{
	{225, 14}, {262, 20}, {290, 40}, {300, 70}, {298, 105}, {286, 135},
	{282, 155}, {298, 175}, {306, 215}, {305, 240}, {330, 250}, {350, 270},
	{360, 300}, {365, 350}, {300, 360}, {285, 400}, {280, 450}, {285, 511},
	{22, 511}, {20, 430}, {22, 350}, {30, 300}, {45, 265}, {70, 235},
	{95, 215}, {112, 205}, {115, 185}, {130, 165}, {155, 150}, {160, 125},
	{152, 90}, {158, 55}, {180, 28}, {205, 16},
}

const helmetCX, helmetCY, helmetRX, helmetRY = 395, 428, 120, 90

var (
	labelsOnce sync.Once
	labels     []int8
)

// Label is the hand-made truth at a photo pixel: 1 person, 0 background,
// -1 not scored (the helmet).
func Label(x, y int) int {
	labelsOnce.Do(func() {
		labels = make([]int8, PhotoSize*PhotoSize)
		for yy := 0; yy < PhotoSize; yy++ {
			for xx := 0; xx < PhotoSize; xx++ {
				labels[yy*PhotoSize+xx] = int8(drawnLabel(xx, yy))
			}
		}
	})
	return int(labels[y*PhotoSize+x])
}

func drawnLabel(x, y int) int {
	dx := float64(x-helmetCX) / helmetRX
	dy := float64(y-helmetCY) / helmetRY
	if dx*dx+dy*dy <= 1 {
		return -1
	}
	if inPolygon(personOutline, float64(x)+0.5, float64(y)+0.5) {
		return 1
	}
	return 0
}

// inPolygon is the even-odd rule.
func inPolygon(p []image.Point, x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		xi, yi := float64(p[i].X), float64(p[i].Y)
		xj, yj := float64(p[j].X), float64(p[j].Y)
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// Scored says whether photo pixel (x, y) is scored and its label: pixels
// within d of the outline (a label change) or on the helmet are not.
func Scored(x, y, d int) (int, bool) {
	l := Label(x, y)
	if l < 0 {
		return l, false
	}
	for _, o := range [][2]int{{-d, 0}, {d, 0}, {0, -d}, {0, d}, {-d, -d}, {d, d}, {-d, d}, {d, -d}} {
		xx, yy := min(max(x+o[0], 0), PhotoSize-1), min(max(y+o[1], 0), PhotoSize-1)
		if Label(xx, yy) != l {
			return l, false
		}
	}
	return l, true
}

// RGBToYCbCr converts RGB to video-range BT.601 (what the video package's
// frames carry).
func RGBToYCbCr(r, g, b uint8) (y, cb, cr uint8) {
	fr, fg, fb := float64(r), float64(g), float64(b)
	yy := 16 + (65.481*fr+128.553*fg+24.966*fb)/255
	u := 128 + (-37.797*fr-74.203*fg+112.0*fb)/255
	v := 128 + (112.0*fr-93.786*fg-18.214*fb)/255
	return uint8(yy + 0.5), uint8(u + 0.5), uint8(v + 0.5)
}

// ToYCbCr converts img to a 4:2:0 video-range frame, as the video
// package's sources deliver them.
func ToYCbCr(img image.Image) *image.YCbCr {
	b := img.Bounds()
	yc := image.NewYCbCr(image.Rect(0, 0, b.Dx(), b.Dy()), image.YCbCrSubsampleRatio420)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			Y, cb, cr := RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			yc.Y[yc.YOffset(x, y)] = Y
			if x%2 == 0 && y%2 == 0 {
				yc.Cb[yc.COffset(x, y)] = cb
				yc.Cr[yc.COffset(x, y)] = cr
			}
		}
	}
	return yc
}

// Wall is a 4:2:0 frame of diagonal stripes (period 12 px, luma 50/200)
// in a bluish tint: high-frequency energy everywhere, and no person.
func Wall(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(50)
			if (x+y)%12 < 6 {
				v = 200
			}
			img.Y[y*img.YStride+x] = v
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 150, 110
	}
	return img
}

// The truth of a scene pixel.
const (
	Skip   = 0 // not scored: the helmet, the band along the outline
	Person = 1
	Back   = 2 // the wall
)

// Scene is the composite frame: the person (and the helmet) cut out of
// the photo by the outline, scaled to the frame's height and centred on a
// Wall, and the truth per pixel (w*h, row-major).
type Scene struct {
	Frame *image.YCbCr
	Truth []uint8
	W, H  int
}

var (
	sceneMu sync.Mutex
	scenes  = map[[2]int]*Scene{}
)

// NewScene returns the scene at w x h (w >= h), made once per size; the
// frame is a copy the caller owns.
func NewScene(w, h int) Scene {
	sceneMu.Lock()
	sc := scenes[[2]int{w, h}]
	if sc == nil {
		sc = makeScene(w, h)
		scenes[[2]int{w, h}] = sc
	}
	sceneMu.Unlock()
	c := *sc
	c.Frame = Clone(sc.Frame)
	return c
}

func makeScene(w, h int) *Scene {
	photo := ToYCbCr(Photo())
	img := Wall(w, h)
	truth := make([]uint8, w*h)
	x0 := (w - h) / 2
	band := max(12*360/h, 1) // about 8 frame pixels
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			truth[y*w+x] = Back
			if x < x0 || x >= x0+h {
				continue
			}
			px, py := (x-x0)*PhotoSize/h, y*PhotoSize/h
			l, ok := Scored(px, py, band)
			switch {
			case l != 0:
				img.Y[y*img.YStride+x] = photo.Y[photo.YOffset(px, py)]
				ci := img.COffset(x, y)
				img.Cb[ci] = photo.Cb[photo.COffset(px, py)]
				img.Cr[ci] = photo.Cr[photo.COffset(px, py)]
				truth[y*w+x] = Person
				if !ok || l < 0 {
					truth[y*w+x] = Skip
				}
			case !ok:
				truth[y*w+x] = Skip
			}
		}
	}
	return &Scene{Frame: img, Truth: truth, W: w, H: h}
}

// Clone copies a frame.
func Clone(img *image.YCbCr) *image.YCbCr {
	c := *img
	c.Y = append([]uint8(nil), img.Y...)
	c.Cb = append([]uint8(nil), img.Cb...)
	c.Cr = append([]uint8(nil), img.Cr...)
	return &c
}

// Stats returns, over the scene's pixels of one truth class, the mean
// squared 4-neighbour Laplacian of img's luma (high-frequency energy) and
// the mean absolute luma difference between img and ref.
func (s Scene) Stats(img, ref *image.YCbCr, class uint8) (hf, diff float64) {
	n := 0
	for y := 1; y < s.H-1; y++ {
		for x := 1; x < s.W-1; x++ {
			if s.Truth[y*s.W+x] != class {
				continue
			}
			at := func(x, y int) float64 { return float64(img.Y[img.YOffset(x, y)]) }
			l := 4*at(x, y) - at(x-1, y) - at(x+1, y) - at(x, y-1) - at(x, y+1)
			hf += l * l
			diff += math.Abs(at(x, y) - float64(ref.Y[ref.YOffset(x, y)]))
			n++
		}
	}
	return hf / float64(n), diff / float64(n)
}
