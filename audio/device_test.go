package audio

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestNullCapturePacing runs where there is no sound card (CI, this
// machine): the default capture device falls back to the null device,
// which must deliver real time, not spin.
func TestNullCapturePacing(t *testing.T) {
	if alsaCardsPresent() || pulseServerLikely() {
		t.Log("a sound server or card is present; forcing the null device")
	}
	var samples atomic.Int64
	name := ""
	if alsaCardsPresent() || pulseServerLikely() {
		name = "null"
	}
	dev, err := OpenCapture(name, func(pcm []int16) {
		if len(pcm) != FrameSamples {
			t.Errorf("frame of %d samples", len(pcm))
		}
		samples.Add(int64(len(pcm)))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if !dev.IsNull() {
		t.Fatalf("backend %q, want null", dev.Backend())
	}
	time.Sleep(200 * time.Millisecond) // settle
	s0, c0, w0 := samples.Load(), cpuTime(t), time.Now()
	time.Sleep(500 * time.Millisecond)
	s1, c1, wall := samples.Load(), cpuTime(t), time.Since(w0)
	rate := float64(s1-s0) / wall.Seconds()
	cpu := float64(c1-c0) / float64(wall)
	t.Logf("null capture: %d samples in %v = %.0f samples/s; CPU %.1f%% of wall time", s1-s0, wall.Round(time.Millisecond), rate, cpu*100)
	if rate < 48000*0.8 || rate > 48000*1.2 {
		t.Errorf("null capture delivers %.0f samples/s, want 48000 ± 20%%", rate)
	}
	if cpu > 0.30 {
		t.Errorf("null capture uses %.0f%% CPU, want < 30%%", cpu*100)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNullPlayback(t *testing.T) {
	var frames atomic.Int64
	tone := NewTone(440, 0.3)
	dev, err := OpenPlayback("null", func(pcm []int16) {
		_ = tone.ReadFrame(pcm)
		frames.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	f0, w0 := frames.Load(), time.Now()
	time.Sleep(400 * time.Millisecond)
	rate := float64(frames.Load()-f0) / time.Since(w0).Seconds()
	dev.Close()
	t.Logf("null playback pulls %.1f frames/s", rate)
	if rate < 50*0.8 || rate > 50*1.2 {
		t.Errorf("null playback pulls %.1f frames/s, want 50", rate)
	}
}

func TestDevicesListsNull(t *testing.T) {
	ds, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	var nullCap, nullPlay bool
	for _, d := range ds {
		t.Logf("%+v", d)
		if d.Backend == "null" {
			nullCap = nullCap || d.Capture
			nullPlay = nullPlay || !d.Capture
		}
	}
	if !nullCap || !nullPlay {
		t.Error("null devices not listed")
	}
	if _, err := OpenCapture("no such microphone", func([]int16) {}); err == nil {
		t.Error("opening a missing named device succeeded")
	}
}

func TestRingBuffer(t *testing.T) {
	r := newRingBuffer(5)
	r.Write([]int16{1, 2, 3})
	r.Write([]int16{4, 5, 6, 7}) // drops 1, 2
	p := make([]int16, 4)
	if n := r.Read(p, true); n != 4 || !equal16(p, []int16{3, 4, 5, 6}) {
		t.Errorf("read %d %v", n, p)
	}
	if n := r.Read(p, true); n != 1 || !equal16(p, []int16{7, 0, 0, 0}) {
		t.Errorf("read %d %v", n, p)
	}
	if r.overruns != 2 || r.underruns != 3 {
		t.Errorf("overruns %d underruns %d", r.overruns, r.underruns)
	}
}
