// Package lograte rate-limits log lines by key, so that a flood of one kind
// of message (a malformed packet from anyone, a refused request repeated in
// a loop) cannot flood the log.
//
// Each key may log Burst lines per Interval. Lines over that are counted,
// not logged; when the interval of a key that had suppressed lines ends, the
// Limiter calls its summary function once with the count (the caller logs
// "suppressed N similar messages"). No goroutine runs between floods: the
// summary is a time.AfterFunc armed at the first suppressed line.
package lograte

import (
	"sync"
	"time"
)

// maxKeys bounds the memory of a Limiter: with more distinct live keys than
// this, the new ones share one overflow key.
const maxKeys = 4096

// overflowKey is the key of lines whose own key did not fit.
const overflowKey = "\x00overflow"

// Limiter decides which lines to log. The zero value is not usable; use New.
type Limiter struct {
	burst    int
	interval time.Duration
	summary  func(key string, suppressed int)
	now      func() time.Time

	mu      sync.Mutex
	keys    map[string]*window
	stopped bool
}

type window struct {
	start      time.Time
	n          int // lines logged in this window
	suppressed int
	timer      *time.Timer
}

// New returns a Limiter letting burst lines per key through every interval.
// summary, if not nil, is called (without the Limiter's lock, from a timer
// goroutine or from Stop) when a window that suppressed lines ends.
func New(burst int, interval time.Duration, summary func(key string, suppressed int)) *Limiter {
	if burst < 1 {
		burst = 1
	}
	if interval <= 0 {
		interval = time.Second
	}
	return &Limiter{burst: burst, interval: interval, summary: summary, now: time.Now, keys: make(map[string]*window)}
}

// Allow reports whether a line with this key may be logged now.
func (l *Limiter) Allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return true
	}
	w := l.keys[key]
	if w == nil {
		if len(l.keys) >= maxKeys {
			l.pruneLocked(now)
		}
		if len(l.keys) >= maxKeys {
			key = overflowKey
			w = l.keys[key]
		}
	}
	if w != nil && w.timer == nil && now.Sub(w.start) >= l.interval {
		w = nil // its window ended with nothing suppressed
	}
	if w == nil {
		w = &window{start: now}
		l.keys[key] = w
	}
	if w.n < l.burst {
		w.n++
		return true
	}
	w.suppressed++
	if w.timer == nil {
		wait := l.interval - now.Sub(w.start)
		if wait < 0 {
			wait = 0
		}
		w.timer = time.AfterFunc(wait, func() { l.end(key, w) })
	}
	return false
}

// end closes a window that suppressed lines and reports the count.
func (l *Limiter) end(key string, w *window) {
	l.mu.Lock()
	if l.keys[key] != w {
		l.mu.Unlock()
		return
	}
	delete(l.keys, key)
	n := w.suppressed
	l.mu.Unlock()
	if n > 0 && l.summary != nil {
		l.summary(key, n)
	}
}

// pruneLocked forgets windows that ended with nothing suppressed.
func (l *Limiter) pruneLocked(now time.Time) {
	for k, w := range l.keys {
		if w.timer == nil && now.Sub(w.start) >= l.interval {
			delete(l.keys, k)
		}
	}
}

// Stop reports the suppressed counts still pending and lets every later
// line through (a stopped Limiter no longer arms timers). Safe to call more
// than once.
func (l *Limiter) Stop() {
	l.mu.Lock()
	l.stopped = true
	type pending struct {
		key string
		n   int
	}
	var out []pending
	for k, w := range l.keys {
		if w.timer != nil {
			w.timer.Stop()
			if w.suppressed > 0 {
				out = append(out, pending{k, w.suppressed})
			}
		}
	}
	l.keys = make(map[string]*window)
	l.mu.Unlock()
	if l.summary == nil {
		return
	}
	for _, p := range out {
		l.summary(p.key, p.n)
	}
}

// IsOverflow reports whether a summary's key is the shared overflow key.
func IsOverflow(key string) bool { return key == overflowKey }
