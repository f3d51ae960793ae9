package lograte

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testutil"
)

// TestWindowEndReportsSuppressed: the summary comes out on its own when the
// interval ends, and the key may log again afterwards.
func TestWindowEndReportsSuppressed(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	l := New(3, 50*time.Millisecond, func(key string, n int) {
		mu.Lock()
		got[key] += n
		mu.Unlock()
	})
	defer l.Stop()
	allowed := 0
	for range 100 {
		if l.Allow("a") {
			allowed++
		}
	}
	if !l.Allow("b") {
		t.Error("another key is limited too")
	}
	if allowed != 3 {
		t.Errorf("allowed %d of 100, want 3", allowed)
	}
	testutil.WithTimeout(t, func() string {
		mu.Lock()
		defer mu.Unlock()
		if n := got["a"]; n != 97 {
			return fmt.Sprintf("summary count %d, want 97", n)
		}
		return ""
	}, 10*time.Second)
	if !l.Allow("a") {
		t.Error("the key is still limited after its interval")
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := got["b"]; ok {
		t.Error("a summary for a key that suppressed nothing")
	}
}

// TestKeysBounded: a flood of distinct keys shares one overflow window.
func TestKeysBounded(t *testing.T) {
	l := New(1, time.Hour, nil)
	defer l.Stop()
	for i := range maxKeys + 100 {
		l.Allow(string(rune(i + 1)))
	}
	l.mu.Lock()
	n := len(l.keys)
	l.mu.Unlock()
	if n > maxKeys+1 {
		t.Errorf("%d keys kept, want at most %d", n, maxKeys+1)
	}
}
