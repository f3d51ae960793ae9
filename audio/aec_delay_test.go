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

// TestEchoReferenceSettle: with refFollowLow the offset settles on the
// low measures of its first 0.5 s: a first measure taken at the top of the
// callbacks' sawtooth (30, 10, 20 ms, as PulseAudio's 30 ms playback
// period against 20 ms captured frames makes them) no longer makes the
// reference jump at 0.5 s; a single late measure moves nothing; after the
// first 0.5 s only the percentile's verdict moves the offset.
func TestEchoReferenceSettle(t *testing.T) {
	defer func(v bool) { refFollowLow = v }(refFollowLow)
	const ms = SampleRate / 1000
	var e *echoReference
	var capEnd int64
	measure := func(d int64) { // the playback d samples ahead of the capture
		capEnd += FrameSamples
		if n := capEnd + d - e.w; n > 0 {
			e.Played(make([]int16, n))
		}
		e.align(capEnd, FrameSamples)
	}
	for _, follow := range []bool{false, true} {
		refFollowLow = follow
		e, capEnd = newEchoReference(), 0
		for i := range 2 * resyncFrames {
			measure([]int64{30 * ms, 10 * ms, 20 * ms}[i%3])
		}
		want := 0 // without settling: the jump at 0.5 s, -20 ms
		if !follow {
			want = 1
		}
		if e.resyncs != want || e.offset != 10*ms {
			t.Errorf("follow %v: %d jumps, offset %d ms after 1 s of the sawtooth; want %d, 10", follow, e.resyncs, e.offset/ms, want)
		}
	}
	refFollowLow = true
	e, capEnd = newEchoReference(), 0
	for range 5 {
		measure(20 * ms)
	}
	capEnd += 5 * FrameSamples // one capture callback 100 ms late
	measure(20 * ms)
	capEnd -= 5 * FrameSamples
	for range resyncFrames {
		measure(20 * ms)
	}
	if e.offset != 20*ms || e.pathChanges() != 0 {
		t.Errorf("after one late measure: offset %d ms, %d path changes; want 20, 0", e.offset/ms, e.pathChanges())
	}
	for range 3 { // lower for good after the first 0.5 s: a jump, counted
		measure(12 * ms)
	}
	if e.offset != 12*ms || e.resyncs != 1 {
		t.Errorf("after the first 0.5 s, three measures 8 ms lower: offset %d ms, %d jumps; want 12, 1 (a jump the canceller hears of)", e.offset/ms, e.resyncs)
	}
}
