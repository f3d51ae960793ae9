package engine

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDispatcherCloseFromObserver: close called by an observer (what
// Destroy from an observer does) returns instead of waiting for itself; the
// events queued before it are still delivered, in order, then the loop ends.
func TestDispatcherCloseFromObserver(t *testing.T) {
	d := newDispatcher()
	var mu sync.Mutex
	var got []string
	closed := make(chan struct{})
	d.add(NewObserver(func(ev Event) {
		id := ev.(UserJoin).UserID
		mu.Lock()
		got = append(got, id)
		mu.Unlock()
		if id == "stop" {
			d.close()
			close(closed)
		}
	}))
	for _, id := range []string{"a", "stop", "b", "c"} {
		d.push(UserJoin{UserID: id})
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close from an observer did not return")
	}
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatch goroutine did not end after close from an observer")
	}
	d.push(UserJoin{UserID: "late"}) // after close: dropped
	d.close()                        // a second close, from another goroutine, returns too
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"a", "stop", "b", "c"}, got); diff != "" {
		t.Errorf("events delivered (-want +got):\n%s", diff)
	}
}

// TestGoroutineID: two goroutines have two different, non-zero IDs, and
// one goroutine always the same.
func TestGoroutineID(t *testing.T) {
	here := goroutineID()
	other := make(chan uint64)
	go func() { other <- goroutineID() }()
	there := <-other
	if here == 0 || there == 0 || here == there || goroutineID() != here {
		t.Errorf("goroutine IDs: here %d (again %d), there %d", here, goroutineID(), there)
	}
}
