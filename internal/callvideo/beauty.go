package callvideo

import "image"

// smoothLuma is the beauty filter: a sigma filter (Lee) on the luma plane
// of img, in place. Each pixel becomes the mean of its neighbours within
// radius whose value is within a threshold of its own, blended with the
// original by a weight; edges (neighbours far from the pixel) are left
// out of the mean, so they stay sharp while noise and fine texture (skin)
// are smoothed. The radius, threshold and weight grow with level (0 off,
// 9 strongest). Chroma is left alone. scratch is reused for a copy of
// the plane and returned.
func smoothLuma(img *image.YCbCr, level float64, scratch []uint8) []uint8 {
	if level <= 0 {
		return scratch
	}
	level = min(level, 9)
	radius := 1
	if level >= 5 {
		radius = 2
	}
	thresh := int(4 + 4*level)           // 8..40 levels
	alpha := int(64 + 192*level/9 + 0.5) // /256: 85..256
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	if w <= 2*radius || h <= 2*radius {
		return scratch
	}
	if cap(scratch) < w*h {
		scratch = make([]uint8, w*h)
	}
	src := scratch[:w*h]
	base := img.YOffset(b.Min.X, b.Min.Y)
	for y := 0; y < h; y++ {
		copy(src[y*w:(y+1)*w], img.Y[base+y*img.YStride:base+y*img.YStride+w])
	}
	for y := 0; y < h; y++ {
		y0, y1 := max(y-radius, 0), min(y+radius, h-1)
		row := img.Y[base+y*img.YStride : base+y*img.YStride+w]
		for x := 0; x < w; x++ {
			x0, x1 := max(x-radius, 0), min(x+radius, w-1)
			c := int(src[y*w+x])
			lo, hi := c-thresh, c+thresh
			sum, n := 0, 0
			for yy := y0; yy <= y1; yy++ {
				line := src[yy*w+x0 : yy*w+x1+1]
				for _, v := range line {
					if iv := int(v); iv >= lo && iv <= hi {
						sum += iv
						n++
					}
				}
			}
			// n >= 1: the pixel itself.
			mean := (sum + n/2) / n
			row[x] = uint8(c + ((mean-c)*alpha+128)>>8)
		}
	}
	return scratch
}
