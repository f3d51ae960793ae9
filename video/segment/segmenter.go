package segment

import (
	_ "embed"
	"fmt"
	"image"
	"sync"
)

// The model: MediaPipe selfie segmentation, landscape (144x256 input),
// from the npm package @mediapipe/selfie_segmentation 0.1.1675465747
// (Apache-2.0, model/LICENSE); fetch.sh re-fetches and checks it.
//
//go:embed model/selfie_segmentation_landscape.tflite
var landscapeModel []byte

var (
	graphOnce sync.Once
	graphErr  error
	theGraph  *graph
)

// loadGraph parses the embedded model once; a Segmenter compiles its own
// buffers from the shared, read-only graph.
func loadGraph() (*graph, error) {
	graphOnce.Do(func() { theGraph, graphErr = parseModel(landscapeModel) })
	return theGraph, graphErr
}

// Segmenter runs the person-segmentation model on video frames. It is not
// safe for concurrent use; each video source has its own.
type Segmenter struct {
	n *net
}

// NewSegmenter loads the model.
func NewSegmenter() (*Segmenter, error) {
	g, err := loadGraph()
	if err != nil {
		return nil, err
	}
	n, err := newNet(g)
	if err != nil {
		return nil, err
	}
	return &Segmenter{n: n}, nil
}

// Ops lists the model's operators, in order of first use.
func (s *Segmenter) Ops() []string { return append([]string(nil), s.n.ops...) }

// MaskSize is the model's mask resolution (width, height).
func (s *Segmenter) MaskSize() (w, h int) { return s.n.outW, s.n.outH }

// Mask runs the model on img (scaled to the model's input, stretched if
// its aspect differs) and returns the person probability per mask pixel,
// 0..1, row-major at MaskSize; the slice is the Segmenter's, valid until
// the next call.
func (s *Segmenter) Mask(img *image.YCbCr) []float32 {
	toInput(img, s.n.in, s.n.inW, s.n.inH)
	s.n.run()
	return s.n.out
}

// toInput samples img (video-range BT.601, Y 16..235) bilinearly into
// dst (h x w x 3, RGB in 0..1).
func toInput(img *image.YCbCr, dst []float32, w, h int) {
	b := img.Rect
	sw, sh := b.Dx(), b.Dy()
	fx := float32(sw) / float32(w)
	fy := float32(sh) / float32(h)
	for y := 0; y < h; y++ {
		sy := (float32(y)+0.5)*fy - 0.5
		sy = min(max(sy, 0), float32(sh-1))
		y0 := int(sy)
		y1 := min(y0+1, sh-1)
		wy := sy - float32(y0)
		for x := 0; x < w; x++ {
			sx := (float32(x)+0.5)*fx - 0.5
			sx = min(max(sx, 0), float32(sw-1))
			x0 := int(sx)
			x1 := min(x0+1, sw-1)
			wx := sx - float32(x0)
			at := func(xx, yy int) float32 {
				return float32(img.Y[img.YOffset(b.Min.X+xx, b.Min.Y+yy)])
			}
			top := at(x0, y0) + (at(x1, y0)-at(x0, y0))*wx
			bot := at(x0, y1) + (at(x1, y1)-at(x0, y1))*wx
			yy := (top + (bot-top)*wy - 16) * (255.0 / 219)
			ci := img.COffset(b.Min.X+int(sx+0.5), b.Min.Y+int(sy+0.5))
			cb := (float32(img.Cb[ci]) - 128) * (255.0 / 224)
			cr := (float32(img.Cr[ci]) - 128) * (255.0 / 224)
			// Video-range BT.601 (what the video package's frames and VP8
			// carry) to RGB.
			r := yy + 1.402*cr
			g := yy - 0.344136*cb - 0.714136*cr
			bl := yy + 1.772*cb
			p := dst[(y*w+x)*3 : (y*w+x)*3+3]
			p[0] = clamp01(r / 255)
			p[1] = clamp01(g / 255)
			p[2] = clamp01(bl / 255)
		}
	}
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// String describes the model.
func (s *Segmenter) String() string {
	return fmt.Sprintf("selfie segmentation (landscape) %dx%d, %d operators", s.n.inW, s.n.inH, len(s.n.steps))
}

// rgbToYCbCr converts RGB to video-range BT.601 (Y 16..235, C 16..240).
func rgbToYCbCr(r, g, b uint8) (y, cb, cr uint8) {
	fr, fg, fb := float64(r), float64(g), float64(b)
	yy := 16 + (65.481*fr+128.553*fg+24.966*fb)/255
	u := 128 + (-37.797*fr-74.203*fg+112.0*fb)/255
	v := 128 + (112.0*fr-93.786*fg-18.214*fb)/255
	return uint8(yy + 0.5), uint8(u + 0.5), uint8(v + 0.5)
}
