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
	f := &files{w: w, users: map[string]audio.Sink{}}
	for o := range w.ch {
		f.apply(o)
	}
	f.end()
	if w.rec != nil {
		if err := w.rec.Close(); err != nil && w.err == nil {
			w.err = err
		}
	}
}

// files are the files the writer's goroutine has open: the current call's
// per-user recordings and event log.
type files struct {
	w      *writer
	call   string
	users  map[string]audio.Sink
	evlog  *os.File
	recBad bool // the mixed recording failed: no more frames go to it
}

func (f *files) apply(o op) {
	switch o.kind {
	case opMixed:
		f.mixed(o.pcm)
	case opUser:
		f.user(o.id, o.pcm)
	case opEvent:
		if f.evlog != nil {
			_, err := f.evlog.Write(append(o.line, '\n'))
			f.keep(err)
		}
	case opStart:
		f.start(o.id)
	case opEnd:
		f.end()
	}
}

// keep keeps the first error (and logs it).
func (f *files) keep(err error) {
	if err != nil && f.w.err == nil {
		f.w.err = err
		f.w.log.Warn("recording failed", "err", err)
	}
}

func (f *files) mixed(pcm []int16) {
	if f.recBad {
		return
	}
	if err := f.w.rec.WriteFrame(pcm); err != nil {
		f.recBad = true
		f.keep(err)
	}
}

// user writes a frame of a user's recording in the current call, created
// at the user's first frame (a file that cannot be created takes nothing).
func (f *files) user(id string, pcm []int16) {
	if f.call == "" {
		return
	}
	s := f.users[id]
	if s == nil {
		var err error
		s, err = audio.Create(RecordingName(f.w.dir, f.call, id))
		if err != nil {
			f.keep(err)
			s = nullSink{}
		}
		f.users[id] = s
	}
	f.keep(s.WriteFrame(pcm))
}

// start ends the current call's files and opens the new call's event log.
func (f *files) start(call string) {
	f.end()
	f.call = call
	if f.w.dir != "" {
		l, err := os.Create(EventLogName(f.w.dir, call))
		f.keep(err)
		f.evlog = l
	}
}

// end finishes the current call's files.
func (f *files) end() {
	for id, s := range f.users {
		f.keep(s.Close())
		delete(f.users, id)
	}
	if f.evlog != nil {
		f.keep(f.evlog.Close())
		f.evlog = nil
	}
	f.call = ""
}

type nullSink struct{}

func (nullSink) WriteFrame([]int16) error { return nil }
func (nullSink) Close() error             { return nil }
