package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Interceptor sizes. The NACK responder keeps this many packets per
// outbound stream for retransmission (pion's default is 1024: 20 s of
// audio, which costs memory per peer and buys nothing — a retransmission
// older than a jitter buffer is useless); 256 is 5 s of audio or about a
// second of 640x360 video.
const nackResponderSize = 256

// registerInterceptors sets up what each leg needs, and only that:
//
//   - NACK: a generator asking devices for lost packets (audio included;
//     our own, nack.go, which works only when a packet is missing), and
//     pion's responder resending from the outbound streams;
//   - RTCP sender and receiver reports;
//   - TWCC feedback on what devices send (their congestion control uses it);
//   - the mid/rid header extensions pion's defaults register.
//
// pion's defaults add a stats interceptor too, which records every packet
// in both directions under a lock; the SFU reads no WebRTC stats (its
// counters are its own), so it is left out. And headerFactory (first) and
// attrsFactory (last) let the inbound interceptors share one parse of each
// RTP header into a reused struct.
func registerInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	ir.Add(headerFactory{}) // innermost: see below
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackResponderSize))
	if err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(responder)
	ir.Add(nackFactory{}) // nack.go: pion's generator ticks every 20 ms per PeerConnection
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		return err
	}
	ir.Add(attrsFactory{})
	return nil
}

// attrsFactory makes the outermost interceptor of every inbound stream. A
// TrackRemote read hands the chain no Attributes map, so each interceptor
// that needs the RTP header (reports, NACK generator, TWCC) parses it
// again and allocates a new one; with a map, the first one parses it and
// the others find it there. The map is the stream's own, cleared per
// packet: a stream is read by one goroutine, and nothing keeps the map
// after the read.
type attrsFactory struct{}

func (attrsFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &attrsInterceptor{}, nil
}

type attrsInterceptor struct{ interceptor.NoOp }

func (*attrsInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	attrs := interceptor.Attributes{}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if a == nil {
			clear(attrs)
			a = attrs
		}
		return r.Read(b, a)
	})
}

// rtpHeaderKey is the interceptor package's (unexported) Attributes key
// for a parsed RTP header, found once by letting it cache one; nil if
// that ever fails, and then headerInterceptor does nothing.
var rtpHeaderKey = func() any {
	a := interceptor.Attributes{}
	raw := []byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}
	if _, err := a.GetRTPHeader(raw); err != nil || len(a) != 1 {
		return nil
	}
	for k := range a {
		return k
	}
	return nil
}()

// headerFactory makes the innermost interceptor of every inbound stream:
// it parses each packet's RTP header into the stream's own reused
// rtp.Header and puts it in the Attributes (which attrsInterceptor
// provides), so that the interceptors after it find it there and none
// allocates one per packet.
type headerFactory struct{}

func (headerFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &headerInterceptor{}, nil
}

type headerInterceptor struct{ interceptor.NoOp }

func (*headerInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if rtpHeaderKey == nil {
		return r
	}
	var h rtp.Header
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil || a == nil {
			return n, a, err
		}
		if _, perr := h.Unmarshal(b[:n]); perr == nil {
			a[rtpHeaderKey] = &h
		}
		return n, a, err
	})
}
