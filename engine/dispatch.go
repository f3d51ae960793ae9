package engine

import (
	"encoding/json"
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
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.cond.Signal()
	d.mu.Unlock()
	<-d.done
}

func (d *dispatcher) loop() {
	defer close(d.done)
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

// unmarshalJSON decodes server data leniently (unknown fields are allowed, for
// servers newer than this engine).
func unmarshalJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
