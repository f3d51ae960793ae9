package callvideo

import (
	"image"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/video"
)

// Sink is an engine.VideoSink: one video.Receiver per remote user,
// keeping the latest decoded picture and counting them.
type Sink struct {
	mu     sync.Mutex
	eng    Engine
	users  map[string]*remote
	latest string // the user last decoded

	log        *slog.Logger
	recordPath func(callID, user string) string // nil: no recording
	closeOnEnd bool                             // recordings end with their call
}

type remote struct {
	mu     sync.Mutex // serialises Push against RemoveVideoUser
	rx     *video.Receiver
	last   *image.YCbCr
	n      int
	at     time.Time // when last was decoded
	failed bool
	rec    *recording
}

// recording is one user's IVF recording; guarded by its remote's mu.
type recording struct {
	callID string
	f      *os.File
	w      *video.IVFWriter
	lastTS uint32
	pts    uint64
	failed bool
}

// NewSink returns an empty sink.
func NewSink() *Sink { return &Sink{users: make(map[string]*remote)} }

// SetEngine sets the engine asked for keyframes.
func (s *Sink) SetEngine(e Engine) {
	s.mu.Lock()
	s.eng = e
	s.mu.Unlock()
}

func (s *Sink) user(id string) (*remote, Engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.users[id]
	if r == nil {
		r = &remote{}
		s.users[id] = r
	}
	return r, s.eng
}

// WriteVideoRTP assembles and decodes userID's packets.
func (s *Sink) WriteVideoRTP(userID string, pkt *rtp.Packet) {
	r, eng := s.user(userID)
	r.mu.Lock()
	if r.rx == nil && !r.failed {
		rx, err := video.NewReceiver()
		if err != nil {
			r.failed = true
			r.mu.Unlock()
			return
		}
		r.rx = rx
		if s.recordPath != nil {
			rx.OnFrame = func(f video.AssembledFrame) { s.record(userID, r, eng, f) }
		}
	}
	if r.rx == nil {
		r.mu.Unlock()
		return
	}
	pic, ask := r.rx.Push(pkt)
	if pic != nil {
		r.last, r.at = pic, time.Now()
		r.n++
	}
	r.mu.Unlock()
	if pic != nil {
		s.mu.Lock()
		s.latest = userID
		s.mu.Unlock()
	}
	if ask && eng != nil {
		eng.RequestKeyframe(userID)
	}
}

// record appends an assembled frame to userID's recording, opening it at
// the first keyframe; r.mu is held.
func (s *Sink) record(userID string, r *remote, eng Engine, f video.AssembledFrame) {
	rec := r.rec
	if rec != nil && rec.failed {
		return
	}
	if rec == nil {
		if !f.Keyframe {
			return
		}
		w, h, ok := video.KeyframeSize(f.Data)
		if !ok {
			return
		}
		var callID string
		if eng != nil {
			if info, ok := eng.CurrentCall(); ok {
				callID = info.CallID
			}
		}
		rec = &recording{callID: callID, lastTS: f.Timestamp}
		r.rec = rec
		path := s.recordPath(callID, userID)
		if path == "" {
			rec.failed = true
			s.logger().Warn("not recording video: --record-video holds one user", "user", userID)
			return
		}
		file, err := os.Create(path)
		if err == nil {
			rec.f = file
			rec.w, err = video.NewIVFWriter(file, w, h, video.ClockRate)
		}
		if err != nil {
			rec.failed = true
			s.logger().Warn("recording video", "user", userID, "file", path, "err", err)
			if rec.f != nil {
				rec.f.Close()
			}
			return
		}
	} else {
		d := int32(f.Timestamp - rec.lastTS)
		if d <= 0 {
			d = 1
		}
		rec.pts += uint64(d)
		rec.lastTS = f.Timestamp
	}
	if err := rec.w.WriteFrame(f.Data, rec.pts); err != nil {
		rec.failed = true
		s.logger().Warn("recording video", "user", userID, "err", err)
	}
}

func (s *Sink) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// endCall finishes the recordings of callID (Options.RecordDir).
func (s *Sink) endCall(callID string) {
	if !s.closeOnEnd {
		return
	}
	for _, r := range s.remotes() {
		r.mu.Lock()
		if r.rec != nil && r.rec.callID == callID {
			if err := r.rec.close(); err != nil {
				s.logger().Warn("finishing a video recording", "err", err)
			}
			r.rec = nil
		}
		r.mu.Unlock()
	}
}

func (rec *recording) close() error {
	if rec.w != nil {
		return rec.w.Close() // closes the file
	}
	return nil
}

func (s *Sink) remotes() []*remote {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := make([]*remote, 0, len(s.users))
	for _, r := range s.users {
		rs = append(rs, r)
	}
	return rs
}

// RemoveVideoUser frees userID's decoder; the latest picture and the count
// stay (LastFrame).
func (s *Sink) RemoveVideoUser(userID string) {
	s.mu.Lock()
	r := s.users[userID]
	s.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.rx != nil {
		r.rx.Close()
		r.rx = nil
	}
	r.mu.Unlock()
}

// LastFrame returns userID's latest decoded picture and how many were
// decoded.
func (s *Sink) LastFrame(userID string) (image.Image, int) {
	s.mu.Lock()
	r := s.users[userID]
	s.mu.Unlock()
	if r == nil {
		return nil, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil, r.n
	}
	return r.last, r.n
}

// Latest returns the user whose picture was decoded last, that picture,
// and that user's count.
func (s *Sink) Latest() (string, image.Image, int) {
	s.mu.Lock()
	u := s.latest
	s.mu.Unlock()
	if u == "" {
		return "", nil, 0
	}
	img, n := s.LastFrame(u)
	return u, img, n
}

// Close frees every decoder and finishes the recordings; it returns the
// first error finishing one.
func (s *Sink) Close() error {
	s.mu.Lock()
	users := make([]string, 0, len(s.users))
	for u := range s.users {
		users = append(users, u)
	}
	s.mu.Unlock()
	var first error
	for _, u := range users {
		s.RemoveVideoUser(u)
	}
	for _, r := range s.remotes() {
		r.mu.Lock()
		if r.rec != nil {
			if err := r.rec.close(); err != nil && first == nil {
				first = err
			}
			r.rec = nil
		}
		r.mu.Unlock()
	}
	return first
}
