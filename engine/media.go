package engine

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/protocol"
)

// Media. Each call this device takes part in has one WebRTC PeerConnection
// to the server's SFU (protocol/media.go). The server makes every offer;
// the engine answers, sends its microphone on one Opus track and receives
// one track per other participant, whose stream ID is that user's ID.
//
// The engine moves encoded Opus only: audio devices, encoding, jitter
// buffering and decoding live outside it, behind AudioSource and AudioSink.
//
// Goroutines, per call: one that applies the server's media signals in
// order (so the read loop never waits on WebRTC), one that sends the
// microphone, one that reports volume and network quality, one reading RTCP
// about the uplink, and one per received track (pion's). A call's goroutines
// end when its media is closed: on the server's "close", on the call's end
// (CallEnd, CallCancelled, KickedOffline), when the run ends (logout,
// Destroy, a connection that could not be restored), or when the engine has
// had no current call of that ID for mediaOrphanTimeout.

// AudioSource gives the engine encoded audio to send: one Opus frame of
// 20 ms per call, paced by the source (it blocks until the frame is due).
// level is the frame's loudness 0..100 (for the local UserVoiceVolumeChanged
// and the RFC 6464 audio-level header extension, see levelToDBov).
//
// The engine calls ReadOpusFrame only while it sends: in a connected call
// with the microphone open. A live capture source should drop frames nobody
// reads rather than queue them. io.EOF ends the source (a file played to
// its end): the engine stops reading it until SetAudio sets a source again.
type AudioSource interface {
	ReadOpusFrame(ctx context.Context) (frame []byte, level int, err error)
}

// AudioSink receives each remote user's RTP audio packets (Opus payload),
// from the engine's track goroutine for that user; it owns jitter buffering
// and decoding. The packet is the sink's to keep. RemoveUser is called when
// the user's track ends (the user left, or the call's media closed).
type AudioSink interface {
	WriteRTP(userID string, pkt *rtp.Packet)
	RemoveUser(userID string)
}

type audioIO struct {
	src  AudioSource
	sink AudioSink
}

// mediaMgr is the engine's media state; its zero value is ready.
// Lock order: Engine.mu, then mediaMgr.mu, then mediaCall.mu; media code
// never takes Engine.mu while holding one of the others.
type mediaMgr struct {
	audio  atomic.Pointer[audioIO]
	micOff atomic.Bool // the microphone is open by default
	// srcMu serializes reading the audio source and sending what was read:
	// the media of a call that just ended may still be sending when the
	// next call's starts, and a source (an Opus encoder, a frame buffer
	// valid until the next read) must not be read by both at once.
	srcMu sync.Mutex
	video videoMgr // video.go

	aiMu    sync.Mutex // aivoice.go: guards aiVoice
	aiVoice bool

	net  transport.Net // --- test: vnet --- Options.Net; nil: the host's network
	gate recvGate      // recvgate.go

	mu      sync.Mutex
	api     *webrtc.API
	calls   map[string]*mediaCall
	changed chan struct{} // closed and replaced when sending may start or stop
	wg      sync.WaitGroup
}

// SetAudio sets where the engine takes the audio it sends and where it
// puts the audio it receives; nil for none. It may be called before or
// during a call; a sink replaced during a call is not told RemoveUser.
func (e *Engine) SetAudio(src AudioSource, sink AudioSink) {
	e.media.storeAudio(&audioIO{src: src, sink: sink}) // aivoice.go
	e.media.notify()
	e.media.mu.Lock()
	for _, c := range e.media.calls {
		c.poke() // report the (maybe changed) audio availability
	}
	e.media.mu.Unlock()
}

// OpenMicrophone starts sending the audio source's frames (the microphone
// is open by default). The others in the call get UserAudioAvailable(me,
// true) if there is a source.
func (e *Engine) OpenMicrophone(ctx context.Context) error {
	e.media.micOff.Store(false)
	e.media.notify()
	return e.reportMediaState(ctx)
}

// CloseMicrophone stops sending audio (nothing is sent, not even silence);
// the others get UserAudioAvailable(me, false).
func (e *Engine) CloseMicrophone(ctx context.Context) error {
	e.media.micOff.Store(true)
	e.media.notify()
	return e.reportMediaState(ctx)
}

// IsMicrophoneOpen says whether the microphone is open (not muted by
// CloseMicrophone).
func (e *Engine) IsMicrophoneOpen() bool { return !e.media.micOff.Load() }

// audioAvailable says whether this device sends audio when connected.
func (m *mediaMgr) audioAvailable() bool {
	a := m.audio.Load()
	return !m.micOff.Load() && a != nil && a.src != nil
}

func (m *mediaMgr) sink() AudioSink {
	if a := m.audio.Load(); a != nil {
		return a.sink
	}
	return nil
}

// notify wakes the senders so that they re-check whether to send.
func (m *mediaMgr) notify() {
	m.mu.Lock()
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
	m.mu.Unlock()
}

// changes returns a channel closed at the next notify.
func (m *mediaMgr) changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}

// reportMediaState tells the server this device's audio availability in
// every call with negotiated media.
func (e *Engine) reportMediaState(ctx context.Context) error {
	e.media.mu.Lock()
	calls := make([]*mediaCall, 0, len(e.media.calls))
	for _, c := range e.media.calls {
		calls = append(calls, c)
	}
	e.media.mu.Unlock()
	var first error
	for _, c := range calls {
		if err := c.reportState(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// handleMediaMessage takes a "media" frame from the read loop.
func (e *Engine) handleMediaMessage(m *protocol.Message) {
	var sig protocol.MediaSignal
	if err := unmarshalJSON(m.Data, &sig); err != nil {
		e.log.Warn("bad media signal from server", "err", err)
		return
	}
	e.handleMedia(&sig)
}

// handleMedia applies a media signal from the server. It runs on the read
// goroutine and never blocks: a call's signals are queued to its goroutine.
func (e *Engine) handleMedia(sig *protocol.MediaSignal) {
	switch sig.Kind {
	case protocol.MediaOffer, protocol.MediaCandidate:
		if err := protocol.ValidateCallID(sig.CallID); err != nil {
			e.log.Warn("media signal with a bad call ID", "err", err)
			return
		}
		me := e.UserID() // before m.mu: the lock order is e.mu, then m.mu
		m := &e.media
		m.mu.Lock()
		defer m.mu.Unlock()
		c := m.calls[sig.CallID]
		if c == nil {
			if sig.Kind != protocol.MediaOffer {
				return // a late candidate for closed media
			}
			if m.calls == nil {
				m.calls = make(map[string]*mediaCall)
			}
			c = newMediaCall(e, sig.CallID, me)
			m.calls[sig.CallID] = c
			m.wg.Add(1)
			go c.run()
		}
		c.enqueue(*sig)
	case protocol.MediaClose:
		e.closeMedia(sig.CallID)
	case protocol.MediaState:
		// Others' states arrive as onUserAudioAvailable/onUserVideoAvailable events.
	default:
		e.log.Debug("unknown media signal", "kind", sig.Kind)
	}
}

// mediaOnEvent lets media follow the call state. Called with e.mu held,
// from handleEvent; it never blocks.
func (e *Engine) mediaOnEvent(ev Event) {
	switch ev := ev.(type) {
	case CallBegin:
		e.media.notify()
	case CallEnd:
		e.closeMedia(ev.CallID)
	case CallCancelled:
		e.closeMedia(ev.CallID)
	case KickedOffline:
		e.media.mu.Lock()
		for id := range e.media.calls {
			e.closeMediaLocked(id)
		}
		e.media.mu.Unlock()
	}
}

// closeMedia starts closing a call's media; it does not wait.
func (e *Engine) closeMedia(callID string) {
	e.media.mu.Lock()
	e.closeMediaLocked(callID)
	e.media.mu.Unlock()
}

func (e *Engine) closeMediaLocked(callID string) {
	if c := e.media.calls[callID]; c != nil {
		delete(e.media.calls, callID)
		c.cancel()
	}
}

// closeAllMedia closes every call's media and waits for its goroutines.
func (e *Engine) closeAllMedia() {
	e.media.mu.Lock()
	for id := range e.media.calls {
		e.closeMediaLocked(id)
	}
	e.media.mu.Unlock()
	e.media.wg.Wait()
}

// detachMedia forgets a call's media if it is still c (the call's own
// goroutine gave up on it).
func (m *mediaMgr) detach(c *mediaCall) {
	m.mu.Lock()
	if m.calls[c.id] == c {
		delete(m.calls, c.id)
	}
	m.mu.Unlock()
}

// webrtcAPI returns the engine's WebRTC API, made on first use.
func (m *mediaMgr) webrtcAPI() (*webrtc.API, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.api == nil {
		api, err := newMediaAPI(m.net, &m.gate, m.gatedReads)
		if err != nil {
			return nil, err
		}
		m.api = api
	}
	return m.api, nil
}

// gatedReads says whether a PeerConnection made now reads its sockets on
// the send clock (recvgate.go): nothing received is played (no audio
// sink) and there is no video.
func (m *mediaMgr) gatedReads() bool {
	if m.sink() != nil {
		return false
	}
	v := m.video.io.Load()
	return v == nil || (v.src == nil && v.sink == nil)
}
