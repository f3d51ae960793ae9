package video

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtp"
)

type testStream struct {
	frames  [][]byte
	keys    map[int]bool
	packets [][]*rtp.Packet // per frame
}

// makeStream encodes n pattern frames (keyframes at 0 and at keyAt) and
// packetizes them with small packets so frames span several packets.
func makeStream(t testing.TB, n int, keyAt ...int) *testStream {
	t.Helper()
	e := newTestEncoder(t, 320, 180, 400)
	p := NewPacketizer(300, 96, 1234)
	s := &testStream{keys: map[int]bool{}}
	for i := 0; i < n; i++ {
		for _, k := range keyAt {
			if k == i {
				e.ForceKeyframe()
			}
		}
		f, key, err := e.Encode(PatternFrame(320, 180, i))
		if err != nil || f == nil {
			t.Fatal(err)
		}
		s.frames = append(s.frames, f)
		s.keys[i] = key
		s.packets = append(s.packets, p.Packetize(f, ClockRate/15))
	}
	return s
}

func (s *testStream) flat() []*rtp.Packet {
	var out []*rtp.Packet
	for _, ps := range s.packets {
		out = append(out, ps...)
	}
	return out
}

type pushResult struct {
	frames []AssembledFrame
	asks   int
}

func pushAll(a *FrameAssembler, ps []*rtp.Packet) pushResult {
	var r pushResult
	for _, p := range ps {
		fs, ask := a.Push(p)
		r.frames = append(r.frames, fs...)
		if ask {
			r.asks++
		}
	}
	return r
}

// frameIndexes maps assembled frames back to the stream's frame indexes.
func (s *testStream) frameIndexes(t *testing.T, fs []AssembledFrame) []int {
	t.Helper()
	var idx []int
	for _, f := range fs {
		found := -1
		for i, want := range s.frames {
			if bytes.Equal(f.Data, want) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Fatalf("assembled frame (ts %d, %d bytes) matches no sent frame", f.Timestamp, len(f.Data))
		}
		if f.Keyframe != s.keys[found] {
			t.Errorf("frame %d keyframe flag %v", found, f.Keyframe)
		}
		idx = append(idx, found)
	}
	return idx
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAssemblerInOrder(t *testing.T) {
	s := makeStream(t, 20)
	if len(s.packets[0]) < 3 {
		t.Fatalf("keyframe fits in %d packets; want several", len(s.packets[0]))
	}
	a := NewFrameAssembler()
	r := pushAll(a, s.flat())
	if got := s.frameIndexes(t, r.frames); !equalInts(got, seq(0, 20)) || r.asks != 0 {
		t.Errorf("frames %v asks %d", got, r.asks)
	}
	// decodable
	d := newTestDecoder(t)
	for i, f := range r.frames {
		if _, err := d.Decode(f.Data); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if st := a.Stats(); st.Frames != 20 || st.Lost != 0 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAssemblerReorder(t *testing.T) {
	s := makeStream(t, 20)
	ps := s.flat()
	rng := rand.New(rand.NewPCG(1, 2))
	// shuffle within windows of 6 packets, including the very first ones
	for i := 0; i < len(ps); i += 6 {
		w := ps[i:min(i+6, len(ps))]
		rng.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	// and a duplicate
	ps = append(ps[:10:10], append([]*rtp.Packet{ps[9]}, ps[10:]...)...)
	a := NewFrameAssembler()
	r := pushAll(a, ps)
	if got := s.frameIndexes(t, r.frames); !equalInts(got, seq(0, 20)) || r.asks != 0 {
		t.Errorf("frames %v asks %d stats %+v", got, r.asks, a.Stats())
	}
	if st := a.Stats(); st.Late != 1 {
		t.Errorf("late %d, want 1 (the duplicate)", st.Late)
	}
}

func TestAssemblerLoss(t *testing.T) {
	s := makeStream(t, 30, 20)
	var ps []*rtp.Packet
	for i, fp := range s.packets {
		for j, p := range fp {
			if i == 5 && j == len(fp)/2 {
				continue // lost
			}
			ps = append(ps, p)
		}
	}
	a := NewFrameAssembler()
	r := pushAll(a, ps)
	want := append(seq(0, 5), seq(20, 30)...)
	if got := s.frameIndexes(t, r.frames); !equalInts(got, want) {
		t.Errorf("frames %v, want %v", got, want)
	}
	// one request at the loss, repeated once after KeyframeRetry (15) drops
	if r.asks < 1 || r.asks > 2 {
		t.Errorf("keyframe asks %d", r.asks)
	}
	st := a.Stats()
	if st.Lost != 1 || st.Frames != 15 {
		t.Errorf("stats %+v", st)
	}
	if a.WaitingForKeyframe() {
		t.Error("still waiting after the keyframe")
	}
	d := newTestDecoder(t)
	for i, f := range r.frames {
		if _, err := d.Decode(f.Data); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func TestAssemblerLossAsksPromptly(t *testing.T) {
	// The request must come within MaxFramesBehind frames of the loss.
	s := makeStream(t, 12)
	a := NewFrameAssembler()
	for i, fp := range s.packets {
		for j, p := range fp {
			if i == 2 && j == 0 {
				continue // lose the head of frame 2
			}
			if _, ask := a.Push(p); ask {
				if i > 2+a.MaxFramesBehind {
					t.Errorf("asked at frame %d", i)
				}
				return
			}
		}
	}
	t.Error("never asked for a keyframe")
}

func TestAssemblerJoinMidStream(t *testing.T) {
	s := makeStream(t, 25, 20)
	ps := s.flat()
	start := len(s.packets[0]) + len(s.packets[1]) + len(s.packets[2]) + 1 // inside frame 3
	a := NewFrameAssembler()
	var asks []int
	var frames []AssembledFrame
	n := start
	for i := 3; i < 25; i++ {
		for range s.packets[i][0:len(s.packets[i])] {
			if n >= len(ps) {
				break
			}
			fs, ask := a.Push(ps[n])
			n++
			frames = append(frames, fs...)
			if ask {
				asks = append(asks, i)
			}
		}
	}
	if got := s.frameIndexes(t, frames); !equalInts(got, seq(20, 25)) {
		t.Errorf("frames %v", got)
	}
	if len(asks) == 0 || asks[0] > 5 {
		t.Errorf("keyframe asked at frames %v; want one right away", asks)
	}
}

func TestAssemblerWrapAndPadding(t *testing.T) {
	s := makeStream(t, 10)
	var ps []*rtp.Packet
	next := uint16(65530)
	for i, fp := range s.packets {
		for _, p := range fp {
			q := *p
			q.SequenceNumber = next
			next++
			ps = append(ps, &q)
		}
		if i == 3 {
			// a padding-only packet between frames
			ps = append(ps, &rtp.Packet{Header: rtp.Header{SequenceNumber: next, Timestamp: fp[0].Timestamp, Padding: true}})
			next++
		}
	}
	// swap two packets across the wrap
	ps[4], ps[6] = ps[6], ps[4]
	a := NewFrameAssembler()
	r := pushAll(a, ps)
	if got := s.frameIndexes(t, r.frames); !equalInts(got, seq(0, 10)) || r.asks != 0 {
		t.Errorf("frames %v asks %d stats %+v", got, r.asks, a.Stats())
	}
}

func TestAssemblerRequestKeyframe(t *testing.T) {
	s := makeStream(t, 12, 8)
	a := NewFrameAssembler()
	r := pushAll(a, s.flat()[:len(s.packets[0])+len(s.packets[1])])
	if len(r.frames) != 2 {
		t.Fatalf("%d frames", len(r.frames))
	}
	a.RequestKeyframe() // e.g. the decoder failed
	var rest []*rtp.Packet
	for _, fp := range s.packets[2:] {
		rest = append(rest, fp...)
	}
	r = pushAll(a, rest)
	if got := s.frameIndexes(t, r.frames); !equalInts(got, seq(8, 12)) {
		t.Errorf("frames %v", got)
	}
}
