package engine

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

type beautySource struct{ levels []float64 }

func (*beautySource) ReadVP8Frame(ctx context.Context) ([]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}
func (s *beautySource) SetBeautyLevel(l float64) { s.levels = append(s.levels, l) }

func TestSetBeautyLevel(t *testing.T) {
	e, err := New(Options{Server: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	for _, bad := range []float64{-0.5, 9.01, 100, math.NaN()} {
		if err := e.SetBeautyLevel(bad); !IsCode(err, protocol.CodeInvalidArgument) {
			t.Errorf("SetBeautyLevel(%v): got %v, want code %d", bad, err, protocol.CodeInvalidArgument)
		}
	}
	if err := e.SetBeautyLevel(4.5); err != nil {
		t.Fatal(err)
	}
	src := &beautySource{}
	e.SetVideo(src, nil) // gets the stored level
	if err := e.SetBeautyLevel(9); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBeautyLevel(0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{4.5, 9, 0}, src.levels); diff != "" {
		t.Errorf("levels the source got (-want +got):\n%s", diff)
	}
	if got := e.BeautyLevel(); got != 0 {
		t.Errorf("BeautyLevel() = %v; want 0", got)
	}
}
