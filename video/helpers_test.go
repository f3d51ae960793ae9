package video

import (
	"image"
	"math"
)

// psnr returns the PSNR in dB over all three planes of two 4:2:0 images
// of the same size.
func psnr(a, b *image.YCbCr) float64 {
	var se float64
	var n int
	w, h := a.Rect.Dx(), a.Rect.Dy()
	add := func(pa, pb []byte, sa, sb, w, h int) {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				d := float64(pa[y*sa+x]) - float64(pb[y*sb+x])
				se += d * d
				n++
			}
		}
	}
	add(a.Y, b.Y, a.YStride, b.YStride, w, h)
	add(a.Cb, b.Cb, a.CStride, b.CStride, (w+1)/2, (h+1)/2)
	add(a.Cr, b.Cr, a.CStride, b.CStride, (w+1)/2, (h+1)/2)
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}

// noisyFrame is pattern frame i with fresh noise in every pixel (a
// worst case for the encoder, to make rate control bind).
func noisyFrame(w, h, i int) *image.YCbCr {
	img := PatternFrame(w, h, i)
	s := uint32(i)*2654435761 + 1
	for k := range img.Y {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		img.Y[k] = byte(int(img.Y[k]) + int(s&31) - 16)
	}
	return img
}
