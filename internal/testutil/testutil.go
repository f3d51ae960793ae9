// Package testutil holds what termcall's tests share: one way to wait for
// a state to be reached. It is imported by _test.go files only.
//
// Tests must hold on a busy machine, so they never sleep a fixed time and
// then look; they poll the state they expect with a generous deadline and
// fail with what they last saw.
package testutil

import (
	"fmt"
	"testing"
	"time"
)

// Interval is how long WithTimeout waits after its first check; each
// further wait is half as long again, up to MaxInterval, so that a quick
// state is seen at once and a long wait (a check that asks a browser or
// scrapes metrics) costs a busy machine little.
const (
	Interval    = 10 * time.Millisecond
	MaxInterval = 100 * time.Millisecond
)

// WithTimeout calls check until it returns "" (the awaited state holds),
// waiting Interval, then longer, up to MaxInterval, between checks, and
// returns how long that took. When timeout passes first,
// it fails the test with check's last answer, which should say what was
// seen against what was awaited. check runs on the caller's goroutine, as
// WithTimeout must: it calls t.Fatalf.
func WithTimeout(t testing.TB, check func() string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	pause := Interval
	for {
		msg := check()
		if msg == "" {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, msg)
			return time.Since(start)
		}
		time.Sleep(min(pause, time.Until(deadline)+time.Millisecond))
		pause = min(pause*3/2, MaxInterval)
	}
}

// Until is WithTimeout for a yes/no condition: it waits until cond holds,
// failing with "timed out waiting for <what>".
func Until(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	return WithTimeout(t, func() string {
		if cond() {
			return ""
		}
		return fmt.Sprintf("timed out waiting for %s", what)
	}, timeout)
}

// Poll waits, as WithTimeout does, until cond holds or timeout passes, and
// reports whether cond held. It never fails the test: it is for a wait
// that the test follows with its own assertion on what was reached (a
// count of frames, the samples heard so far), so that the assertion, not
// the wait, says what went wrong.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := Interval
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(min(pause, time.Until(deadline)+time.Millisecond))
		pause = min(pause*3/2, MaxInterval)
	}
}

// Collect receives n values from ch and returns them in the order they
// came. When timeout passes first, or ch is closed, it fails the test with
// what came so far, named by what.
func Collect[T any](t testing.TB, what string, ch <-chan T, n int, timeout time.Duration) []T {
	t.Helper()
	got := make([]T, 0, n)
	expire := time.NewTimer(timeout)
	defer expire.Stop()
	for len(got) < n {
		select {
		case v, ok := <-ch:
			if !ok {
				t.Fatalf("%s: closed after %v, want %d", what, got, n)
				return got
			}
			got = append(got, v)
		case <-expire.C:
			t.Fatalf("%s: %v within %v, want %d", what, got, timeout, n)
			return got
		}
	}
	return got
}
