package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/protocol"
)

// client is one load-test user: one WebSocket with termcall's signaling
// protocol and one PeerConnection to the SFU per call. It decodes nothing:
// it sends the pre-encoded frames and counts what arrives.
type client struct {
	w      *worker
	userID string
	ws     *websocket.Conn

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *protocol.Message
	onEvent func(*protocol.Event) // runs on the read goroutine
	call    *call

	sigs chan protocol.MediaSignal // offers for the media goroutine

	// Media (the media goroutine, then read-only).
	pc     *webrtc.PeerConnection
	audio  atomic.Pointer[webrtc.TrackLocalStaticRTP]
	video  atomic.Pointer[webrtc.TrackLocalStaticRTP]
	firsts atomic.Int32 // inbound tracks that got their first packet

	sending atomic.Bool // the call is connected: the sender loop sends
	aPkt    rtp.Packet  // sender loop only
	vPack   rtp.Packetizer
	frame   int
	next    int // the next audio frame's number on the sender loop's clock; -1: not sending
	sent    atomic.Uint64

	smu     sync.Mutex
	streams []*stream // one per inbound track

	done chan struct{}
}

// newAPI is the generator's WebRTC API: Opus and VP8 as termcall offers
// them, and no interceptors at all (no NACK, reports, TWCC or stats:
// nothing per packet beyond SRTP), so that the generator stays light.
func newAPI(loopback bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: audioClockRate, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: videoClockRate},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(loopback)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableSRTPReplayProtection(true)
	se.DisableSRTCPReplayProtection(true)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(se)), nil
}

// dial connects and logs in.
func (w *worker) dial(ctx context.Context, userID, sig string, onEvent func(*protocol.Event)) (*client, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, w.wsURL, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled, HTTPClient: w.hc})
	if err != nil {
		return nil, fmt.Errorf("%s: connect: %w", userID, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{
		w: w, userID: userID, ws: ws, onEvent: onEvent,
		pending: map[uint64]chan *protocol.Message{},
		sigs:    make(chan protocol.MediaSignal, 16),
		done:    make(chan struct{}),
		next:    -1,
	}
	go c.readLoop()
	go c.mediaLoop()
	var rep protocol.LoginReply
	err = c.request(ctx, protocol.TypeLogin, protocol.LoginRequest{
		Version: protocol.Version, SDKAppID: w.o.SDKAppID, UserID: userID, UserSig: sig,
		DeviceID: "lt-" + userID,
	}, &rep)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("%s: login: %w", userID, err)
	}
	return c, nil
}

var errClosed = errors.New("connection closed")

// request sends a request and waits for its reply.
func (c *client) request(ctx context.Context, typ string, data, out any) error {
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return errClosed
	}
	c.nextID++
	id := c.nextID
	ch := make(chan *protocol.Message, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}()
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return errClosed
		}
		if m.Error != nil {
			return m.Error
		}
		if out != nil {
			return json.Unmarshal(m.Data, out)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *client) readLoop() {
	defer func() {
		c.mu.Lock()
		for _, ch := range c.pending {
			close(ch)
		}
		c.pending = nil
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		if m, err := protocol.Decode(b); err == nil {
			c.dispatch(m)
		}
	}
}

// dispatch hands a message to its reader: a reply to its request, an
// event to the handler, a media signal to mediaLoop.
func (c *client) dispatch(m *protocol.Message) {
	switch m.Type {
	case protocol.TypeReply:
		c.mu.Lock()
		ch := c.pending[m.ID]
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case protocol.TypeEvent:
		var ev protocol.Event
		c.mu.Lock()
		h := c.onEvent
		c.mu.Unlock()
		if json.Unmarshal(m.Data, &ev) == nil && h != nil {
			h(&ev)
		}
	case protocol.TypeMedia:
		var sig protocol.MediaSignal
		if json.Unmarshal(m.Data, &sig) == nil {
			select {
			case c.sigs <- sig:
			case <-c.done:
			}
		}
	}
}

// mediaLoop applies the SFU's offers, one at a time.
func (c *client) mediaLoop() {
	for {
		select {
		case <-c.done:
			if c.pc != nil {
				_ = c.pc.Close()
			}
			return
		case sig := <-c.sigs:
			switch sig.Kind {
			case protocol.MediaOffer:
				if err := c.applyOffer(sig); err != nil {
					c.w.warn(fmt.Errorf("%s: offer: %w", c.userID, err))
				}
			case protocol.MediaCandidate:
				var ci webrtc.ICECandidateInit
				if c.pc != nil && json.Unmarshal([]byte(sig.Candidate), &ci) == nil {
					_ = c.pc.AddICECandidate(ci)
				}
			case protocol.MediaClose:
				c.sending.Store(false)
			}
		}
	}
}

func (c *client) applyOffer(sig protocol.MediaSignal) error {
	if c.pc == nil {
		pc, err := c.w.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return err
		}
		c.pc = pc
		pc.OnTrack(c.onTrack)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.SDP}); err != nil {
		return err
	}
	if err := c.addTracks(); err != nil {
		return err
	}
	return c.answer(sig.CallID)
}

// addTracks adds the tracks this client sends, once: Opus with Audio, VP8
// with Video.
func (c *client) addTracks() error {
	if c.audio.Load() == nil && c.w.o.Audio {
		t, err := c.addTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: audioClockRate, Channels: 2}, "audio")
		if err != nil {
			return err
		}
		c.audio.Store(t)
	}
	if c.video.Load() == nil && c.w.o.Video {
		t, err := c.addTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: videoClockRate}, "video")
		if err != nil {
			return err
		}
		c.vPack = rtp.NewPacketizer(rtpMTU, 96, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), videoClockRate)
		c.video.Store(t)
	}
	return nil
}

// addTrack adds a local track of codec cp (stream ID: the user) and
// drains its sender's RTCP.
func (c *client) addTrack(cp webrtc.RTPCodecCapability, id string) (*webrtc.TrackLocalStaticRTP, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(cp, id, c.userID)
	if err != nil {
		return nil, err
	}
	snd, err := c.pc.AddTrack(t)
	if err != nil {
		return nil, err
	}
	go drainRTCP(snd)
	return t, nil
}

// answer sends the answer to the SFU's offer once ICE gathering is
// complete (or after 10 s).
func (c *client) answer(callID string) error {
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
	case <-c.done:
		return errClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return c.request(ctx, protocol.TypeMedia, protocol.MediaSignal{Kind: protocol.MediaAnswer, CallID: callID, SDP: c.pc.LocalDescription().SDP}, nil)
}

func drainRTCP(snd *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := snd.Read(buf); err != nil {
			return
		}
	}
}

// onTrack counts one inbound track's packets until it ends.
func (c *client) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	go drainReceiverRTCP(rcv)
	clock := uint32(audioClockRate)
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		clock = videoClockRate
	}
	st := &stream{video: clock == videoClockRate, clock: float64(clock)}
	c.smu.Lock()
	c.streams = append(c.streams, st)
	c.smu.Unlock()
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		seq := uint16(buf[2])<<8 | uint16(buf[3])
		ts := uint32(buf[4])<<24 | uint32(buf[5])<<16 | uint32(buf[6])<<8 | uint32(buf[7])
		if st.add(seq, ts, time.Now()) {
			c.w.gotFirstPacket(c)
		}
	}
}

func drainReceiverRTCP(rcv *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := rcv.Read(buf); err != nil {
			return
		}
	}
}

// sendAudio sends the Opus frames due by frame number due (sender loop
// only): on time, it is one; after a stall of the sender loop it catches
// up by at most maxCatchUp frames and skips the rest (their RTP time
// passes, as a real sender's clock would).
func (c *client) sendAudio(due int) {
	t := c.audio.Load()
	if t == nil || !c.sending.Load() {
		c.next = -1
		return
	}
	const maxCatchUp = 3
	if c.next < 0 {
		c.next = due
	} else if c.next < due-maxCatchUp {
		c.aPkt.Timestamp += uint32(due-maxCatchUp-c.next) * audioFrameTicks
		c.next = due - maxCatchUp
	}
	for ; c.next <= due; c.next++ {
		f := opusFrames[c.frame%len(opusFrames)]
		c.frame++
		p := &c.aPkt
		p.Version = 2
		p.PayloadType = 111
		p.SequenceNumber++
		p.Timestamp += audioFrameTicks
		p.Payload = f
		if t.WriteRTP(p) == nil {
			c.sent.Add(1)
		}
	}
}

// sendVideo sends the next VP8 frame, packetized (sender loop only).
func (c *client) sendVideo(i int) {
	t := c.video.Load()
	if t == nil || !c.sending.Load() {
		return
	}
	f := vp8Frames[i%len(vp8Frames)]
	for _, p := range c.vPack.Packetize(f, videoClockRate/videoFPS) {
		if t.WriteRTP(p) == nil {
			c.sent.Add(1)
		}
	}
}

func (c *client) close() {
	c.sending.Store(false)
	_ = c.ws.Close(websocket.StatusNormalClosure, "load test done")
	<-c.done
}

// httpClient returns the client for WebSocket handshakes and admin calls.
func httpClient(o *Options) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	if o.TLSConfig != nil {
		tr.TLSClientConfig = o.TLSConfig.Clone()
	}
	return &http.Client{Transport: tr} // bounded by each request's context
}
