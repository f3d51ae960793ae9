package video

import (
	"image"
	"image/draw"
	"sync"
)

// FillMode is the reference's TUICallDefine.FillMode.
type FillMode int

const (
	// FillModeFill scales the picture to cover the whole area and crops
	// what overflows (centred).
	FillModeFill FillMode = 0
	// FillModeFit scales the picture to fit inside the area, letterboxed
	// (pillarboxed) with black.
	FillModeFit FillMode = 1
)

// Rotation is the reference's TUICallDefine.Rotation: the picture is
// rotated clockwise by 0, 90, 180 or 270 degrees before it is fitted.
type Rotation int

const (
	Rotation0   Rotation = 0
	Rotation90  Rotation = 1
	Rotation180 Rotation = 2
	Rotation270 Rotation = 3
)

// maxSamples is the number of samples per axis averaged for one output
// pixel when downscaling (an area filter capped at 4x4 taps).
const maxSamples = 4

// axisPlan maps each output pixel on one axis to up to maxSamples
// offsets into the source (already multiplied by the stride or pixel
// size of that axis). For YCbCr sources c holds the chroma-plane offsets.
type axisPlan struct {
	n   []uint8
	off []int32 // len(n)*maxSamples
	c   []int32
}

func (p *axisPlan) reset(n int) {
	if cap(p.n) < n {
		p.n = make([]uint8, n)
		p.off = make([]int32, n*maxSamples)
		p.c = make([]int32, n*maxSamples)
	}
	p.n = p.n[:n]
	p.off = p.off[:n*maxSamples]
	p.c = p.c[:n*maxSamples]
}

// set plans n output pixels over source positions [start, start+length)
// of the rotated picture; pos maps a rotated position to a source
// coordinate, and lum/chr turn a source coordinate into offsets.
func (p *axisPlan) set(n, start, length int, pos func(int) int, lum, chr func(int) int) {
	p.reset(n)
	for i := 0; i < n; i++ {
		a := start + i*length/n
		b := start + (i+1)*length/n
		if b <= a { // upscaling: nearest
			a = start + (2*i+1)*length/(2*n)
			b = a + 1
		}
		k := b - a
		if k > maxSamples {
			k = maxSamples
		}
		p.n[i] = uint8(k)
		for s := 0; s < k; s++ {
			r := a + s
			if b-a > maxSamples {
				r = a + (2*s+1)*(b-a)/(2*maxSamples)
			}
			x := pos(r)
			p.off[i*maxSamples+s] = int32(lum(x))
			if chr != nil {
				p.c[i*maxSamples+s] = int32(chr(x))
			}
		}
	}
}

// scaler holds reusable plans.
type scaler struct {
	col, row axisPlan
}

// geometry computes, for a source of sw x sh rotated by rot and shown in
// w x h with mode, the destination rectangle and the source crop in
// rotated coordinates.
func geometry(sw, sh, w, h int, mode FillMode, rot Rotation) (dst image.Rectangle, cx, cy, cw, ch int) {
	rw, rh := sw, sh
	if rot&1 == 1 {
		rw, rh = sh, sw
	}
	dst = image.Rect(0, 0, w, h)
	cw, ch = rw, rh
	if mode == FillModeFit {
		if w*rh >= h*rw { // area relatively wider: pillarbox
			iw := clampInt((rw*h*2+rh)/(2*rh), 1, w)
			ox := (w - iw) / 2
			dst = image.Rect(ox, 0, ox+iw, h)
		} else {
			ih := clampInt((rh*w*2+rw)/(2*rw), 1, h)
			oy := (h - ih) / 2
			dst = image.Rect(0, oy, w, oy+ih)
		}
		return
	}
	if w*rh >= h*rw { // crop top and bottom
		ch = clampInt((rw*h*2+w)/(2*w), 1, rh)
		cy = (rh - ch) / 2
	} else {
		cw = clampInt((rh*w*2+h)/(2*h), 1, rw)
		cx = (rw - cw) / 2
	}
	return
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// axisMaps returns, for rotation rot of a source with bounds b, the
// functions mapping a rotated x (columns) and rotated y (rows) to a
// source coordinate, and whether rotated columns run along source y.
func axisMaps(b image.Rectangle, rot Rotation) (colPos, rowPos func(int) int, swapped bool) {
	sw, sh := b.Dx(), b.Dy()
	switch rot & 3 {
	case Rotation90: // R(x,y) = O(y, sh-1-x)
		return func(r int) int { return b.Min.Y + sh - 1 - r }, func(r int) int { return b.Min.X + r }, true
	case Rotation180:
		return func(r int) int { return b.Min.X + sw - 1 - r }, func(r int) int { return b.Min.Y + sh - 1 - r }, false
	case Rotation270: // R(x,y) = O(sw-1-y, x)
		return func(r int) int { return b.Min.Y + r }, func(r int) int { return b.Min.X + sw - 1 - r }, true
	default:
		return func(r int) int { return b.Min.X + r }, func(r int) int { return b.Min.Y + r }, false
	}
}

// Fit scales img into a new w x h RGBA image honouring the fill mode and
// rotation (see FitInto).
func Fit(img image.Image, w, h int, mode FillMode, rot Rotation) *image.RGBA {
	return FitInto(nil, img, w, h, mode, rot)
}

// FitInto is Fit reusing dst when it is w x h. The picture is rotated
// clockwise by rot, then scaled to fill (cropping the centre) or to fit
// (black bars); downscaling averages up to 4x4 source pixels per output
// pixel, upscaling picks the nearest. *image.YCbCr (video-range BT.601,
// as VP8 carries) and *image.RGBA sources have fast paths; others are
// converted first.
func FitInto(dst *image.RGBA, img image.Image, w, h int, mode FillMode, rot Rotation) *image.RGBA {
	if w < 0 {
		w = 0
	}
	if h < 0 {
		h = 0
	}
	if dst == nil || dst.Rect != image.Rect(0, 0, w, h) {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	sc := scalerPool.Get().(*scaler)
	sc.fit(dst, img, mode, rot)
	scalerPool.Put(sc)
	return dst
}

var scalerPool = sync.Pool{New: func() any { return new(scaler) }}

func (sc *scaler) fit(dst *image.RGBA, img image.Image, mode FillMode, rot Rotation) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	b := img.Bounds()
	rot &= 3
	if w == 0 || h == 0 {
		return
	}
	if b.Empty() {
		fillBlack(dst, dst.Rect)
		return
	}
	switch img.(type) {
	case *image.YCbCr, *image.RGBA:
	default:
		rgba := image.NewRGBA(b)
		draw.Draw(rgba, b, img, b.Min, draw.Src)
		img = rgba
	}
	area, cx, cy, cw, ch := geometry(b.Dx(), b.Dy(), w, h, mode, rot)
	if area != dst.Rect {
		fillBlack(dst, dst.Rect)
	}
	colPos, rowPos, swapped := axisMaps(b, rot)
	g := fitAxes{iw: area.Dx(), ih: area.Dy(), cx: cx, cy: cy, cw: cw, ch: ch, colPos: colPos, rowPos: rowPos, swapped: swapped}
	switch src := img.(type) {
	case *image.YCbCr:
		xl := func(x int) int { return x - b.Min.X }
		yl := func(y int) int { return (y - b.Min.Y) * src.YStride }
		xc, yc := chromaAxes(src)
		g.set(sc, xl, yl, xc, yc)
		y0 := src.YOffset(b.Min.X, b.Min.Y)
		c0 := src.COffset(b.Min.X, b.Min.Y)
		sc.fitYCbCr(dst, area, src.Y[y0:], src.Cb[c0:], src.Cr[c0:])
	case *image.RGBA:
		xl := func(x int) int { return (x - b.Min.X) * 4 }
		yl := func(y int) int { return (y - b.Min.Y) * src.Stride }
		g.set(sc, xl, yl, nil, nil)
		sc.fitRGBA(dst, area, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):])
	}
}

// fitAxes is fit's geometry: the iw x ih output area, the source crop
// (cx, cy, cw, ch), the axis maps and whether rotation swaps the axes.
type fitAxes struct {
	iw, ih, cx, cy, cw, ch int
	colPos, rowPos         func(int) int
	swapped                bool
}

// set plans sc's columns and rows from the source's x and y offset
// functions (xc, yc: the chroma ones, nil for RGBA); with swapped axes
// output columns walk source rows.
func (g *fitAxes) set(sc *scaler, xl, yl, xc, yc func(int) int) {
	if g.swapped {
		xl, yl, xc, yc = yl, xl, yc, xc
	}
	sc.col.set(g.iw, g.cx, g.cw, g.colPos, xl, xc)
	sc.row.set(g.ih, g.cy, g.ch, g.rowPos, yl, yc)
}

// chromaAxes returns the chroma offset functions of a YCbCr image
// (relative to the chroma sample of its Min corner).
func chromaAxes(src *image.YCbCr) (xc, yc func(int) int) {
	b := src.Rect
	hx, hy := 1, 1
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio420:
		hx, hy = 2, 2
	case image.YCbCrSubsampleRatio422:
		hx = 2
	case image.YCbCrSubsampleRatio440:
		hy = 2
	case image.YCbCrSubsampleRatio411:
		hx = 4
	case image.YCbCrSubsampleRatio410:
		hx, hy = 4, 2
	}
	xc = func(x int) int { return x/hx - b.Min.X/hx }
	yc = func(y int) int { return (y/hy - b.Min.Y/hy) * src.CStride }
	return
}

var recip [maxSamples*maxSamples + 1]uint32

func init() {
	for i := 1; i < len(recip); i++ {
		recip[i] = (1<<16 + uint32(i)/2) / uint32(i)
	}
}

func (sc *scaler) fitYCbCr(dst *image.RGBA, area image.Rectangle, Y, Cb, Cr []byte) {
	iw, ih := area.Dx(), area.Dy()
	for j := 0; j < ih; j++ {
		rn := int(sc.row.n[j])
		ro := sc.row.off[j*maxSamples : j*maxSamples+rn]
		rc := sc.row.c[j*maxSamples : j*maxSamples+rn]
		d := dst.Pix[dst.PixOffset(area.Min.X, area.Min.Y+j):]
		for i := 0; i < iw; i++ {
			cn := int(sc.col.n[i])
			co := sc.col.off[i*maxSamples : i*maxSamples+cn]
			cc := sc.col.c[i*maxSamples : i*maxSamples+cn]
			var sy, sb, sr uint32
			for a := range ro {
				for c := range co {
					sy += uint32(Y[ro[a]+co[c]])
					k := rc[a] + cc[c]
					sb += uint32(Cb[k])
					sr += uint32(Cr[k])
				}
			}
			n := rn * cn
			var yy, cb, cr int32
			if n == 1 {
				yy, cb, cr = int32(sy), int32(sb), int32(sr)
			} else {
				r := recip[n]
				yy, cb, cr = int32((sy*r+1<<15)>>16), int32((sb*r+1<<15)>>16), int32((sr*r+1<<15)>>16)
			}
			R, G, B := ycc2rgb(yy, cb, cr)
			p := d[i*4 : i*4+4 : i*4+4]
			p[0], p[1], p[2], p[3] = R, G, B, 0xff
		}
	}
}

func (sc *scaler) fitRGBA(dst *image.RGBA, area image.Rectangle, pix []byte) {
	iw, ih := area.Dx(), area.Dy()
	for j := 0; j < ih; j++ {
		rn := int(sc.row.n[j])
		ro := sc.row.off[j*maxSamples : j*maxSamples+rn]
		d := dst.Pix[dst.PixOffset(area.Min.X, area.Min.Y+j):]
		for i := 0; i < iw; i++ {
			cn := int(sc.col.n[i])
			co := sc.col.off[i*maxSamples : i*maxSamples+cn]
			var sr, sg, sb uint32
			for a := range ro {
				for c := range co {
					k := ro[a] + co[c]
					q := pix[k : k+3 : k+3]
					sr += uint32(q[0])
					sg += uint32(q[1])
					sb += uint32(q[2])
				}
			}
			n := rn * cn
			p := d[i*4 : i*4+4 : i*4+4]
			if n == 1 {
				p[0], p[1], p[2] = byte(sr), byte(sg), byte(sb)
			} else {
				r := recip[n]
				p[0], p[1], p[2] = byte((sr*r+1<<15)>>16), byte((sg*r+1<<15)>>16), byte((sb*r+1<<15)>>16)
			}
			p[3] = 0xff
		}
	}
}

func fillBlack(dst *image.RGBA, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = 0, 0, 0, 0xff
		}
	}
}

// ycc2rgb converts video-range BT.601 YCbCr (Y 16-235, C 16-240) to RGB.
func ycc2rgb(y, cb, cr int32) (r, g, b byte) {
	yy := (y - 16) * 76309
	cb -= 128
	cr -= 128
	return clamp8((yy + 104597*cr + 1<<15) >> 16),
		clamp8((yy - 25675*cb - 53279*cr + 1<<15) >> 16),
		clamp8((yy + 132201*cb + 1<<15) >> 16)
}

// rgb2ycc converts RGB to video-range BT.601 YCbCr.
func rgb2ycc(r, g, b int32) (y, cb, cr byte) {
	return byte((16829*r + 33039*g + 6416*b + 16<<16 + 1<<15) >> 16),
		byte((-9714*r - 19071*g + 28784*b + 128<<16 + 1<<15) >> 16),
		byte((28784*r - 24103*g - 4681*b + 128<<16 + 1<<15) >> 16)
}

// YCbCrToRGB converts one video-range BT.601 sample (the colour space
// of every YCbCr image in this package and of VP8) to RGB.
func YCbCrToRGB(y, cb, cr uint8) (r, g, b uint8) { return ycc2rgb(int32(y), int32(cb), int32(cr)) }

// RGBToYCbCr converts RGB to one video-range BT.601 sample.
func RGBToYCbCr(r, g, b uint8) (y, cb, cr uint8) { return rgb2ycc(int32(r), int32(g), int32(b)) }

func clamp8(v int32) byte {
	if uint32(v) <= 255 {
		return byte(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// ToI420 converts img to a w x h 4:2:0 video-range YCbCr image, scaling
// to fill and cropping the centre (the encoder's input conversion). dst
// is reused when it has the right size and ratio. A 4:2:0 source of the
// same size is copied.
func ToI420(dst *image.YCbCr, img image.Image, w, h int) *image.YCbCr {
	dst = reuseI420(dst, w, h)
	b := img.Bounds()
	if b.Empty() || w == 0 || h == 0 {
		fillPlanes(dst, 16, 128)
		return dst
	}
	if src, ok := img.(*image.YCbCr); ok && isI420(src, w, h) {
		copyI420(dst, src, w, h)
		return dst
	}
	_, cx, cy, cropW, cropH := geometry(b.Dx(), b.Dy(), w, h, FillModeFill, Rotation0)
	colPos, rowPos, _ := axisMaps(b, Rotation0)
	g := i420Crop{cx: cx, cy: cy, cropW: cropW, cropH: cropH, colPos: colPos, rowPos: rowPos}
	switch src := img.(type) {
	case *image.YCbCr:
		g.scaleYCbCr(dst, src, w, h)
	case *image.RGBA:
		g.scaleRGBA(dst, src, w, h)
	default:
		rgba := image.NewRGBA(b)
		draw.Draw(rgba, b, img, b.Min, draw.Src)
		g.scaleRGBA(dst, rgba, w, h)
	}
	return dst
}

// reuseI420 returns dst if it is a w x h 4:2:0 picture, else a new one.
func reuseI420(dst *image.YCbCr, w, h int) *image.YCbCr {
	r := image.Rect(0, 0, w, h)
	if dst == nil || dst.Rect != r || dst.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		dst = image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	}
	return dst
}

// isI420 reports whether src is 4:2:0 and w x h.
func isI420(src *image.YCbCr, w, h int) bool {
	b := src.Rect
	return src.SubsampleRatio == image.YCbCrSubsampleRatio420 && b.Dx() == w && b.Dy() == h
}

// copyI420 copies a w x h 4:2:0 picture.
func copyI420(dst, src *image.YCbCr, w, h int) {
	b := src.Rect
	cw, ch := (w+1)/2, (h+1)/2
	y0, c0 := src.YOffset(b.Min.X, b.Min.Y), src.COffset(b.Min.X, b.Min.Y)
	for y := 0; y < h; y++ {
		copy(dst.Y[y*dst.YStride:y*dst.YStride+w], src.Y[y0+y*src.YStride:])
	}
	for y := 0; y < ch; y++ {
		copy(dst.Cb[y*dst.CStride:y*dst.CStride+cw], src.Cb[c0+y*src.CStride:])
		copy(dst.Cr[y*dst.CStride:y*dst.CStride+cw], src.Cr[c0+y*src.CStride:])
	}
}

// i420Crop is ToI420's fill-and-crop geometry of a source picture: the
// centre crop and the source's axis maps.
type i420Crop struct {
	cx, cy, cropW, cropH int
	colPos, rowPos       func(int) int
}

// scaleYCbCr scales each plane of src to the w x h 4:2:0 dst.
func (g *i420Crop) scaleYCbCr(dst, src *image.YCbCr, w, h int) {
	b := src.Rect
	cw, ch := (w+1)/2, (h+1)/2
	var sc scaler
	xl := func(x int) int { return x - b.Min.X }
	yl := func(y int) int { return (y - b.Min.Y) * src.YStride }
	xc, yc := chromaAxes(src)
	y0, c0 := src.YOffset(b.Min.X, b.Min.Y), src.COffset(b.Min.X, b.Min.Y)
	sc.col.set(w, g.cx, g.cropW, g.colPos, xl, nil)
	sc.row.set(h, g.cy, g.cropH, g.rowPos, yl, nil)
	avgPlane(dst.Y, dst.YStride, w, h, &sc, src.Y[y0:], false)
	sc.col.set(cw, g.cx, g.cropW, g.colPos, xc, nil)
	sc.row.set(ch, g.cy, g.cropH, g.rowPos, yc, nil)
	avgPlane(dst.Cb, dst.CStride, cw, ch, &sc, src.Cb[c0:], false)
	avgPlane(dst.Cr, dst.CStride, cw, ch, &sc, src.Cr[c0:], false)
}

// scaleRGBA converts and scales src to the w x h 4:2:0 dst.
func (g *i420Crop) scaleRGBA(dst *image.YCbCr, src *image.RGBA, w, h int) {
	b := src.Rect
	cw, ch := (w+1)/2, (h+1)/2
	var sc scaler
	pix := src.Pix[src.PixOffset(b.Min.X, b.Min.Y):]
	xl := func(x int) int { return (x - b.Min.X) * 4 }
	yl := func(y int) int { return (y - b.Min.Y) * src.Stride }
	sc.col.set(w, g.cx, g.cropW, g.colPos, xl, nil)
	sc.row.set(h, g.cy, g.cropH, g.rowPos, yl, nil)
	rgbPlane(dst, w, h, &sc, pix, false)
	sc.col.set(cw, g.cx, g.cropW, g.colPos, xl, nil)
	sc.row.set(ch, g.cy, g.cropH, g.rowPos, yl, nil)
	rgbPlane(dst, cw, ch, &sc, pix, true)
}

func fillPlanes(dst *image.YCbCr, y, c byte) {
	for i := range dst.Y {
		dst.Y[i] = y
	}
	for i := range dst.Cb {
		dst.Cb[i] = c
		dst.Cr[i] = c
	}
}

// avgPlane fills a w x h plane with averages of src samples.
func avgPlane(out []byte, stride, w, h int, sc *scaler, src []byte, _ bool) {
	for j := 0; j < h; j++ {
		rn := int(sc.row.n[j])
		ro := sc.row.off[j*maxSamples : j*maxSamples+rn]
		o := out[j*stride : j*stride+w]
		for i := range o {
			cn := int(sc.col.n[i])
			co := sc.col.off[i*maxSamples : i*maxSamples+cn]
			var s uint32
			for a := range ro {
				for c := range co {
					s += uint32(src[ro[a]+co[c]])
				}
			}
			n := rn * cn
			if n == 1 {
				o[i] = byte(s)
			} else {
				o[i] = byte((s*recip[n] + 1<<15) >> 16)
			}
		}
	}
}

// rgbPlane fills the luma plane (chroma false) or both chroma planes of
// dst from averaged RGB.
func rgbPlane(dst *image.YCbCr, w, h int, sc *scaler, pix []byte, chroma bool) {
	for j := 0; j < h; j++ {
		rn := int(sc.row.n[j])
		ro := sc.row.off[j*maxSamples : j*maxSamples+rn]
		for i := 0; i < w; i++ {
			cn := int(sc.col.n[i])
			co := sc.col.off[i*maxSamples : i*maxSamples+cn]
			var sr, sg, sb uint32
			for a := range ro {
				for c := range co {
					k := ro[a] + co[c]
					sr += uint32(pix[k])
					sg += uint32(pix[k+1])
					sb += uint32(pix[k+2])
				}
			}
			n := rn * cn
			r := recip[n]
			R, G, B := int32((sr*r+1<<15)>>16), int32((sg*r+1<<15)>>16), int32((sb*r+1<<15)>>16)
			yy, cb, cr := rgb2ycc(R, G, B)
			if chroma {
				dst.Cb[j*dst.CStride+i] = cb
				dst.Cr[j*dst.CStride+i] = cr
			} else {
				dst.Y[j*dst.YStride+i] = yy
			}
		}
	}
}
