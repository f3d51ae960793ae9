package segment

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // background pictures
	_ "image/png"
	"os"
)

// Blur levels (the reference's setBlurBackground: 0 off, 1 low, 2 medium,
// 3 high).
const (
	BlurOff    = 0
	BlurLow    = 1
	BlurMedium = 2
	BlurHigh   = 3
)

// blurRadius is the box radius per level at a 640-pixel-wide frame
// (scaled with the width); two box passes approximate a Gaussian.
var blurRadius = [4]int{0, 4, 8, 14}

// DefaultEvery is how often the model runs by default: every 2nd frame,
// the mask of the frame before reused (smoothed) in between.
const DefaultEvery = 2

// Effect is background blur or background replacement on 4:2:0 frames:
// the model's person mask, smoothed over time, upscaled to the frame and
// feathered, keeps the person and blurs or replaces the rest. It is not
// safe for concurrent use (a video source applies it to its frames, one
// at a time).
type Effect struct {
	seg   *Segmenter
	level int
	bg    image.Image // the replacement picture, nil for none
	every int

	n       int // frames since the last reset
	mw, mh  int
	prob    []float32 // the temporally smoothed mask, model resolution
	soft    []float32 // prob box-filtered (the feathered edge)
	fw, fh  int       // the frame size the buffers below are for
	alpha   []uint8   // per luma pixel, 255 = person
	alphaC  []uint8   // per chroma pixel
	blurY   []uint8
	blurCb  []uint8
	blurCr  []uint8
	tmp     []uint8
	sums    []uint32
	bgFrame *image.YCbCr // bg scaled to the frame
	xs      upscale
	ys      upscale
}

// NewEffect loads the model; the effect starts off.
func NewEffect() (*Effect, error) {
	s, err := NewSegmenter()
	if err != nil {
		return nil, err
	}
	return &Effect{seg: s, every: DefaultEvery}, nil
}

// Segmenter returns the effect's model.
func (e *Effect) Segmenter() *Segmenter { return e.seg }

// SetEvery makes the model run every n-th frame (1: every frame).
func (e *Effect) SetEvery(n int) { e.every = max(n, 1) }

// SetBlur sets the blur level, 0 (off) to 3; a background picture, when
// set, wins over blur.
func (e *Effect) SetBlur(level int) error {
	if level < BlurOff || level > BlurHigh {
		return fmt.Errorf("blur level %d; want 0 (off), 1 (low), 2 (medium) or 3 (high)", level)
	}
	was := e.Active()
	e.level = level
	e.restart(was)
	return nil
}

// restart makes an effect that was off start with a fresh mask (not one
// folded into the mask of long ago).
func (e *Effect) restart(wasActive bool) {
	if !wasActive && e.Active() {
		e.n = 0
	}
}

// Blur returns the blur level.
func (e *Effect) Blur() int { return e.level }

// SetBackground replaces the background by img (nil: no replacement).
func (e *Effect) SetBackground(img image.Image) {
	was := e.Active()
	e.bg = img
	e.bgFrame = nil
	e.restart(was)
}

// Active says whether Apply changes frames.
func (e *Effect) Active() bool { return e.bg != nil || e.level > 0 }

// LoadBackground decodes a PNG or JPEG picture for SetBackground.
func LoadBackground(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("background %s: %w (want a PNG or JPEG picture)", path, err)
	}
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		return nil, errors.New("background " + path + ": empty picture")
	}
	return img, nil
}

// Apply runs the effect on img in place (a no-op when off).
func (e *Effect) Apply(img *image.YCbCr) {
	if !e.Active() || img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return
	}
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	if w < 16 || h < 16 {
		return
	}
	if w != e.fw || h != e.fh {
		e.resize(w, h)
	}
	e.updateMask(img)
	e.upscaleMask()
	if e.bg != nil {
		e.replace(img)
	} else {
		e.blur(img)
	}
	e.n++
}

func (e *Effect) resize(w, h int) {
	e.fw, e.fh = w, h
	e.n = 0
	e.mw, e.mh = e.seg.MaskSize()
	e.prob = make([]float32, e.mw*e.mh)
	e.soft = make([]float32, e.mw*e.mh)
	e.alpha = make([]uint8, w*h)
	cw, ch := (w+1)/2, (h+1)/2
	e.alphaC = make([]uint8, cw*ch)
	e.blurY = make([]uint8, w*h)
	e.blurCb = make([]uint8, cw*ch)
	e.blurCr = make([]uint8, cw*ch)
	e.tmp = make([]uint8, w*h)
	e.sums = make([]uint32, w)
	e.xs = newUpscale(e.mw, w)
	e.ys = newUpscale(e.mh, h)
	e.bgFrame = nil
}

// updateMask runs the model (every e.every frames) and folds its mask into
// the running one: half the new, half the old, so a flicker of one frame
// moves the edge only half way; then a 3x3 box filter at model resolution
// softens the edge.
func (e *Effect) updateMask(img *image.YCbCr) {
	if e.n%e.every != 0 {
		return // reuse the mask
	}
	m := e.seg.Mask(img)
	if e.n == 0 {
		copy(e.prob, m)
	} else {
		for i, v := range m {
			e.prob[i] = 0.5*e.prob[i] + 0.5*v
		}
	}
	w, h := e.mw, e.mh
	for y := 0; y < h; y++ {
		y0, y1 := max(y-1, 0), min(y+1, h-1)
		for x := 0; x < w; x++ {
			x0, x1 := max(x-1, 0), min(x+1, w-1)
			var s float32
			for yy := y0; yy <= y1; yy++ {
				row := e.prob[yy*w : yy*w+w]
				for xx := x0; xx <= x1; xx++ {
					s += row[xx]
				}
			}
			e.soft[y*w+x] = s / float32((y1-y0+1)*(x1-x0+1))
		}
	}
}

// upscale maps each frame column (row) to two mask columns and the weight
// of the second, in 1/256.
type upscale struct {
	i0, i1 []int
	f      []int32
}

func newUpscale(in, out int) upscale {
	u := upscale{i0: make([]int, out), i1: make([]int, out), f: make([]int32, out)}
	scale := float64(in) / float64(out)
	for i := range out {
		src := max((float64(i)+0.5)*scale-0.5, 0)
		l := int(src)
		u.i0[i], u.i1[i] = min(l, in-1), min(l+1, in-1)
		u.f[i] = int32((src - float64(l)) * 256)
	}
	return u
}

// Edge ramp of the mask: probabilities below lo are background, above hi
// person, linear between.
const edgeLo, edgeHi = 0.3, 0.7

// upscaleMask turns the soft mask into per-pixel alpha (bilinear, then
// the edge ramp), and the chroma alpha as the mean of each 2x2 block.
func (e *Effect) upscaleMask() {
	w, h := e.fw, e.fh
	mw := e.mw
	// The ramp as a table over the 0..1 probability in 1/1024.
	var ramp [1025]uint8
	for i := range ramp {
		p := float64(i) / 1024
		a := (p - edgeLo) / (edgeHi - edgeLo)
		ramp[i] = uint8(min(max(a, 0), 1)*255 + 0.5)
	}
	for y := 0; y < h; y++ {
		fy := float32(e.ys.f[y]) / 256
		r0 := e.soft[e.ys.i0[y]*mw : e.ys.i0[y]*mw+mw]
		r1 := e.soft[e.ys.i1[y]*mw : e.ys.i1[y]*mw+mw]
		out := e.alpha[y*w : y*w+w]
		for x := range out {
			fx := float32(e.xs.f[x]) / 256
			a, b := r0[e.xs.i0[x]], r0[e.xs.i1[x]]
			c, d := r1[e.xs.i0[x]], r1[e.xs.i1[x]]
			top := a + (b-a)*fx
			bot := c + (d-c)*fx
			p := top + (bot-top)*fy
			out[x] = ramp[int(min(max(p, 0), 1)*1024)]
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < ch; y++ {
		ya, yb := 2*y, min(2*y+1, h-1)
		for x := 0; x < cw; x++ {
			xa, xb := 2*x, min(2*x+1, w-1)
			s := int(e.alpha[ya*w+xa]) + int(e.alpha[ya*w+xb]) + int(e.alpha[yb*w+xa]) + int(e.alpha[yb*w+xb])
			e.alphaC[y*cw+x] = uint8((s + 2) / 4)
		}
	}
}

// blur blurs the three planes (two box passes each) and mixes them with
// the originals by alpha.
func (e *Effect) blur(img *image.YCbCr) {
	w, h := e.fw, e.fh
	r := max(blurRadius[e.level]*w/640, 1)
	cw, ch := (w+1)/2, (h+1)/2
	b := img.Rect
	yoff := img.YOffset(b.Min.X, b.Min.Y)
	coff := img.COffset(b.Min.X, b.Min.Y)
	boxBlur2(e.blurY, img.Y[yoff:], img.YStride, w, h, r, e.tmp, e.sums)
	boxBlur2(e.blurCb, img.Cb[coff:], img.CStride, cw, ch, max(r/2, 1), e.tmp, e.sums)
	boxBlur2(e.blurCr, img.Cr[coff:], img.CStride, cw, ch, max(r/2, 1), e.tmp, e.sums)
	mix(img.Y[yoff:], img.YStride, e.blurY, w, w, h, e.alpha)
	mix(img.Cb[coff:], img.CStride, e.blurCb, cw, cw, ch, e.alphaC)
	mix(img.Cr[coff:], img.CStride, e.blurCr, cw, cw, ch, e.alphaC)
}

// replace mixes the frame with the background picture by alpha.
func (e *Effect) replace(img *image.YCbCr) {
	w, h := e.fw, e.fh
	if e.bgFrame == nil {
		e.bgFrame = coverYCbCr(e.bg, w, h)
	}
	bg := e.bgFrame
	cw, ch := (w+1)/2, (h+1)/2
	b := img.Rect
	yoff := img.YOffset(b.Min.X, b.Min.Y)
	coff := img.COffset(b.Min.X, b.Min.Y)
	mix(img.Y[yoff:], img.YStride, bg.Y, bg.YStride, w, h, e.alpha)
	mix(img.Cb[coff:], img.CStride, bg.Cb, bg.CStride, cw, ch, e.alphaC)
	mix(img.Cr[coff:], img.CStride, bg.Cr, bg.CStride, cw, ch, e.alphaC)
}

// mix: dst = bg + (dst - bg) * alpha / 255 (alpha: person).
func mix(dst []uint8, dstride int, bg []uint8, bstride, w, h int, alpha []uint8) {
	for y := 0; y < h; y++ {
		d := dst[y*dstride : y*dstride+w]
		s := bg[y*bstride : y*bstride+w]
		a := alpha[y*w : y*w+w]
		for x := range d {
			av := int32(a[x])
			switch av {
			case 255:
			case 0:
				d[x] = s[x]
			default:
				bv := int32(s[x])
				d[x] = uint8(bv + ((int32(d[x])-bv)*av+127)/255)
			}
		}
	}
}

// boxBlur2 writes src (w x h, stride) blurred by two box passes of radius
// r (edges clamped) to dst (w x h, stride w). Each pass is separable, with
// running sums, so the cost does not grow with r.
func boxBlur2(dst, src []uint8, stride, w, h, r int, tmp []uint8, sums []uint32) {
	boxBlur(dst, w, src, stride, w, h, r, tmp, sums)
	boxBlur(dst, w, dst, w, w, h, r, tmp, sums)
}

// boxBlur is one box pass: horizontal into tmp, then vertical into dst
// (dst may be src).
func boxBlur(dst []uint8, dstride int, src []uint8, sstride, w, h, r int, tmp []uint8, sums []uint32) {
	n := uint32(2*r + 1)
	half := n / 2
	for y := 0; y < h; y++ {
		row := src[y*sstride : y*sstride+w]
		out := tmp[y*w : y*w+w]
		// Window [x-r, x+r], clamped: start with x = 0.
		s := uint32(row[0]) * uint32(r+1)
		for i := 1; i <= r; i++ {
			s += uint32(row[min(i, w-1)])
		}
		for x := 0; x < w; x++ {
			out[x] = uint8((s + half) / n)
			s += uint32(row[min(x+r+1, w-1)])
			s -= uint32(row[max(x-r, 0)])
		}
	}
	sums = sums[:w]
	for x := range sums {
		sums[x] = uint32(tmp[x]) * uint32(r+1)
	}
	for i := 1; i <= r; i++ {
		line := tmp[min(i, h-1)*w : min(i, h-1)*w+w]
		for x, v := range line {
			sums[x] += uint32(v)
		}
	}
	for y := 0; y < h; y++ {
		out := dst[y*dstride : y*dstride+w]
		for x, s := range sums {
			out[x] = uint8((s + half) / n)
		}
		add := tmp[min(y+r+1, h-1)*w : min(y+r+1, h-1)*w+w]
		sub := tmp[max(y-r, 0)*w : max(y-r, 0)*w+w]
		for x := range sums {
			sums[x] += uint32(add[x])
			sums[x] -= uint32(sub[x])
		}
	}
}

// coverYCbCr scales img to cover w x h (cropping the overflow, centred)
// and converts it to 4:2:0 video-range BT.601. Each output pixel is the mean of the source
// pixels it covers (at least the nearest one), so a large photo does not
// alias. It runs once per picture and frame size.
func coverYCbCr(img image.Image, w, h int) *image.YCbCr {
	sb := img.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	// The source rectangle with the frame's aspect.
	cw, ch := sw, sw*h/w
	if ch > sh {
		cw, ch = sh*w/h, sh
	}
	cw, ch = max(cw, 1), max(ch, 1)
	rgba := image.NewRGBA(image.Rect(0, 0, cw, ch))
	draw.Draw(rgba, rgba.Rect, img, image.Pt(sb.Min.X+(sw-cw)/2, sb.Min.Y+(sh-ch)/2), draw.Src)
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		y0 := y * ch / h
		y1 := max((y+1)*ch/h, y0+1)
		for x := 0; x < w; x++ {
			x0 := x * cw / w
			x1 := max((x+1)*cw/w, x0+1)
			var r, g, b, n int
			for yy := y0; yy < y1; yy++ {
				p := rgba.Pix[yy*rgba.Stride+4*x0 : yy*rgba.Stride+4*x1]
				for i := 0; i < len(p); i += 4 {
					r += int(p[i])
					g += int(p[i+1])
					b += int(p[i+2])
					n++
				}
			}
			yy, cb, cr := rgbToYCbCr(uint8(r/n), uint8(g/n), uint8(b/n))
			out.Y[y*out.YStride+x] = yy
			if x%2 == 0 && y%2 == 0 {
				out.Cb[out.COffset(x, y)] = cb
				out.Cr[out.COffset(x, y)] = cr
			}
		}
	}
	return out
}
