package video

import (
	"image"
	"testing"
)

func BenchmarkEncode640x360(b *testing.B) {
	e := newTestEncoder(b, 640, 360, 600)
	frames := make([]*image.YCbCr, 30)
	for i := range frames {
		frames[i] = PatternFrame(640, 360, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	bytes := 0
	for i := 0; i < b.N; i++ {
		f, _, err := e.Encode(frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(f)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/frame")
}

func BenchmarkDecode640x360(b *testing.B) {
	e := newTestEncoder(b, 640, 360, 600)
	var frames [][]byte
	for i := 0; i < 60; i++ {
		f, _, err := e.Encode(PatternFrame(640, 360, i))
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, f)
	}
	d := newTestDecoder(b)
	var dst *image.YCbCr
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = d.DecodeInto(dst, frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFit640x480To160x90(b *testing.B) {
	src := PatternFrame(640, 480, 0)
	dst := image.NewRGBA(image.Rect(0, 0, 160, 90))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		FitInto(dst, src, 160, 90, FillModeFill, Rotation0)
	}
}

func BenchmarkFit640x480To160x90Rot90Fit(b *testing.B) {
	src := PatternFrame(640, 480, 0)
	dst := image.NewRGBA(image.Rect(0, 0, 160, 90))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		FitInto(dst, src, 160, 90, FillModeFit, Rotation90)
	}
}

func benchRender(b *testing.B, m Mode, cols, rows int) {
	src := PatternFrame(640, 360, 0)
	r := NewRenderer(m)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n += len(r.Render(src, cols, rows))
	}
	b.ReportMetric(float64(n)/float64(b.N), "out-B/op")
}

func BenchmarkRenderTruecolor80x24(b *testing.B) { benchRender(b, ModeTruecolor, 80, 24) }
func BenchmarkRender256_80x24(b *testing.B)      { benchRender(b, Mode256, 80, 24) }
func BenchmarkRenderKitty80x24(b *testing.B)     { benchRender(b, ModeKitty, 80, 24) }
func BenchmarkRenderSixel80x24(b *testing.B)     { benchRender(b, ModeSixel, 80, 24) }

func BenchmarkPatternFrame640x360(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		PatternFrame(640, 360, i)
	}
}

func BenchmarkAssembler(b *testing.B) {
	s := makeStream(b, 30)
	ps := s.flat()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := NewFrameAssembler()
		for _, p := range ps {
			a.Push(p)
		}
	}
	b.ReportMetric(float64(len(ps)), "packets/op")
}

// BenchmarkCallSecond640x480EncodeDecode is one second of a 640x480 15 fps
// call's video work on one side: encode 15 frames (the reference's
// bitrate for 62) and decode them. ns/op is CPU per second of video, so
// %core = ns/op / 1e7.
func BenchmarkCallSecond640x480EncodeDecode(b *testing.B) {
	p, _ := EncoderParamsFor(Resolution640x480, ResolutionModeLandscape, 15)
	e, err := NewEncoder(p)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	d := newTestDecoder(b)
	frames := make([]*image.YCbCr, 30)
	for i := range frames {
		frames[i] = PatternFrame(640, 480, i)
	}
	var dst *image.YCbCr
	k := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 15; j++ {
			f, _, err := e.Encode(frames[k%len(frames)])
			k++
			if err != nil {
				b.Fatal(err)
			}
			if f == nil {
				continue
			}
			if dst, err = d.DecodeInto(dst, f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
}

// BenchmarkCallSecondRender120x40 is one second of drawing a 640x360
// picture in a 120x40 truecolor view at 15 fps (%core = ns/op / 1e7).
func BenchmarkCallSecondRender120x40(b *testing.B) {
	pics := make([]*image.YCbCr, 15)
	for i := range pics {
		pics[i] = PatternFrame(640, 360, i)
	}
	r := NewRenderer(ModeTruecolor)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pics {
			_ = r.Render(p, 120, 40)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
}
