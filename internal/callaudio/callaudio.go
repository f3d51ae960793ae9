// Package callaudio wires a process's audio to one engine: the uplink
// (microphone with echo cancellation, or a file/tone source), the
// downlink (jitter buffers, decoders, mixer) and its playout (the
// playback device, or a 20 ms clock when there is none), the recording
// of what is heard, and, for bots, echo and per-call recordings.
//
// Recording (--record) covers the connected call only: it starts at
// CallBegin and stops at CallEnd (or CallCancelled), so the file holds
// exactly what was heard during the call. Files are finished by Close.
package callaudio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callrun"
)

// Options say where a process's call audio comes from and goes to.
type Options struct {
	// Mic and Speaker name the capture and playback devices ("" or
	// "default": the default device; "null": none). See audio.OpenCapture.
	Mic, Speaker string
	// Play sends this source instead of the microphone: a WAV or Ogg Opus
	// file, or tone:HZ[:DUR] (see audio.Open).
	Play string
	// Loop plays Play over and over.
	Loop bool
	// Record writes what is heard (all remote users mixed) during the
	// connected call to this .wav or .ogg file.
	Record string
	// NoAudioDevice opens no sound device at all: the playout runs on a
	// 20 ms clock and goes only to the recordings; without Play or Echo
	// nothing is sent (the others see the microphone as unavailable).
	// Without Record, RecordDir or Echo either, nothing received is heard,
	// so nothing is decoded and there is no playout clock.
	NoAudioDevice bool
	// AEC cancels the echo of the speaker in the microphone signal.
	AEC bool
	// EchoCanceller is the canceller AEC runs (audio.EchoCancellers; "" =
	// audio.DefaultEchoCanceller; config audio.echo_canceller).
	EchoCanceller string
	// Echo sends back what is heard (the mixed downlink) instead of the
	// microphone (bots).
	Echo bool
	// RecordDir records, per call, each remote user's audio to
	// DIR/<callId>-<userId>.wav and the call's events to DIR/<callId>.json
	// (NDJSON).
	RecordDir string
	// Earpiece is the playback device of the earpiece route
	// (SelectAudioPlaybackDevice); "" means Speaker.
	Earpiece string
	// Ringtone is the ringtone file ("" = the built-in ring); MuteMode
	// silences it.
	Ringtone string
	MuteMode bool
	// LightEncoder encodes what is sent at audio.LightComplexity instead
	// of audio.DefaultComplexity: half the encoder's CPU, the same bitrate
	// and FEC (bots).
	LightEncoder bool
	// Logger gets warnings (default slog.Default()).
	Logger *slog.Logger
}

// ErrUsage is wrapped by errors about contradictory options.
var ErrUsage = errors.New("callaudio: bad options")

// Audio is the running audio of one process. Its methods are safe for
// concurrent use.
type Audio struct {
	opts Options
	log  *slog.Logger

	down        *audio.Downlink
	src         engine.AudioSource // nil: nothing to send
	uplink      *audio.Uplink
	echo        *echoUplink
	spk         *audio.Device // nil: paced loop
	speakerName string        // the device spk plays on
	ring        ringer
	paced       chan struct{} // closes to stop the current paced playout loop
	// deaf: nothing plays, records or echoes what is received (no sound
	// device, no recording, no echo), so it is not decoded at all: the
	// engine gets no sink and there is no playout clock. The engine still
	// reads the packets (statistics, RTCP) and reports the others' volume
	// from their audio-level header extension.
	deaf bool

	w       *writer
	inCall  atomic.Bool   // recording on
	stop    chan struct{} // ends the paced playout loop
	loop    sync.WaitGroup
	eng     Engine
	obs     engine.Observer
	mu      sync.Mutex
	closed  bool
	started atomic.Bool
}

// Open checks the options and opens every file and device they name, so
// that a bad file or device fails here, before any call. The playout
// starts at once. Close releases everything.
func Open(opts Options) (*Audio, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	a := &Audio{opts: opts, log: opts.Logger, down: audio.NewDownlink(), stop: make(chan struct{}),
		ring: ringer{bell: audio.NewBell()}}
	if err := a.ring.bell.SetCallingBell(opts.Ringtone); err != nil {
		return nil, fmt.Errorf("ringtone: %w", err)
	}
	a.ring.bell.EnableMuteMode(opts.MuteMode)
	if err := a.open(); err != nil {
		_ = a.release()
		return nil, err
	}
	a.started.Store(true)
	return a, nil
}

// checkOptions rejects contradictory options and a --record-dir that is
// not a directory.
func checkOptions(opts Options) error {
	switch {
	case opts.Play != "" && opts.Echo:
		return fmt.Errorf("%w: --play and --echo exclude each other", ErrUsage)
	case opts.Play != "" && opts.Mic != "":
		return fmt.Errorf("%w: --play replaces the microphone; drop --mic", ErrUsage)
	case opts.NoAudioDevice && (opts.Mic != "" || opts.Speaker != ""):
		return fmt.Errorf("%w: --no-audio-device excludes --mic and --speaker", ErrUsage)
	}
	return checkRecordDir(opts.RecordDir)
}

// checkRecordDir: --record-dir, if given, must be a directory.
func checkRecordDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return fmt.Errorf("--record-dir %s: %w", dir, err)
	}
	return nil
}

// open opens, in order, the recording, what is sent and the playout. On an error the caller releases
// what was opened.
func (a *Audio) open() error {
	opts := a.opts
	rec, err := openRecord(opts.Record)
	if err != nil {
		return err
	}
	a.w = newWriter(rec, opts.RecordDir, a.log)
	if err := a.openSource(); err != nil {
		return err
	}
	if err := a.lightEncoder(); err != nil {
		return err
	}
	return a.startPlayout(rec != nil)
}

// startPlayout taps the downlink for RecordDir and starts the playout: on
// the playback device or, without one, on the paced clock (unless nothing
// plays, records or echoes what is received).
func (a *Audio) startPlayout(recording bool) error {
	opts := a.opts
	if opts.RecordDir != "" {
		a.down.SetTap(a.tap)
	}
	if !opts.NoAudioDevice {
		if err := a.openSpeaker(); err != nil {
			return err
		}
	}
	a.deaf = opts.NoAudioDevice && !recording && opts.RecordDir == "" && !opts.Echo
	if a.spk == nil && !a.deaf {
		a.startPaced()
	}
	return nil
}

// openRecord creates the --record file (nil without one).
func openRecord(name string) (audio.Sink, error) {
	if name == "" {
		return nil, nil
	}
	lower := strings.ToLower(name)
	if !strings.HasSuffix(lower, ".wav") && !strings.HasSuffix(lower, ".ogg") && !strings.HasSuffix(lower, ".opus") {
		return nil, fmt.Errorf("%w: --record %s: the file name must end in .wav or .ogg", ErrUsage, name)
	}
	s, err := audio.Create(name)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	return s, nil
}

// openSource opens what is sent: the --play source, the echo of the
// downlink, or the microphone (nothing without a sound device).
func (a *Audio) openSource() error {
	opts := a.opts
	switch {
	case opts.Play != "":
		return a.openPlay()
	case opts.Echo:
		e, err := newEchoUplink()
		if err != nil {
			return err
		}
		a.echo, a.src = e, e
	case !opts.NoAudioDevice:
		return a.openMic()
	}
	return nil
}

func (a *Audio) openPlay() error {
	src, err := audio.Open(a.opts.Play, audio.Loop(a.opts.Loop))
	if err != nil {
		return fmt.Errorf("--play: %w", err)
	}
	up, err := audio.NewSourceUplink(src)
	if err != nil {
		return err
	}
	a.uplink, a.src = up, up
	return nil
}

func (a *Audio) openMic() error {
	opts := a.opts
	var far *audio.Downlink
	if opts.AEC {
		far = a.down
	}
	up, err := audio.NewCaptureUplinkWith(opts.Mic, far, opts.EchoCanceller)
	if err != nil {
		return fmt.Errorf("--mic: %w", err)
	}
	a.uplink, a.src = up, up
	return nil
}

// lightEncoder sets the LightEncoder complexity on what is sent.
func (a *Audio) lightEncoder() error {
	switch {
	case !a.opts.LightEncoder:
		return nil
	case a.uplink != nil:
		return a.uplink.SetComplexity(audio.LightComplexity)
	case a.echo != nil:
		return a.echo.enc.SetComplexity(audio.LightComplexity)
	}
	return nil
}

// openSpeaker opens the playback device; a null device is closed again
// (the paced playout runs instead).
func (a *Audio) openSpeaker() error {
	dev, err := audio.OpenPlayback(a.opts.Speaker, a.fill)
	if err != nil {
		return fmt.Errorf("--speaker: %w", err)
	}
	dev.SetPlayedTap(a.down.Played) // the echo canceller's reference
	if dev.IsNull() {
		dev.Close() // our own clock is steadier than the null device's
	} else {
		a.spk = dev
	}
	a.speakerName = a.opts.Speaker
	return nil
}

// Downlink is the receiving half (the engine's AudioSink).
func (a *Audio) Downlink() *audio.Downlink { return a.down }

// Source is what is sent (the engine's AudioSource); nil when nothing is.
func (a *Audio) Source() engine.AudioSource { return a.src }

// Engine is what Audio uses of a call engine (*engine.Engine is one): its
// events, and the places to plug the audio in.
type Engine interface {
	AddObserver(engine.Observer)
	RemoveObserver(engine.Observer)
	SetAudio(engine.AudioSource, engine.AudioSink)
	SetAudioRouter(engine.AudioRouter) error
}

var _ Engine = (*engine.Engine)(nil)

// Attach gives the engine this audio (SetAudio) and follows its call
// events (recordings start at CallBegin and stop at the call's end).
func (a *Audio) Attach(eng Engine) {
	a.mu.Lock()
	a.eng = eng
	a.obs = engine.NewObserver(a.Observe)
	eng.AddObserver(a.obs)
	var sink engine.AudioSink
	if !a.deaf {
		sink = a.down
	}
	if a.src == nil {
		eng.SetAudio(nil, sink)
	} else {
		eng.SetAudio(a.src, sink)
	}
	a.mu.Unlock()
	// Outside the lock: SelectPlayback takes it.
	if err := eng.SetAudioRouter(a); err != nil {
		a.log.Warn("playback route", "err", err)
	}
}

// Observe follows the call state: CallReceived opens the call's event log
// (with RecordDir), CallBegin starts the recordings, CallEnd and
// CallCancelled stop them. Attach registers it with the engine.
func (a *Audio) Observe(ev engine.Event) {
	a.ringOnEvent(ev)
	switch ev := ev.(type) {
	case engine.CallReceived:
		if a.w.currentCall() == "" { // a bot busy with a call ignores others
			a.w.startCall(ev.CallID)
		}
	case engine.CallBegin:
		a.w.startCall(ev.CallID)
		if a.echo != nil {
			a.echo.flush()
		}
		a.inCall.Store(true)
	}
	if a.opts.RecordDir != "" {
		if b, err := callrun.EventLine(ev, time.Now()); err == nil {
			a.w.event(b)
		}
	}
	switch ev := ev.(type) {
	case engine.CallEnd:
		a.endCall(ev.CallID)
	case engine.CallCancelled:
		a.endCall(ev.CallID)
	case engine.KickedOffline:
		a.endCall("")
	}
}

func (a *Audio) endCall(callID string) {
	if callID != "" && a.w.currentCall() != callID {
		return
	}
	a.inCall.Store(false)
	a.w.endCall()
}

// fill makes the next 20 ms of playout: the mix, which also goes to the
// recording and, for an echo bot, back to the uplink.
func (a *Audio) fill(pcm []int16) {
	a.down.Fill(pcm)
	if a.inCall.Load() {
		a.w.mixed(pcm)
	}
	if a.echo != nil {
		a.echo.push(pcm)
	}
	a.ring.mixInto(pcm) // speaker only
}

// tap records each remote user's frames during the connected call.
func (a *Audio) tap(user string, pcm []int16, kind audio.FrameKind) {
	if a.inCall.Load() {
		a.w.user(user, pcm)
	}
}

// pacedPlayout is the playout without a device: one Fill every 20 ms on
// an absolute schedule.
func (a *Audio) pacedPlayout(stop chan struct{}) {
	defer a.loop.Done()
	p := audio.NewPacer(audio.FrameDuration * time.Millisecond)
	frame := make([]int16, audio.FrameSamples)
	for {
		select {
		case <-a.stop:
			return
		case <-stop:
			return
		default:
		}
		p.Wait()
		a.fill(frame)
	}
}

// startPaced starts a paced playout loop (no playback device).
func (a *Audio) startPaced() {
	a.paced = make(chan struct{})
	a.loop.Add(1)
	go a.pacedPlayout(a.paced)
}

// stopPaced stops the paced playout loop (a device took over).
func (a *Audio) stopPaced() {
	if a.paced != nil {
		close(a.paced)
		a.paced = nil
	}
}

// Close detaches the audio from the engine, stops the playout and the
// devices and finishes the recordings. It returns the first error
// finishing a file.
func (a *Audio) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	eng, obs := a.eng, a.obs
	a.mu.Unlock()
	if eng != nil {
		eng.RemoveObserver(obs)
		eng.SetAudio(nil, nil)
		_ = eng.SetAudioRouter(nil)
	}
	return a.release()
}

func (a *Audio) release() error {
	if a.started.Load() {
		select {
		case <-a.stop:
		default:
			close(a.stop)
		}
	}
	a.mu.Lock()
	spk := a.spk
	a.mu.Unlock()
	if spk != nil {
		spk.Close()
	}
	a.loop.Wait()
	if a.uplink != nil {
		a.uplink.Close()
	}
	if a.echo != nil {
		a.echo.close()
	}
	if a.w != nil {
		return a.w.close()
	}
	return nil
}

// echoUplink is an engine.AudioSource sending back the mixed downlink
// frames as they are played out (at most 60 ms are queued).
type echoUplink struct {
	enc    *audio.Encoder
	frames chan []int16
	pool   sync.Pool
	pkt    []byte
	frame  []int16
	done   chan struct{}
	once   sync.Once
	ai     audio.AIVoice // EnableAIVoice (engine.AIVoiceEnabler)
}

func newEchoUplink() (*echoUplink, error) {
	enc, err := audio.NewEncoder()
	if err != nil {
		return nil, err
	}
	e := &echoUplink{enc: enc, frames: make(chan []int16, 3), pkt: make([]byte, audio.MaxPacketSize),
		frame: make([]int16, audio.FrameSamples), done: make(chan struct{})}
	e.pool.New = func() any { return make([]int16, audio.FrameSamples) }
	return e, nil
}

func (e *echoUplink) push(pcm []int16) {
	f := e.pool.Get().([]int16)
	copy(f, pcm)
	for {
		select {
		case e.frames <- f:
			return
		default: // full: drop the oldest
			select {
			case old := <-e.frames:
				e.pool.Put(old)
			default:
			}
		}
	}
}

// flush drops the queued frames (stale audio from before the call).
func (e *echoUplink) flush() {
	for {
		select {
		case f := <-e.frames:
			e.pool.Put(f)
		default:
			return
		}
	}
}

func (e *echoUplink) close() { e.once.Do(func() { close(e.done); e.ai.Close() }) }

// EnableAIVoice implements engine.AIVoiceEnabler: the echo is denoised
// before it is sent back.
func (e *echoUplink) EnableAIVoice(on bool) error { return e.ai.Enable(on) }

// ReadOpusFrame implements engine.AudioSource.
func (e *echoUplink) ReadOpusFrame(ctx context.Context) ([]byte, int, error) {
	select {
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-e.done:
		return nil, 0, errors.New("callaudio: closed")
	case f := <-e.frames:
		copy(e.frame, f)
		e.pool.Put(f)
	}
	e.ai.Process(e.frame)
	n, err := e.enc.Encode(e.frame, e.pkt)
	if err != nil {
		return nil, 0, err
	}
	return e.pkt[:n], audio.Level(e.frame), nil
}

// RecordingName returns the file name of a user's recording in a call.
func RecordingName(dir, callID, userID string) string {
	return filepath.Join(dir, callID+"-"+userID+".wav")
}

// EventLogName returns the file name of a call's event log.
func EventLogName(dir, callID string) string {
	return filepath.Join(dir, callID+".json")
}
