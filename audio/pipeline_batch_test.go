package audio

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countingSource is a silent source that counts the frames read from it.
type countingSource struct{ n int }

func (s *countingSource) ReadFrame(pcm []int16) error {
	s.n++
	clear(pcm)
	return nil
}

// TestSourceUplinkBatchesGrow: a source uplink reads ahead one frame for
// its first packet (it goes out at once), then batches that double up to
// sourceBatchFrames: a call's second packet is not held back by the
// encoding of a whole batch.
func TestSourceUplinkBatchesGrow(t *testing.T) {
	src := &countingSource{}
	u, err := NewSourceUplink(src)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	var got []int
	for range 32 {
		if _, _, err := u.ReadOpusFrame(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[len(got)-1] != src.n {
			got = append(got, src.n)
		}
	}
	want := []int{1, 3, 7, 15, 31, 31 + sourceBatchFrames}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frames read ahead after each batch (-want +got):\n%s", diff)
	}
}
