package audio

import "sync"

// ringBuffer is a mutex-protected FIFO of samples between a device
// callback and the goroutine that produces or consumes 20 ms frames.
// Critical sections are a copy of at most a few hundred samples.
type ringBuffer struct {
	mu   sync.Mutex
	buf  []int16
	r, n int
	// overruns counts samples discarded because the ring was full
	// (oldest dropped); underruns counts samples missing on read.
	overruns, underruns uint64
}

func newRingBuffer(size int) *ringBuffer { return &ringBuffer{buf: make([]int16, size)} }

func (b *ringBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func (b *ringBuffer) Free() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf) - b.n
}

// Write appends p; if it does not fit the oldest samples are dropped.
func (b *ringBuffer) Write(p []int16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) > len(b.buf) {
		b.overruns += uint64(len(p) - len(b.buf))
		p = p[len(p)-len(b.buf):]
	}
	if over := b.n + len(p) - len(b.buf); over > 0 {
		b.r = (b.r + over) % len(b.buf)
		b.n -= over
		b.overruns += uint64(over)
	}
	w := (b.r + b.n) % len(b.buf)
	k := copy(b.buf[w:], p)
	copy(b.buf, p[k:])
	b.n += len(p)
}

// Read fills p with up to len(p) samples and zero-fills the rest when
// countUnderrun; it returns the number of real samples.
func (b *ringBuffer) Read(p []int16, countUnderrun bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := min(len(p), b.n)
	k := copy(p[:m], b.buf[b.r:])
	copy(p[k:m], b.buf)
	b.r = (b.r + m) % len(b.buf)
	b.n -= m
	if m < len(p) {
		clear(p[m:])
		if countUnderrun {
			b.underruns += uint64(len(p) - m)
		}
	}
	return m
}
