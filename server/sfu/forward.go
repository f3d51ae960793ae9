package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const readBufferSize = 1500 // > pion's receive MTU (1460)

// onTrack runs in pion's goroutine for each uplink track of the device and
// forwards its packets until the PeerConnection closes.
func (p *peer) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if !p.readers.add() {
		return
	}
	defer p.readers.done()
	// Sender reports from the device feed the RTCP report interceptor.
	if p.readers.add() {
		go func() {
			defer p.readers.done()
			drain(rcv.Read)
		}()
	}

	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	var levelID uint8
	if video {
		p.videoSSRC.Store(uint32(tr.SSRC()))
		if f := p.fan.Load(); f != nil && len(f.video) > 0 {
			p.requestKeyframe()
		}
	} else {
		for _, e := range rcv.GetParameters().HeaderExtensions {
			if e.URI == AudioLevelURI && e.ID > 0 && e.ID < 15 {
				levelID = uint8(e.ID)
			}
		}
	}
	p.s.log.Debug("uplink track", append(p.logger(), "kind", tr.Kind().String(), "ssrc", uint32(tr.SSRC()))...)
	p.forward(tr, video, levelID)
}

// forward is the hot path: one read, one unmarshal into a reused packet,
// one atomic load of the destinations, one write per destination.
func (p *peer) forward(tr *webrtc.TrackRemote, video bool, levelID uint8) {
	buf := make([]byte, readBufferSize)
	var pkt rtp.Packet
	var gaps seqGaps
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		p.pktIn.Add(1)
		if lost := gaps.next(pkt.SequenceNumber); lost > 0 {
			p.lost.Add(uint64(lost))
		}
		if pkt.Extension {
			keepOnlyAudioLevel(&pkt.Header, levelID)
		}
		p.noteHeld(&pkt, video) // --- ans: held packets ---
		var dests []*webrtc.TrackLocalStaticRTP
		if f := p.fan.Load(); f != nil {
			if video {
				dests = f.video
			} else {
				dests = f.audio
			}
		}
		if len(dests) == 0 {
			p.dropped.Add(1)
			continue
		}
		for _, t := range dests {
			_ = t.WriteRTP(&pkt) // errors are a closing destination
		}
		p.pktFwd.Add(uint64(len(dests)))
		p.bytesFwd.Add(uint64(n * len(dests)))
	}
}

// seqGaps counts the RTP packets an uplink lost on its way to the SFU, from
// gaps in the sequence numbers: a packet k numbers ahead of the highest seen
// means k-1 missing. A packet behind the highest (reordered, or a
// retransmission) counts nothing, so a reordered packet was counted as lost
// when the gap opened: the figure is an upper bound of what the uplink lost,
// exact when nothing is reordered. A jump of maxGap or more (a source that
// restarted its numbering) resets the count. Only the reading goroutine
// uses it: plain integers, no lock.
type seqGaps struct {
	started bool
	highest uint16
}

const maxGap = 1000

func (g *seqGaps) next(seq uint16) int {
	if !g.started {
		g.started, g.highest = true, seq
		return 0
	}
	d := seq - g.highest // modulo 2^16
	if d == 0 || d >= 0x8000 {
		return 0 // duplicate, or behind the highest
	}
	g.highest = seq
	if d >= maxGap {
		return 0
	}
	return int(d) - 1
}

// keepOnlyAudioLevel drops every header extension but the audio level
// (levelID on the uplink, 0 if not negotiated), which it renumbers to
// AudioLevelExtensionID: the others (mid, transport-cc sequence numbers,
// ...) belong to the uplink leg. It does not allocate.
func keepOnlyAudioLevel(h *rtp.Header, levelID uint8) {
	var level []byte
	if levelID != 0 {
		level = h.GetExtension(levelID)
	}
	if level != nil && levelID == AudioLevelExtensionID && len(h.Extensions) == 1 {
		return
	}
	h.Extensions = h.Extensions[:0]
	h.Extension = false
	h.ExtensionProfile = 0
	if level != nil {
		_ = h.SetExtension(AudioLevelExtensionID, level)
	}
}

// readSenderRTCP reads the RTCP a destination sends about one of its
// inbound tracks (so that the NACK responder and report interceptors see
// it) and passes picture-loss requests on to the source.
func (p *peer) readSenderRTCP(snd *webrtc.RTPSender, srcUser string, video bool) {
	defer p.readers.done()
	if !video {
		drain(snd.Read)
		return
	}
	buf := make([]byte, readBufferSize)
	for {
		n, _, err := snd.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.s.keyframeFor(p.room, srcUser)
			}
		}
	}
}

func drain(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, readBufferSize)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}
