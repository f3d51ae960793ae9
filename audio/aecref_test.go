package audio

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEchoReferenceAlign: a frame's reference is what had been played
// when it arrived, whatever bursts the callbacks come in; the offset
// moves only when the streams drift apart.
func TestEchoReferenceAlign(t *testing.T) {
	e := newEchoReference()
	if _, ok := e.align(960, 960); ok {
		t.Fatal("aligned with nothing played")
	}
	played := make([]int16, 0, 100*PeriodSamples)
	play := func(n int) {
		pcm := make([]int16, n)
		for i := range pcm {
			pcm[i] = int16(len(played) + i) // the sample's position
		}
		played = append(played, pcm...)
		e.Played(pcm)
	}
	play(5 * PeriodSamples) // playback ran before the capture started
	cap := int64(0)
	next := func() []int16 {
		cap += FrameSamples
		p, ok := e.align(cap, FrameSamples)
		if !ok {
			t.Fatal("not aligned")
		}
		ref := make([]int16, FrameSamples)
		e.readAt(p, ref)
		return ref
	}
	ref := next()
	if diff := cmp.Diff(played[len(played)-FrameSamples:], ref); diff != "" {
		t.Errorf("first reference is not the last frame played (-want +got):\n%s", diff)
	}
	first := int(ref[0])
	// steady state with jittery callbacks: three periods, then one
	for i := range 20 {
		if i%2 == 0 {
			play(3 * PeriodSamples)
		} else {
			play(PeriodSamples)
		}
		ref = next()
		if got, want := int(ref[0]), first+(i+1)*FrameSamples; got != want {
			t.Fatalf("frame %d: reference starts at %d, want %d (no jump)", i, got, want)
		}
	}
	if e.resyncs != 0 {
		t.Errorf("%d resyncs with steady streams", e.resyncs)
	}
	// a callback 100 ms late (the process was not scheduled), then on
	// time again: the reference keeps its offset
	cap += 5 * FrameSamples
	play(2 * PeriodSamples)
	next()
	cap -= 5 * FrameSamples
	for range 2 * resyncFrames {
		play(2 * PeriodSamples)
		next()
	}
	if e.resyncs != 0 || e.slips != 0 {
		t.Errorf("%d resyncs, %d suspected slips after one late callback, want 0", e.resyncs, e.slips)
	}
	// the capture loses 100 ms for good (an overrun, a server underrun):
	// the reference jumps to the new offset once the 10th percentile of the last
	// 0.5 s shows it, and only once
	cap += 5 * FrameSamples
	play(2 * PeriodSamples)
	if next(); e.resyncs != 0 {
		t.Error("jumped at the first frame off")
	}
	for range 2 * resyncFrames {
		play(2 * PeriodSamples)
		ref = next()
	}
	if e.resyncs != 1 {
		t.Errorf("%d resyncs after a 100 ms capture jump, want 1", e.resyncs)
	}
	// suspected after three frames, long before the jump: once
	if e.slips != 1 || e.pathChanges() != 2 {
		t.Errorf("%d suspected slips, %d path changes after a 100 ms capture jump, want 1, 2", e.slips, e.pathChanges())
	}
	if diff := cmp.Diff(played[len(played)-FrameSamples:], ref); diff != "" {
		t.Errorf("after the resync the reference is not the last frame played (-want +got):\n%s", diff)
	}
}
