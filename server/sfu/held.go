package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Held packets: the start of a publisher's audio survives a subscriber
// whose transport is not up yet.
//
// After an instant answer both legs of a 1v1 call bring up ICE and DTLS at
// the same time, and the one that is up first starts sending while the
// other is still handshaking (or not yet in the publisher's fanout: its
// track still being negotiated). pion drops what is written to a sender
// before SRTP is ready, so the first packet or two of that publisher were
// lost and the subscriber heard the next one, 20-40 ms later. The SFU now
// keeps the newest heldPackets packets (at most heldMaxAge old) of each
// publisher's audio while some subscriber in its fanout has not been
// served yet, and writes them to that subscriber the moment its transport
// is up (and it is in the fanout), before the live packets that follow.
//
// Cost: nothing per packet once every subscriber of the publisher has been
// served (one atomic load); while one has not, a copy of each audio packet
// into a reused buffer under a per-publisher mutex that only the flush
// contends for.
const heldPackets = 3 // 60 ms of 20 ms Opus frames

// heldMaxAge: older held packets are not sent (a var for tests).
var heldMaxAge = 60 * time.Millisecond

// heldAudio is a peer's state for held packets: as a publisher (the ring
// of its newest audio packets and which subscriber tracks were served) and
// as a subscriber (whether its senders are writable).
type heldAudio struct {
	closed   atomic.Bool // as publisher: every subscriber was served, nothing is kept
	writable atomic.Bool // as subscriber: ICE, DTLS and SRTP are up

	mu     sync.Mutex
	ring   [heldPackets]heldPacket
	next   int                                  // the ring slot the next packet goes to
	served map[*webrtc.TrackLocalStaticRTP]bool // subscriber tracks given the held packets
}

type heldPacket struct {
	at  time.Time
	buf []byte // the marshaled packet as forwarded
}

// noteHeld keeps a copy of an audio packet about to be forwarded, while
// the hold is open. It runs on the publisher's forwarding goroutine.
func (p *peer) noteHeld(pkt *rtp.Packet, video bool) {
	if video || p.held.closed.Load() {
		return
	}
	p.held.note(pkt)
}

func (h *heldAudio) note(pkt *rtp.Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.ring[h.next]
	n := pkt.MarshalSize()
	if cap(s.buf) < n {
		s.buf = make([]byte, n, readBufferSize)
	}
	s.buf = s.buf[:n]
	if _, err := pkt.MarshalTo(s.buf); err != nil {
		s.buf, s.at = s.buf[:0], time.Time{}
		return
	}
	s.at = time.Now()
	h.next = (h.next + 1) % heldPackets
}

// flushLocked writes the held packets (oldest first, none older than
// heldMaxAge) to each subscriber track in dests whose peer is writable and
// that was not served yet, and closes the hold once every track of a
// non-empty fanout is served. dests pairs each track of the publisher's
// audio fanout with its subscriber.
func (h *heldAudio) flushLocked(dests []heldDest, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.served == nil {
		h.served = map[*webrtc.TrackLocalStaticRTP]bool{}
	}
	all := len(dests) > 0
	keep := make(map[*webrtc.TrackLocalStaticRTP]bool, len(dests))
	for _, d := range dests {
		keep[d.track] = true
		if h.served[d.track] {
			continue
		}
		if !d.peer.held.writable.Load() {
			all = false
			continue
		}
		for i := range heldPackets {
			s := &h.ring[(h.next+i)%heldPackets]
			if len(s.buf) == 0 || now.Sub(s.at) > heldMaxAge {
				continue
			}
			_, _ = d.track.Write(s.buf) // errors are a closing destination
		}
		h.served[d.track] = true
	}
	for t := range h.served {
		if !keep[t] {
			delete(h.served, t)
		}
	}
	h.closed.Store(all)
}

// heldDest is one subscriber of a publisher's audio.
type heldDest struct {
	track *webrtc.TrackLocalStaticRTP
	peer  *peer
}

// releaseHeldLocked gives every subscriber in r that is writable the held
// packets of each publisher whose fanout it is in. It runs (under s.mu)
// after a fanout rebuild and when a subscriber's transport comes up.
func (s *SFU) releaseHeldLocked(r *room) {
	now := time.Now()
	for _, src := range r.peers {
		f := src.fan.Load()
		if src.closing {
			continue
		}
		var dests []heldDest
		if f != nil {
			for _, d := range r.peers {
				t := d.out[src.userID]
				if t == nil || d == src || d.closing || !inFanout(f.audio, t.audio) {
					continue
				}
				dests = append(dests, heldDest{track: t.audio, peer: d})
			}
		}
		src.held.flushLocked(dests, now)
	}
}

func inFanout(ts []*webrtc.TrackLocalStaticRTP, t *webrtc.TrackLocalStaticRTP) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// heldTransportUp marks p's senders writable and gives p the held packets.
// It runs in pion's connection-state goroutine on "connected": that state
// is announced from inside the DTLS transport's lock, before SRTP has
// started; reading the transport's state waits for that lock, so after it
// a write is no longer dropped for want of SRTP.
func (p *peer) heldTransportUp() {
	if p.pc != nil {
		_ = p.pc.SCTP().Transport().State()
	}
	p.held.writable.Store(true)
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if !p.closing {
		p.s.releaseHeldLocked(p.room)
	}
}
