package segment

import (
	"image"
	"testing"

	"github.com/termcall/termcall/video/segment/segmenttest"
)

// loop runs f b.N times and reports, besides the wall time, the CPU time
// per frame (cpu-ms/op): on a machine shared with other work the wall
// time includes waiting for a core, the CPU time does not.
func loop(b *testing.B, f func()) {
	b.Helper()
	b.ReportAllocs()
	c0 := cpuTime(b)
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime(b)-c0)/1e6/float64(b.N), "cpu-ms/op")
}

// The effect's cost at 640x360, per frame, by stage and whole. Run:
//
//	go test -run - -bench . -benchtime 50x -cpu 1 ./video/segment
//
// (docs/video.md "Background effects" has the figures and the load.)
func BenchmarkEffect640x360(b *testing.B) {
	frame := segmenttest.NewScene(640, 360).Frame
	bg := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := range bg.Pix {
		bg.Pix[i] = uint8(i)
	}
	b.Run("model", func(b *testing.B) {
		s, err := NewSegmenter()
		if err != nil {
			b.Fatal(err)
		}
		loop(b, func() { s.Mask(frame) })
	})
	b.Run("mask", func(b *testing.B) { // temporal smoothing, feather, upscale
		e := newEffect(b)
		_ = e.SetBlur(BlurMedium)
		e.Apply(frame)
		loop(b, func() {
			e.n = 0
			copy(e.prob, e.seg.n.out)
			e.upscaleMask()
		})
	})
	b.Run("blur", func(b *testing.B) {
		e := newEffect(b)
		_ = e.SetBlur(BlurHigh)
		e.Apply(frame)
		loop(b, func() { e.blur(frame) })
	})
	b.Run("replace", func(b *testing.B) {
		e := newEffect(b)
		e.SetBackground(bg)
		e.Apply(frame)
		loop(b, func() { e.replace(frame) })
	})
	for _, every := range []int{1, 2} {
		for _, mode := range []string{"blur", "replace"} {
			b.Run(mode+"/every"+string(rune('0'+every)), func(b *testing.B) {
				e := newEffect(b)
				e.SetEvery(every)
				if mode == "blur" {
					_ = e.SetBlur(BlurHigh)
				} else {
					e.SetBackground(bg)
				}
				e.Apply(frame)
				loop(b, func() { e.Apply(frame) })
			})
		}
	}
}
