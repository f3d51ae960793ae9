package callaudio

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/termcall/termcall/audio"
)

// writer does all the file work on its own goroutine, so that the playout
// never waits for a disk. Frames are dropped (and counted) if it falls
// more than about a second behind; call boundaries and events are not.
type writer struct {
	ch   chan op
	done chan struct{}
	rec  audio.Sink // the mixed recording (nil: none)
	dir  string     // per-call recordings ("": none)
	log  *slog.Logger

	mu      sync.Mutex
	call    string // the call started last (caller side)
	closed  bool
	dropped atomic.Int64
	err     error // first file error (goroutine side, read after done)
}

type opKind uint8

const (
	opMixed opKind = iota
	opUser
	opEvent
	opStart
	opEnd
)

type op struct {
	kind opKind
	id   string // user (opUser) or call (opStart)
	pcm  []int16
	line []byte
}

func newWriter(rec audio.Sink, dir string, log *slog.Logger) *writer {
	w := &writer{ch: make(chan op, 512), done: make(chan struct{}), rec: rec, dir: dir, log: log}
	go w.run()
	return w
}

func (w *writer) frame(o op) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	select {
	case w.ch <- o:
	default:
		if w.dropped.Add(1) == 1 {
			w.log.Warn("recording: the disk is too slow; dropping audio")
		}
	}
}

func (w *writer) mixed(pcm []int16) {
	if w.rec != nil {
		w.frame(op{kind: opMixed, pcm: append([]int16(nil), pcm...)})
	}
}

func (w *writer) user(id string, pcm []int16) {
	if w.dir != "" {
		w.frame(op{kind: opUser, id: id, pcm: append([]int16(nil), pcm...)})
	}
}

// send queues an op that must not be lost; false once closed.
func (w *writer) send(o op) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.ch <- o
	return true
}

func (w *writer) event(line []byte) {
	if w.dir != "" {
		w.send(op{kind: opEvent, line: line})
	}
}

func (w *writer) startCall(id string) {
	w.mu.Lock()
	same := w.call == id
	w.call = id
	w.mu.Unlock()
	if !same {
		w.send(op{kind: opStart, id: id})
	}
}

func (w *writer) endCall() {
	w.mu.Lock()
	w.call = ""
	w.mu.Unlock()
	w.send(op{kind: opEnd})
}

func (w *writer) currentCall() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.call
}

// close finishes every file and returns the first error.
func (w *writer) close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	<-w.done
	return w.err
}

func (w *writer) run() {
	defer close(w.done)
	var (
		call   string
		users  = map[string]audio.Sink{}
		evlog  *os.File
		recBad bool
	)
	keep := func(err error) {
		if err != nil && w.err == nil {
			w.err = err
			w.log.Warn("recording failed", "err", err)
		}
	}
	end := func() {
		for id, s := range users {
			keep(s.Close())
			delete(users, id)
		}
		if evlog != nil {
			keep(evlog.Close())
			evlog = nil
		}
		call = ""
	}
	for o := range w.ch {
		switch o.kind {
		case opMixed:
			if !recBad {
				if err := w.rec.WriteFrame(o.pcm); err != nil {
					recBad = true
					keep(err)
				}
			}
		case opUser:
			if call == "" {
				continue
			}
			s := users[o.id]
			if s == nil {
				var err error
				s, err = audio.Create(RecordingName(w.dir, call, o.id))
				if err != nil {
					keep(err)
					s = nullSink{}
				}
				users[o.id] = s
			}
			keep(s.WriteFrame(o.pcm))
		case opEvent:
			if evlog != nil {
				_, err := evlog.Write(append(o.line, '\n'))
				keep(err)
			}
		case opStart:
			end()
			call = o.id
			if w.dir != "" {
				f, err := os.Create(EventLogName(w.dir, call))
				keep(err)
				evlog = f
			}
		case opEnd:
			end()
		}
	}
	end()
	if w.rec != nil {
		if err := w.rec.Close(); err != nil && w.err == nil {
			w.err = err
		}
	}
}

type nullSink struct{}

func (nullSink) WriteFrame([]int16) error { return nil }
func (nullSink) Close() error             { return nil }
