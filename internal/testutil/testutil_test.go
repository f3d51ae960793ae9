package testutil

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeT records a failure instead of ending the test, so that the helper's
// own failure can be checked. Fatalf ends the calling goroutine, as
// testing.T's does.
type fakeT struct {
	testing.TB
	failed atomic.Value // string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed.Store(strings.TrimSpace(fmt.Sprintf(format, args...)))
	runtime.Goexit()
}

func TestWithTimeoutReturnsWhenReached(t *testing.T) {
	var n atomic.Int32
	took := WithTimeout(t, func() string {
		if n.Add(1) < 3 {
			return "not yet"
		}
		return ""
	}, 10*time.Second)
	if got := n.Load(); got != 3 {
		t.Errorf("check ran %d times, want 3 (it stops at the first \"\")", got)
	}
	if took < 2*Interval {
		t.Errorf("took %v for three checks %v apart", took, Interval)
	}
}

func TestWithTimeoutFailsWithLastMessage(t *testing.T) {
	f := &fakeT{TB: t}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		i := 0
		WithTimeout(f, func() string { i++; return fmt.Sprintf("seen %d", i) }, 50*time.Millisecond)
	}()
	<-done
	msg, _ := f.failed.Load().(string)
	if !strings.HasPrefix(msg, "not within 50ms: seen ") || msg == "not within 50ms: seen 1" {
		t.Errorf("failure %q, want the last of several checks' answers", msg)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("failed after %v, before the 50ms timeout", el)
	}
}

func TestUntil(t *testing.T) {
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Until(f, "the door to open", 20*time.Millisecond, func() bool { return false })
	}()
	<-done
	if msg, _ := f.failed.Load().(string); msg != "not within 20ms: timed out waiting for the door to open" {
		t.Errorf("failure %q", msg)
	}
	open := time.Now().Add(30 * time.Millisecond)
	Until(t, "the door to open", 10*time.Second, func() bool { return time.Now().After(open) })
}

func TestPoll(t *testing.T) {
	start := time.Now()
	if Poll(30*time.Millisecond, func() bool { return false }) {
		t.Error("Poll reported a condition that never held")
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Errorf("gave up after %v, before the 30ms timeout", el)
	}
	open := time.Now().Add(30 * time.Millisecond)
	if !Poll(10*time.Second, func() bool { return time.Now().After(open) }) {
		t.Error("Poll missed a condition that came to hold")
	}
}

func TestCollect(t *testing.T) {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	go func() { time.Sleep(20 * time.Millisecond); ch <- 3 }()
	if got := Collect(t, "numbers", ch, 3, 10*time.Second); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("collected %v, want [1 2 3]", got)
	}

	for _, tc := range []struct {
		name  string
		close bool
		want  string
	}{
		{"timeout", false, "numbers: [7] within 20ms, want 2"},
		{"closed", true, "numbers: closed after [7], want 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeT{TB: t}
			ch := make(chan int, 1)
			ch <- 7
			if tc.close {
				close(ch)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Collect(f, "numbers", ch, 2, 20*time.Millisecond)
			}()
			<-done
			if msg, _ := f.failed.Load().(string); msg != tc.want {
				t.Errorf("failure %q, want %q", msg, tc.want)
			}
		})
	}
}
