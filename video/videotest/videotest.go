// Package videotest has helpers for tests that check received video: it
// decodes IVF recordings, measures frame rates and compares pictures with
// the test pattern.
package videotest

import (
	"errors"
	"fmt"
	"image"
	"io"
	"time"

	"github.com/termcall/termcall/video"
)

// Frame is one decoded picture of a recording and its time.
type Frame struct {
	PTS time.Duration
	Img image.Image
}

// ReadIVF decodes every frame of an IVF (VP8) recording.
func ReadIVF(r io.Reader) (video.IVFHeader, []Frame, error) {
	rd, err := video.NewIVFReader(r)
	if err != nil {
		return video.IVFHeader{}, nil, err
	}
	dec, err := video.NewDecoder()
	if err != nil {
		return rd.Header, nil, err
	}
	defer dec.Close()
	var frames []Frame
	for {
		frame, pts, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd.Header, frames, nil
		}
		if err != nil {
			return rd.Header, frames, err
		}
		img, err := dec.Decode(frame)
		if err != nil {
			return rd.Header, frames, fmt.Errorf("frame %d (pts %d): %w", len(frames), pts, err)
		}
		frames = append(frames, Frame{PTS: rd.Duration(pts), Img: img})
	}
}

// RateOverLast is the frame rate over the last window of the frames.
func RateOverLast(frames []Frame, window time.Duration) float64 {
	if len(frames) == 0 {
		return 0
	}
	end := frames[len(frames)-1].PTS
	n := 0
	for _, f := range frames {
		if f.PTS > end-window {
			n++
		}
	}
	return float64(n) / window.Seconds()
}

// BarError measures the mean colour of the middle of each test-pattern
// colour bar and returns the worst channel distance from video.PatternBars
// (0 = exact; video travels in 8-bit video range, so a few levels are
// normal).
func BarError(img image.Image) (worst int) {
	b := img.Bounds()
	l := video.PatternGeometry(b.Dx(), b.Dy(), 0)
	bw := l.Bars.Dx() / 7
	for i, want := range video.PatternBars {
		x0, x1 := b.Min.X+i*bw+bw/4, b.Min.X+i*bw+3*bw/4
		y0, y1 := b.Min.Y+l.Bars.Dy()/4, b.Min.Y+3*l.Bars.Dy()/4
		var sr, sg, sb, n int
		for y := y0; y < y1; y += 2 {
			for x := x0; x < x1; x += 2 {
				var r, g, bl uint8
				if yc, ok := img.(*image.YCbCr); ok {
					yi, ci := yc.YOffset(x, y), yc.COffset(x, y)
					r, g, bl = video.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
				} else {
					R, G, B, _ := img.At(x, y).RGBA()
					r, g, bl = uint8(R>>8), uint8(G>>8), uint8(B>>8)
				}
				sr, sg, sb, n = sr+int(r), sg+int(g), sb+int(bl), n+1
			}
		}
		for _, d := range []int{sr/n - int(want.R), sg/n - int(want.G), sb/n - int(want.B)} {
			worst = max(worst, d, -d)
		}
	}
	return worst
}
