package audio

import (
	"testing"

	"github.com/termcall/termcall/audio/audiotest"
)

// TestBulkDelay: the echo's lag behind the reference is found from the
// first 200 ms of far-end speech, at half the level and under a noise
// floor, and found again after a restart once the lag has changed.
func TestBulkDelay(t *testing.T) {
	far := audiotest.Speech(5, 2*SampleRate, SampleRate)
	mic := func(delayMs int) []int16 {
		d := delayMs * SampleRate / 1000
		m := make([]int16, len(far))
		for i := d; i < len(m); i++ {
			m[i] = far[i-d]/2 + int16((i*7919)%61-30) // echo + a little noise
		}
		return m
	}
	run := func(b *bulkDelay, m []int16, from, to int) int {
		got := 0
		for i := from; i < to; i++ {
			got = b.observe(far[i*PeriodSamples:(i+1)*PeriodSamples], m[i*PeriodSamples:(i+1)*PeriodSamples])
		}
		return got
	}
	b := newBulkDelay()
	if got := run(&b, mic(23), 0, 10); got != 0 || b.ms != -1 {
		t.Fatalf("after 100 ms: delay %d (estimate %d), want 0 and none yet", got, b.ms)
	}
	if got := run(&b, mic(23), 10, 60); got != 23 {
		t.Errorf("delay %d ms (correlation %.2f), want 23", got, b.corr)
	}
	b.restart()
	if got := run(&b, mic(41), 60, 120); got != 41 || b.estimates != 2 {
		t.Errorf("after restart: delay %d ms (%d estimates), want 41 (2)", got, b.estimates)
	}
}

// TestEchoReferenceSettle: with refFollowLow the offset follows a lower
// measure in the first 100 ms without counting a jump, and not after.
func TestEchoReferenceSettle(t *testing.T) {
	defer func(v bool) { refFollowLow = v }(refFollowLow)
	refFollowLow = true
	e := newEchoReference()
	e.Played(make([]int16, 4*FrameSamples)) // played ahead of the capture by 3 frames
	capEnd := int64(FrameSamples)
	p0, _ := e.align(capEnd, FrameSamples)
	capEnd += 2 * FrameSamples // a capture burst, nothing played meanwhile
	// followed: the last frame played again (kept, the offset would point
	// at two frames not played yet)
	if p, _ := e.align(capEnd, FrameSamples); p != p0 || e.resyncs != 0 || e.pathChanges() != 0 {
		t.Errorf("in the first 100 ms: reference at %d, want %d (followed the low), %d resyncs, %d path changes, want 0",
			p, p0, e.resyncs, e.pathChanges())
	}
	for range settleFrames {
		e.Played(make([]int16, FrameSamples))
		capEnd += FrameSamples
		e.align(capEnd, FrameSamples)
	}
	off := e.offset
	capEnd += FrameSamples // lower again, after the first 100 ms: kept
	e.align(capEnd, FrameSamples)
	if e.offset != off {
		t.Errorf("after the first 100 ms the offset moved from %d to %d on one low measure", off, e.offset)
	}
}
