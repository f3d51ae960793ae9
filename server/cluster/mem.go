package cluster

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the in-process Backend: single-node mode, and the reference
// the NATS backend is tested against. One Memory may serve several
// simulated nodes in one process.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*memKV
	closed  bool
	bus     *memBus
}

// NewMemory returns an empty in-process backend.
func NewMemory() *Memory {
	return &Memory{buckets: make(map[string]*memKV), bus: newMemBus()}
}

// Bucket returns the named bucket, creating it.
func (m *Memory) Bucket(_ context.Context, name string) (KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	b := m.buckets[name]
	if b == nil {
		b = &memKV{keys: make(map[string]memEntry)}
		m.buckets[name] = b
	}
	return b, nil
}

// Bus returns the in-process bus.
func (m *Memory) Bus() Bus { return m.bus }

// Close marks the backend closed; buckets already opened keep working.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

type memEntry struct {
	val []byte
	rev uint64
}

type memWatch struct {
	prefix string
	ch     chan Entry
	done   <-chan struct{}
}

// memKV is one bucket: a map and a revision counter under a mutex. Watchers
// get changes in revision order through a per-watcher queue, so that a slow
// watcher never blocks a writer.
type memKV struct {
	mu      sync.Mutex
	keys    map[string]memEntry
	rev     uint64
	watches map[*memWatch]*memQueue
}

func (b *memKV) Create(_ context.Context, key string, val []byte) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.keys[key]; ok {
		return 0, fmt.Errorf("create %s: %w", key, ErrExists)
	}
	return b.setLocked(key, val), nil
}

func (b *memKV) Update(_ context.Context, key string, val []byte, rev uint64) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.keys[key]; !ok || e.rev != rev {
		return 0, fmt.Errorf("update %s at %d: %w", key, rev, ErrRevision)
	}
	return b.setLocked(key, val), nil
}

func (b *memKV) Put(_ context.Context, key string, val []byte) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.setLocked(key, val), nil
}

func (b *memKV) Get(_ context.Context, key string) (Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.keys[key]
	if !ok {
		return Entry{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return Entry{Key: key, Value: e.val, Rev: e.rev}, nil
}

func (b *memKV) Delete(_ context.Context, key string, rev uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.keys[key]
	if rev != 0 && (!ok || e.rev != rev) {
		return fmt.Errorf("delete %s at %d: %w", key, rev, ErrRevision)
	}
	if !ok {
		return nil
	}
	delete(b.keys, key)
	b.rev++
	b.notifyLocked(Entry{Key: key, Rev: b.rev, Deleted: true})
	return nil
}

func (b *memKV) List(_ context.Context, prefix string) ([]Entry, error) {
	if _, err := pattern(prefix); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listLocked(prefix), nil
}

func (b *memKV) Watch(ctx context.Context, prefix string) ([]Entry, <-chan Entry, error) {
	if _, err := pattern(prefix); err != nil {
		return nil, nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	w := &memWatch{prefix: prefix, ch: make(chan Entry), done: ctx.Done()}
	q := newMemQueue()
	if b.watches == nil {
		b.watches = make(map[*memWatch]*memQueue)
	}
	b.watches[w] = q
	go func() {
		defer close(w.ch)
		defer func() {
			b.mu.Lock()
			delete(b.watches, w)
			b.mu.Unlock()
		}()
		for {
			e, ok := q.pop(w.done)
			if !ok {
				return
			}
			select {
			case w.ch <- e:
			case <-w.done:
				return
			}
		}
	}()
	return b.listLocked(prefix), w.ch, nil
}

func (b *memKV) setLocked(key string, val []byte) uint64 {
	b.rev++
	v := append([]byte(nil), val...)
	b.keys[key] = memEntry{val: v, rev: b.rev}
	b.notifyLocked(Entry{Key: key, Value: v, Rev: b.rev})
	return b.rev
}

func (b *memKV) listLocked(prefix string) []Entry {
	var es []Entry
	for k, e := range b.keys {
		if underPrefix(k, prefix) {
			es = append(es, Entry{Key: k, Value: e.val, Rev: e.rev})
		}
	}
	return es
}

func (b *memKV) notifyLocked(e Entry) {
	for w, q := range b.watches {
		if underPrefix(e.Key, w.prefix) {
			q.push(e)
		}
	}
}

// memQueue is an unbounded FIFO with a wake-up channel.
type memQueue struct {
	mu   sync.Mutex
	q    []Entry
	wake chan struct{}
}

func newMemQueue() *memQueue { return &memQueue{wake: make(chan struct{}, 1)} }

func (q *memQueue) push(e Entry) {
	q.mu.Lock()
	q.q = append(q.q, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *memQueue) pop(done <-chan struct{}) (Entry, bool) {
	for {
		q.mu.Lock()
		if len(q.q) > 0 {
			e := q.q[0]
			q.q = q.q[1:]
			q.mu.Unlock()
			return e, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-done:
			return Entry{}, false
		}
	}
}
