package video

import (
	"errors"
	"image"
	"image/color"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by ReadFrame after Close.
var ErrClosed = errors.New("video: source closed")

// PatternBars are the colours of the test pattern's seven bars, left to
// right (75% SMPTE bars: white, yellow, cyan, green, magenta, red, blue).
var PatternBars = [7]color.RGBA{
	{191, 191, 191, 255}, {191, 191, 0, 255}, {0, 191, 191, 255}, {0, 191, 0, 255},
	{191, 0, 191, 255}, {191, 0, 0, 255}, {0, 0, 191, 255},
}

// patternFont is a 3x5 bitmap font for the digits 0-9 (rows top to
// bottom, bit 2 = left column).
var patternFont = [10][5]uint8{
	{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
	{7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
}

// PatternLayout describes where the test pattern draws things in a w x h
// frame, so tests can check them.
type PatternLayout struct {
	Bars    image.Rectangle // the seven colour bars (equal widths, the last takes the rest)
	Ramp    image.Rectangle // an 8-step grey ramp, black to white
	Band    image.Rectangle // the dark band: scrolling texture, counter, moving box
	Counter image.Rectangle // six digits: the frame index modulo 1000000
	Box     image.Rectangle // the white box; it moves right a step per frame
}

// PatternGeometry returns the layout of frame index of a w x h pattern.
func PatternGeometry(w, h, index int) PatternLayout {
	var l PatternLayout
	barsH := h * 6 / 10
	rampH := h / 10
	l.Bars = image.Rect(0, 0, w, barsH)
	l.Ramp = image.Rect(0, barsH, w, barsH+rampH)
	l.Band = image.Rect(0, barsH+rampH, w, h)
	bandH := l.Band.Dy()
	s := max(1, bandH/10) // font pixel size
	cx, cy := s*2, l.Band.Min.Y+(bandH-5*s)/2
	l.Counter = image.Rect(cx, cy, min(w, cx+6*4*s-s), min(h, cy+5*s))
	box := max(2, bandH*6/10)
	x0 := l.Counter.Max.X + 2*s
	travel := w - x0 - box
	step := max(2, w/64)
	x := x0
	if travel > 0 {
		// bounce: 0..travel..0
		p := (index * step) % (2 * travel)
		if p > travel {
			p = 2*travel - p
		}
		x += p
	}
	y := l.Band.Min.Y + (bandH-box)/2
	l.Box = image.Rect(x, y, min(w, x+box), min(h, y+box))
	return l
}

// PatternFrame draws frame index of the moving test pattern: colour
// bars, a grey ramp, and at the bottom a dark band with a texture
// scrolling left, a frame counter and a white box bouncing left and
// right. It depends only on its arguments.
func PatternFrame(w, h, index int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	l := PatternGeometry(w, h, index)
	drawStripes(img, len(PatternBars), 0, l.Bars.Max.Y, func(i int) color.RGBA { return PatternBars[i] })
	drawStripes(img, 8, l.Ramp.Min.Y, l.Ramp.Max.Y, func(i int) color.RGBA {
		v := uint8(i * 255 / 7)
		return color.RGBA{v, v, v, 255}
	})
	fillRect(img, l.Band, color.RGBA{16, 16, 16, 255})
	// A dark texture scrolling left in the band gives the encoder real
	// motion to code.
	shift := index * max(1, w/160)
	for y := l.Band.Min.Y; y < l.Band.Max.Y; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := range row {
			row[x] = 16 + texture(x+shift, y)
		}
	}
	white := color.RGBA{235, 235, 235, 255}
	drawCounter(img, l, index, white)
	fillRect(img, l.Box, white)
	return img
}

// drawStripes fills rows y0..y1 with n equal vertical stripes of colour
// c(i), the last one taking the remainder of the width.
func drawStripes(img *image.YCbCr, n, y0, y1 int, c func(i int) color.RGBA) {
	w := img.Rect.Dx()
	sw := w / n
	for i := 0; i < n; i++ {
		r := image.Rect(i*sw, y0, (i+1)*sw, y1)
		if i == n-1 {
			r.Max.X = w
		}
		fillRect(img, r, c(i))
	}
}

// drawCounter draws the frame index, modulo a million, as six digits of
// the 3x5 font in the layout's counter area.
func drawCounter(img *image.YCbCr, l PatternLayout, index int, ink color.RGBA) {
	s := max(1, l.Band.Dy()/10)
	n := index % 1000000
	if n < 0 {
		n += 1000000
	}
	for d := 5; d >= 0; d-- {
		glyph := patternFont[n%10]
		n /= 10
		x0 := l.Counter.Min.X + d*4*s
		for row := 0; row < 5; row++ {
			for col := 0; col < 3; col++ {
				if glyph[row]&(4>>col) != 0 {
					fillRect(img, image.Rect(x0+col*s, l.Counter.Min.Y+row*s, x0+(col+1)*s, l.Counter.Min.Y+(row+1)*s), ink)
				}
			}
		}
	}
}

// texture is a deterministic value-noise texture, 0-63.
func texture(x, y int) byte {
	h := uint32(x/3)*0x9E3779B1 ^ uint32(y/3)*0x85EBCA77
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 12
	return byte(h>>8) & 63
}

// fillRect paints r (clipped) with c: luma for every pixel of r, chroma
// for every 2x2 block whose top-left pixel is in r.
func fillRect(img *image.YCbCr, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	if r.Empty() {
		return
	}
	y, cb, cr := rgb2ycc(int32(c.R), int32(c.G), int32(c.B))
	for py := r.Min.Y; py < r.Max.Y; py++ {
		row := img.Y[py*img.YStride+r.Min.X : py*img.YStride+r.Max.X]
		for i := range row {
			row[i] = y
		}
	}
	for cy := (r.Min.Y + 1) / 2; cy*2 < r.Max.Y; cy++ {
		for cx := (r.Min.X + 1) / 2; cx*2 < r.Max.X; cx++ {
			img.Cb[cy*img.CStride+cx] = cb
			img.Cr[cy*img.CStride+cx] = cr
		}
	}
}

// Pattern is the moving test pattern source (Open("pattern:...")).
type Pattern struct {
	w, h, fps int
	index     int
	name      string
	closed    atomic.Bool
}

// NewPattern returns a test pattern source of w x h frames at fps. It is
// not live: pace it with Paced.
func NewPattern(w, h, fps int) *Pattern {
	if fps <= 0 {
		fps = DefaultFPS
	}
	return &Pattern{w: w, h: h, fps: fps, name: "pattern:"}
}

// ReadFrame returns the next frame (PatternFrame of the frame index).
func (p *Pattern) ReadFrame() (Frame, error) {
	if p.closed.Load() {
		return Frame{}, ErrClosed
	}
	i := p.index
	p.index++
	return Frame{
		Image: PatternFrame(p.w, p.h, i),
		PTS:   time.Duration(i) * time.Second / time.Duration(p.fps),
		Index: i,
	}, nil
}

// Info describes the pattern.
func (p *Pattern) Info() SourceInfo {
	return SourceInfo{Name: p.name, Width: p.w, Height: p.h, FPS: p.fps}
}

// Close stops the pattern.
func (p *Pattern) Close() error { p.closed.Store(true); return nil }
