package engine

import (
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// Codecs and header extensions of termcall's media, the same on both ends.
const (
	opusPayloadType = 111
	vp8PayloadType  = 96
	audioLevelURI   = "urn:ietf:params:rtp-hdrext:ssrc-audio-level" // RFC 6464
	opusClockRate   = 48000
	opusFrameTicks  = opusClockRate / 50 // 20 ms
)

var opusCapability = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: opusClockRate, Channels: 2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// newMediaAPI builds the WebRTC API an engine makes its PeerConnections
// with: Opus (PT 111, in-band FEC) and VP8 (PT 96, NACK/PLI/FIR/TWCC
// feedback); the RFC 6464 audio-level header extension; NACK generator
// and responder, RTCP sender and receiver reports; and uplink
// congestion control (bwe.go): the transport-cc sequence numbers on what
// it sends, and a GCC estimator per PeerConnection fed by the server's
// TWCC feedback.
//
// ICE: UDP over IPv4 only, no mDNS. Loopback candidates are included:
// pion drops them by default, and when the server runs on the same host
// and listens on 127.0.0.1 (termcall demo, tests, a box without another
// interface) the loopback pair is the only one that can connect. nw, if
// not nil, is the network to run on instead of the host's (Options.Net).
//
// Otherwise the sockets of a PeerConnection made while gated() holds are
// read on the send clock of gate (recvgate.go).
func newMediaAPI(nw transport.Net, gate *recvGate, gated func() bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: opusCapability, PayloadType: opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
				{Type: webrtc.TypeRTCPFBTransportCC},
			},
		},
		PayloadType: vp8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// NACK for audio too: on a lossy link the SFU resends what a quick
	// NACK (sent as soon as a gap shows) asks for, often before the jitter
	// buffer needs it; FEC and PLC cover the rest.
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeAudio)
	reg := &interceptor.Registry{}
	// A chain's later interceptors wrap the earlier ones' writers: the
	// estimator comes first, so that it sees every packet (retransmissions
	// included) as it leaves, numbered by the header extension interceptor
	// (the transport-cc extension and feedback themselves are registered
	// for audio and video by the defaults below).
	ccf, err := cc.NewInterceptor(newUplinkEstimator)
	if err != nil {
		return nil, err
	}
	ccf.OnNewPeerConnection(registerUplinkEstimator)
	reg.Add(ccf)
	twccExt, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(twccExt)
	// pion's default interceptors, less two that cost a wake-up or a lock
	// per packet and serve nobody here: the stats interceptor (the engine
	// keeps its own figures, media_stats.go) and the TWCC feedback
	// generator (the server strips the transport-cc numbers off what it
	// forwards and runs no estimator on the downlink, so there is nothing
	// to acknowledge). transport-cc stays negotiated both ways: the server
	// acknowledges what this device sends (bwe.go).
	// NACK: pion's responder (it resends what the server asks for) and the
	// engine's own generator (nack.go: it asks on a gap, with no ticker).
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	responder, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(responder)
	reg.Add(nackGeneratorFactory{})
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, err
		}
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	switch {
	case nw != nil:
		se.SetNet(nw)
	case gate != nil:
		n, err := newGatedNet(gate, gated)
		if err != nil {
			return nil, err
		}
		if n != nil {
			se.SetNet(n)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// headerExtensionID finds a negotiated header extension's ID; 0 if absent.
func headerExtensionID(exts []webrtc.RTPHeaderExtensionParameter, uri string) uint8 {
	for _, x := range exts {
		if x.URI == uri && x.ID > 0 && x.ID < 256 {
			return uint8(x.ID)
		}
	}
	return 0
}
