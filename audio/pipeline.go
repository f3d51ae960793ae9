package audio

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// This file joins the pieces into the two halves of a call's audio, in
// the shape the engine expects (engine.AudioSource / engine.AudioSink,
// matched structurally: audio does not import engine).

// Uplink turns microphone or Source audio into 20 ms Opus frames:
// capture -> echo cancellation / noise suppression -> AI voice (RNNoise,
// when enabled) -> level -> Opus.
// ReadOpusFrame blocks until the next frame is due.
type Uplink struct {
	enc    *Encoder
	pkt    []byte
	frame  []int16
	clean  []int16
	far    []int16
	src    Source       // file/tone mode (paced by pacer)
	pacer  *Pacer       // file/tone mode
	frames chan []int16 // capture mode
	dev    *Device
	aec    *EchoCanceller
	down   *Downlink                   // far-end reference for the echo canceller
	tapAEC func(mic, far, out []int16) // tests: each frame, its reference, the result
	farOK  bool                        // far holds the frame's device-time reference
	a3r    aec3Render                  // AEC3's render stream (aec_aec3.go)
	capPos int64                       // samples captured (capture goroutine)
	capDev atomic.Pointer[Device]      // dev, for the capture goroutine
	ai     AIVoice                     // EnableAIVoice
	pool   sync.Pool

	// Source mode: sourceBatchFrames frames are read and encoded at once
	// (opusbatch.go) and then sent one per tick.
	batch   *batchEncoder
	ahead   []int16 // the batch's PCM
	packets []byte  // the batch's packets, MaxPacketSize apart
	lens    []int   // their lengths
	levels  []int   // their levels
	next    int     // the next packet to send
	srcErr  error   // the source's error after the batch, if any
	batchN  int     // frames in the last batch (0: none yet)
}

// sourceBatchFrames: frames a source uplink reads and encodes ahead (a file
// or a tone is not live: reading it ahead delays nothing).
const sourceBatchFrames = 25

// NewSourceUplink encodes src, paced in real time (one frame per 20 ms).
func NewSourceUplink(src Source) (*Uplink, error) {
	u, err := newUplink()
	if err != nil {
		return nil, err
	}
	u.src, u.pacer = src, NewPacer(FrameDuration*time.Millisecond)
	if u.batch, err = newBatchEncoder(); err != nil {
		return nil, err
	}
	u.ahead = make([]int16, sourceBatchFrames*FrameSamples)
	u.packets = make([]byte, sourceBatchFrames*MaxPacketSize)
	return u, nil
}

// SetComplexity sets the encoder's CPU/quality trade-off (0-10).
func (u *Uplink) SetComplexity(c int) error {
	if u.batch != nil {
		if err := u.batch.setComplexity(c); err != nil {
			return err
		}
	}
	return u.enc.SetComplexity(c)
}

// Complexity returns the encoder's CPU/quality trade-off (0-10).
func (u *Uplink) Complexity() (int, error) {
	if u.batch != nil {
		return u.batch.complexity()
	}
	return u.enc.Complexity()
}

// readAhead reads and encodes the next batch of the source; it fails only
// when the source gives nothing (its error is kept for after the batch).
func (u *Uplink) readAhead() error {
	if u.srcErr != nil {
		return u.srcErr
	}
	u.next = 0
	u.lens, u.levels = u.lens[:0], u.levels[:0]
	// The first batch is one frame, so that it goes out at once; then
	// they double up to sourceBatchFrames. A batch is encoded after the
	// pacer's wait, when its first frame is due: 25 frames at once made the
	// second packet of a call 20-40 ms late on a busy machine (and encoded
	// before the wait they took the CPU just as the other side's first
	// packets arrive).
	frames, batch := 0, min(sourceBatchFrames, max(1, 2*u.batchN))
	u.batchN = batch
	if u.ai.Enabled() {
		// RNNoise costs more than the encoder per frame: 25 frames of it at once
		// would hold the sender back long enough to send the next frames
		// in a burst (bursts the far end's jitter buffer conceals); and
		// turning it on or off takes effect at the next frame.
		batch = 1
	}
	for frames < batch {
		pcm := u.ahead[frames*FrameSamples : (frames+1)*FrameSamples]
		if err := u.src.ReadFrame(pcm); err != nil {
			u.srcErr = err
			break
		}
		u.ai.Process(pcm)
		u.levels = append(u.levels, Level(pcm))
		frames++
	}
	if frames == 0 {
		return u.srcErr
	}
	lens, err := u.batch.encode(u.ahead[:frames*FrameSamples], u.packets)
	if err != nil {
		u.levels = u.levels[:0]
		return err
	}
	for _, n := range lens {
		u.lens = append(u.lens, int(n))
	}
	return nil
}

// NewCaptureUplink captures from the device named name (see
// OpenCapture). With down non-nil, echo of what down plays is cancelled
// (DefaultEchoCanceller, see aec.go and aec_webrtc.go; the reference is what the playback device
// played, when it has Downlink.Played as its tap) and noise suppressed. Frames
// nobody reads are dropped (at most 60 ms are queued). Close releases
// the device.
func NewCaptureUplink(name string, down *Downlink) (*Uplink, error) {
	return newCaptureUplink(name, down, "")
}

// newCaptureUplink is NewCaptureUplinkWith (aec_webrtc.go).
func newCaptureUplink(name string, down *Downlink, canceller string) (*Uplink, error) {
	u, err := newUplink()
	if err != nil {
		return nil, err
	}
	u.frames = make(chan []int16, 3)
	u.pool.New = func() any { return make([]int16, capturedLen) } // aec.go: the frame and its reference
	if down != nil {
		if u.aec, err = newEchoCanceller(canceller); err != nil {
			return nil, err
		}
		u.down = down
	}
	u.dev, err = OpenCapture(name, func(pcm []int16) {
		f := u.pool.Get().([]int16)
		copy(f, pcm)
		u.pairReference(f) // aec.go
		for {
			select {
			case u.frames <- f:
				return
			default: // full: drop the oldest
				select {
				case old := <-u.frames:
					u.pool.Put(old)
				default:
				}
			}
		}
	})
	if err != nil {
		if u.aec != nil {
			u.aec.Close()
		}
		return nil, err
	}
	u.capDev.Store(u.dev)
	return u, nil
}

func newUplink() (*Uplink, error) {
	enc, err := NewEncoder()
	if err != nil {
		return nil, err
	}
	return &Uplink{enc: enc, pkt: make([]byte, MaxPacketSize),
		frame: make([]int16, FrameSamples), clean: make([]int16, FrameSamples),
		far: make([]int16, FrameSamples)}, nil
}

// Encoder gives access to the encoder (bitrate, expected loss).
func (u *Uplink) Encoder() *Encoder { return u.enc }

// Device is the capture device (nil for a source uplink).
func (u *Uplink) Device() *Device { return u.dev }

// ReadOpusFrame returns the next encoded 20 ms frame (valid until the
// next call) and its level 0..100. A finite source ends with io.EOF.
func (u *Uplink) ReadOpusFrame(ctx context.Context) ([]byte, int, error) {
	pcm := u.frame
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if u.src != nil {
		u.pacer.Wait()
		if u.next >= len(u.lens) {
			if err := u.readAhead(); err != nil {
				return nil, 0, err
			}
		}
		i := u.next
		u.next++
		return u.packets[i*MaxPacketSize : i*MaxPacketSize+u.lens[i]], u.levels[i], nil
	} else {
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case f := <-u.frames:
			copy(pcm, f)
			u.takeReference(f) // aec.go
			u.pool.Put(f)
		}
		pcm = u.cancelEcho(pcm) // aec.go
	}
	u.ai.Process(pcm)
	level := Level(pcm)
	n, err := u.enc.Encode(pcm, u.pkt)
	if err != nil {
		return nil, 0, err
	}
	return u.pkt[:n], level, nil
}

// EnableAIVoice turns the learned noise suppression (AIVoice) of what
// is sent on or off (engine.AIVoiceEnabler).
func (u *Uplink) EnableAIVoice(on bool) error { return u.ai.Enable(on) }

// Close releases the capture device, the echo canceller and the noise
// suppression model.
func (u *Uplink) Close() error {
	if u.dev != nil {
		u.dev.Close()
	}
	if u.aec != nil {
		u.aec.Close()
	}
	u.ai.Close()
	return nil
}

// Downlink receives the remote users' RTP audio (WriteRTP, from the
// network goroutines), keeps a JitterBuffer and Decoder per user, and
// produces the mixed 20 ms frames for playback (Fill, from the playback
// device or any 20 ms clock). It also remembers what it played, as the
// echo canceller's far-end reference.
type Downlink struct {
	mu     sync.Mutex
	users  map[string]*remoteUser
	mixer  Mixer
	srcs   [][]int16
	farBuf *ringBuffer
	tap    FrameTap
	played *echoReference // aecref.go: what the playback device played
	level  farLevel       // aecref.go: how loud the mix was lately
}

// FrameTap receives, from Fill, every remote user's 20 ms frame before
// mixing: pcm (FrameSamples, valid during the call only: copy it) and how
// the jitter buffer made it (FrameSilence while buffering or idle). It
// runs with the Downlink locked: it must be quick and must not call the
// Downlink.
type FrameTap func(userID string, pcm []int16, kind FrameKind)

type remoteUser struct {
	jb    *JitterBuffer
	pcm   []int16
	level int
}

// NewDownlink returns an empty Downlink.
func NewDownlink() *Downlink {
	return &Downlink{users: map[string]*remoteUser{}, farBuf: newRingBuffer(10 * FrameSamples), played: newEchoReference()}
}

// WriteRTP hands a user's packet to that user's jitter buffer.
func (d *Downlink) WriteRTP(userID string, pkt *rtp.Packet) {
	d.mu.Lock()
	u := d.users[userID]
	if u == nil {
		dec, err := NewDecoder()
		if err != nil {
			d.mu.Unlock()
			return
		}
		u = &remoteUser{jb: NewJitterBuffer(dec, JitterConfig{StartDelay: 20 * time.Millisecond}), pcm: make([]int16, FrameSamples)}
		d.users[userID] = u
	}
	d.mu.Unlock()
	u.jb.Push(pkt)
}

// RemoveUser forgets a user.
func (d *Downlink) RemoveUser(userID string) {
	d.mu.Lock()
	delete(d.users, userID)
	d.mu.Unlock()
}

// Fill pulls one frame from every user, mixes them into pcm
// (FrameSamples long) and updates the levels.
func (d *Downlink) Fill(pcm []int16) {
	d.mu.Lock()
	d.srcs = d.srcs[:0]
	for id, u := range d.users {
		kind := u.jb.Pull(u.pcm)
		if d.tap != nil {
			d.tap(id, u.pcm, kind)
		}
		if kind == FrameSilence {
			u.level = 0
			continue
		}
		u.level = Level(u.pcm)
		d.srcs = append(d.srcs, u.pcm)
	}
	d.mixer.Mix(pcm, d.srcs)
	d.mu.Unlock()
	d.farBuf.Write(pcm)
	d.level.add(pcm, time.Now())
}

// SetTap sets (or, with nil, removes) the per-user frame tap.
func (d *Downlink) SetTap(tap FrameTap) {
	d.mu.Lock()
	d.tap = tap
	d.mu.Unlock()
}

// farEnd pops the oldest played frame not yet used as a reference
// (silence if none).
func (d *Downlink) farEnd(pcm []int16) { d.farBuf.Read(pcm, false) }

// Levels returns each user's level 0..100 in the last frame.
func (d *Downlink) Levels() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]int, len(d.users))
	for id, u := range d.users {
		m[id] = u.level
	}
	return m
}

// Stats returns a user's jitter buffer counters.
func (d *Downlink) Stats(userID string) (JitterStats, bool) {
	d.mu.Lock()
	u := d.users[userID]
	d.mu.Unlock()
	if u == nil {
		return JitterStats{}, false
	}
	return u.jb.Stats(), true
}
