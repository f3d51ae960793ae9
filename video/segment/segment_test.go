package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/video/segment/segmenttest"
)

func TestModelIsThePinnedOne(t *testing.T) {
	want, err := os.ReadFile("model/selfie_segmentation_landscape.tflite.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(landscapeModel)
	if got := hex.EncodeToString(sum[:]); got != strings.TrimSpace(string(want)) {
		t.Errorf("embedded model sha256 %s, pinned %s", got, want)
	}
}

func TestModelOperators(t *testing.T) {
	s, err := NewSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DEQUANTIZE", "CONV_2D", "HARD_SWISH", "RELU", "DEPTHWISE_CONV_2D", "MEAN",
		"LOGISTIC", "MUL", "ADD", "RESIZE_BILINEAR", "Convolution2DTransposeBias"}
	if diff := cmp.Diff(want, s.Ops()); diff != "" {
		t.Errorf("operators (-want +got):\n%s", diff)
	}
	if w, h := s.MaskSize(); w != 256 || h != 144 {
		t.Errorf("mask %dx%d, want 256x144", w, h)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not a model"), append([]byte{0xff, 0xff, 0, 0}, []byte("TFL3....")...)} {
		if _, err := parseModel(b); err == nil {
			t.Errorf("parseModel(%q) succeeded", b)
		}
	}
	// A truncated model fails cleanly, never panics.
	for _, n := range []int{16, 1000, len(landscapeModel) / 2} {
		if _, err := parseModel(landscapeModel[:n]); err == nil {
			t.Errorf("parseModel of the first %d bytes succeeded", n)
		}
	}
}

// maskIoU upsamples a mask (mw x mh over the whole photo) to the photo
// and returns the intersection over union of mask > 0.5 with the
// hand-made outline, over the scored pixels.
func maskIoU(m []float32, mw, mh int) float64 {
	var inter, union int
	for y := 0; y < 512; y++ {
		for x := 0; x < 512; x++ {
			l, ok := segmenttest.Scored(x, y, 8)
			if !ok {
				continue
			}
			p := m[(y*mh/512)*mw+x*mw/512] > 0.5
			if p && l == 1 {
				inter++
			}
			if p || l == 1 {
				union++
			}
		}
	}
	return float64(inter) / float64(union)
}

// TestMaskCoversThePerson runs the model on the photo: the mask must cover
// the person of the hand-made outline and leave the background (flag,
// shuttle model, wall) out. A faked segmentation (a centred blob, all
// person, all background) scores far below.
func TestMaskCoversThePerson(t *testing.T) {
	s, err := NewSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	m := s.Mask(segmenttest.ToYCbCr(segmenttest.Photo()))
	mw, mh := s.MaskSize()
	iou := maskIoU(m, mw, mh)
	t.Logf("IoU against the hand-made outline: %.3f", iou)
	if iou < 0.85 {
		t.Errorf("IoU %.3f, want >= 0.85", iou)
	}
	// The same score for stand-ins, to show the bar means something.
	blob := make([]float32, mw*mh)
	for y := 0; y < mh; y++ {
		for x := 0; x < mw; x++ {
			dx, dy := float64(x-mw/2)/(float64(mw)/3), float64(y-mh/2)/(float64(mh)/2.2)
			if dx*dx+dy*dy < 1 {
				blob[y*mw+x] = 1
			}
		}
	}
	all := make([]float32, mw*mh)
	for i := range all {
		all[i] = 1
	}
	for name, fake := range map[string][]float32{"centred ellipse": blob, "all person": all} {
		if f := maskIoU(fake, mw, mh); f >= 0.85 {
			t.Errorf("a %s scores %.3f: the bar does not tell a real mask from it", name, f)
		} else {
			t.Logf("%s scores %.3f", name, f)
		}
	}
}

// TestMaskEmptyWithoutPerson: a wall of stripes has no person.
func TestMaskEmptyWithoutPerson(t *testing.T) {
	s, err := NewSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	m := s.Mask(segmenttest.Wall(640, 360))
	var sum float64
	for _, v := range m {
		sum += float64(v)
	}
	if mean := sum / float64(len(m)); mean > 0.1 {
		t.Errorf("mean person probability on a wall %.3f, want < 0.1", mean)
	}
}

// TestSegmentersAreIndependent: two Segmenters (two video sources) share
// the parsed model but nothing they write; run at once they give the
// same mask (-race checks the sharing).
func TestSegmentersAreIndependent(t *testing.T) {
	photo := segmenttest.ToYCbCr(segmenttest.Photo())
	wall := segmenttest.Wall(640, 360)
	masks := make([][]float32, 2)
	done := make(chan int)
	for k := range 2 {
		go func() {
			defer func() { done <- k }()
			s, err := NewSegmenter()
			if err != nil {
				t.Error(err)
				return
			}
			s.Mask(wall) // a different picture first
			masks[k] = append([]float32(nil), s.Mask(photo)...)
		}()
	}
	<-done
	<-done
	if masks[0] == nil || masks[1] == nil {
		t.Fatal("no mask")
	}
	if diff := cmp.Diff(masks[0], masks[1]); diff != "" {
		t.Errorf("the two Segmenters' masks differ (-first +second):\n%.500s", diff)
	}
}
