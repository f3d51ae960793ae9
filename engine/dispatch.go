package engine

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
)

// dispatcher delivers events to observers in order on one goroutine. Its
// queue is unbounded so that the read goroutine never waits on observers.
type dispatcher struct {
	mu        sync.Mutex
	cond      *sync.Cond
	queue     []Event
	observers []Observer
	closed    bool
	done      chan struct{}
	loopID    uint64 // the loop goroutine's ID (0 until it starts), for close
}

func newDispatcher() *dispatcher {
	d := &dispatcher{done: make(chan struct{})}
	d.cond = sync.NewCond(&d.mu)
	go d.loop()
	return d
}

func (d *dispatcher) add(o Observer) {
	d.mu.Lock()
	d.observers = append(d.observers, o)
	d.mu.Unlock()
}

func (d *dispatcher) remove(o Observer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, x := range d.observers {
		if x == o {
			d.observers = append(d.observers[:i:i], d.observers[i+1:]...)
			return
		}
	}
}

func (d *dispatcher) push(ev Event) {
	d.mu.Lock()
	if !d.closed {
		d.queue = append(d.queue, ev)
		d.cond.Signal()
	}
	d.mu.Unlock()
}

// close delivers what is queued, then stops the goroutine and waits for it.
// Called from an observer (on the loop goroutine itself, as Destroy from an
// observer does) it cannot wait for its own caller: it returns at once, and
// the loop delivers what is queued once that observer returns, then stops.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.cond.Signal()
	fromLoop := d.loopID != 0 && d.loopID == goroutineID()
	d.mu.Unlock()
	if !fromLoop {
		<-d.done
	}
}

func (d *dispatcher) loop() {
	defer close(d.done)
	d.mu.Lock()
	d.loopID = goroutineID()
	d.mu.Unlock()
	for {
		d.mu.Lock()
		for len(d.queue) == 0 && !d.closed {
			d.cond.Wait()
		}
		if len(d.queue) == 0 {
			d.mu.Unlock()
			return
		}
		ev := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		obs := d.observers
		d.mu.Unlock()
		for _, o := range obs {
			o.OnEvent(ev)
		}
	}
}

// goroutineID returns the calling goroutine's ID, read from the first line
// of its stack ("goroutine 42 [running]:"). Only close uses it, once, to
// tell the dispatch goroutine from the others; 0 if the line cannot be read.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// unmarshalJSON decodes server data leniently (unknown fields are allowed, for
// servers newer than this engine).
func unmarshalJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
