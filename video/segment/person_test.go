package segment

import (
	"image"
	"image/jpeg"
	"os"
	"sync"
	"testing"
)

// The hand-drawn outline of the person in testdata/astronaut.jpg (512x512
// pixel coordinates, drawn on the photo): head and hair, the suit's neck
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

// label is the hand-made ground truth at a 512x512 pixel: 1 person, 0
// background, -1 not scored (the helmet).
func label(x, y int) int {
	labelsOnce.Do(func() {
		labels = make([]int8, 512*512)
		for yy := 0; yy < 512; yy++ {
			for xx := 0; xx < 512; xx++ {
				labels[yy*512+xx] = int8(drawnLabel(xx, yy))
			}
		}
	})
	return int(labels[y*512+x])
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

func loadPhoto(t testing.TB) image.Image {
	t.Helper()
	f, err := os.Open("testdata/astronaut.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// toYCbCr converts img to a 4:2:0 video-range frame, as the video
// package's sources deliver them.
func toYCbCr(img image.Image) *image.YCbCr {
	b := img.Bounds()
	yc := image.NewYCbCr(image.Rect(0, 0, b.Dx(), b.Dy()), image.YCbCrSubsampleRatio420)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			Y, cb, cr := rgbToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			yc.Y[yc.YOffset(x, y)] = Y
			if x%2 == 0 && y%2 == 0 {
				yc.Cb[yc.COffset(x, y)] = cb
				yc.Cr[yc.COffset(x, y)] = cr
			}
		}
	}
	return yc
}
