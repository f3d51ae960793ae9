// Package bench measures termcall's call setup, media start, mouth-to-ear
// latency and CPU cost on this machine, for `termcall bench`.
//
// Setup: a server (a child `termcall serve` on 127.0.0.1, or an existing
// one) and two engines in this process, a caller and a callee, on
// loopback. Each side sends a different speech-like signal
// (audiotest.Speech) from memory through the real pipeline (Opus encoder
// paced in real time, RTP through the server's SFU, jitter buffer, Opus
// decoder, mixer) and plays out on a 20 ms clock into a recording held
// in memory. No sound device is involved.
//
// Per call:
//
//   - invite -> CallReceived: from just before Call() to the callee's
//     observer receiving CallReceived.
//   - dial -> established: from just before Call() to the caller's
//     CallBegin, the callee accepting as soon as it is invited (minus the
//     answer delay, when one is set).
//   - accept -> first RTP / first audio: for the callee, from Accept()
//     returning; for the caller, from its CallBegin; to the first RTP
//     packet of the other user at the sink, and to the first frame the
//     jitter buffer played from a packet (not silence). The playout clock
//     stands for a sound device that is idle until audio comes: the first
//     packet of a call is played at once and the clock runs every 20 ms
//     from there (see playout). A device that pulls all the time plays it
//     at its next pull instead: 0-20 ms later, 10 ms on average.
//   - mouth-to-ear, both directions: the sent signal and the other side's
//     recording are cross-correlated (audiotest.XCorrDelay); with the time
//     each started, that gives the delay from a sample being handed to the
//     encoder to it leaving the playout mixer. Included: encoding, the
//     network and the SFU, the jitter buffer, Opus' algorithmic delay and
//     the playout clock's phase. Not included: device buffers (capture and
//     playback periods, about 20-40 ms each on real hardware) and the 20 ms
//     a real microphone frame takes to fill.
//   - CPU per call second: this process's CPU time (getrusage) over the
//     connected part of the call divided by its length. Both engines run
//     here, doing the same work (one encoder, one decoder, a playout
//     clock), so each side is reported as half. The server's CPU comes from
//     /proc/<pid>/stat when it is our child (Linux; 10 ms ticks).
package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/usersig"
)

// Options configure Run.
type Options struct {
	Calls        int           // default 5
	CallDuration time.Duration // connected time per call; default 3 s
	AnswerDelay  time.Duration // how long the callee lets it ring
	// Server is the server to use; "" starts Exe serve as a child.
	Server   string
	Exe      string // the termcall binary (for the child server)
	SDKAppID uint64
	Secret   string // signs the engines' userSigs (and the child server's)
	Say      func(string)
	Logger   *slog.Logger
	// TLSConfig is for a wss:// Server signed by a private CA (--ca-file).
	TLSConfig *tls.Config
}

// Call is one call's measurements, in milliseconds (negative: not seen).
type Call struct {
	InviteToReceivedMs     float64 `json:"inviteToReceivedMs"`
	DialToBeginMs          float64 `json:"dialToEstablishedMs"`
	CalleeFirstRTPMs       float64 `json:"calleeAcceptToFirstRtpMs"`
	CalleeFirstAudioMs     float64 `json:"calleeAcceptToFirstAudioMs"`
	CallerFirstRTPMs       float64 `json:"callerBeginToFirstRtpMs"`
	CallerFirstAudioMs     float64 `json:"callerBeginToFirstAudioMs"`
	MouthToEarCallerMs     float64 `json:"mouthToEarCallerToCalleeMs"`
	MouthToEarCalleeMs     float64 `json:"mouthToEarCalleeToCallerMs"`
	CorrCaller             float64 `json:"correlationCallerToCallee"`
	CorrCallee             float64 `json:"correlationCalleeToCaller"`
	ConnectedSeconds       float64 `json:"connectedSeconds"`
	CPUPerSideSecPerSec    float64 `json:"cpuPerSideSecondsPerCallSecond"`
	ServerCPUSecPerSec     float64 `json:"serverCpuSecondsPerCallSecond"` // -1: unknown
	ProcessCPUSeconds      float64 `json:"processCpuSeconds"`
	CallerJitterBufferMs   float64 `json:"callerJitterBufferTargetMs"`
	CalleeJitterBufferMs   float64 `json:"calleeJitterBufferTargetMs"`
	CallerConcealedFrames  uint64  `json:"callerConcealedFrames"`
	CalleeConcealedFrames  uint64  `json:"calleeConcealedFrames"`
	CalleeFramesFromCaller uint64  `json:"calleeFramesFromCaller"`
}

// Stat summarizes one figure over the calls.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Report is the result of Run.
type Report struct {
	Server        string          `json:"server"`
	AnswerDelayMs float64         `json:"answerDelayMs"`
	Child         bool            `json:"childServer"`
	Calls         []Call          `json:"calls"`
	Summary       map[string]Stat `json:"summary"`
}

// Run runs the benchmark.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Calls <= 0 {
		o.Calls = 5
	}
	if o.CallDuration <= 0 {
		o.CallDuration = 3 * time.Second
	}
	if o.Say == nil {
		o.Say = func(string) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rep := &Report{Server: o.Server, AnswerDelayMs: ms(o.AnswerDelay)}
	var srvPID int
	if o.Server == "" {
		url, pid, stop, err := startServer(ctx, o)
		if err != nil {
			return nil, err
		}
		defer stop()
		o.Server, srvPID, rep.Server, rep.Child = url, pid, url, true
	}
	suffix := fmt.Sprintf("%06x", rand.Uint32()&0xffffff)
	a, err := newSide(ctx, o, "bench-caller-"+suffix)
	if err != nil {
		return nil, err
	}
	defer a.close()
	b, err := newSide(ctx, o, "bench-callee-"+suffix)
	if err != nil {
		return nil, err
	}
	defer b.close()
	for i := 0; i < o.Calls; i++ {
		c, err := runCall(ctx, o, a, b, i, srvPID)
		if err != nil {
			return rep, fmt.Errorf("call %d: %w", i+1, err)
		}
		rep.Calls = append(rep.Calls, c)
		o.Say(fmt.Sprintf("call %d/%d: setup %.1f ms, mouth-to-ear %.1f / %.1f ms, CPU per side %.3f s/s",
			i+1, o.Calls, c.DialToBeginMs, c.MouthToEarCallerMs, c.MouthToEarCalleeMs, c.CPUPerSideSecPerSec))
		time.Sleep(200 * time.Millisecond) // let the media of the call close
	}
	rep.Summary = summarize(rep.Calls)
	return rep, nil
}

// startServer runs `termcall serve` on a free loopback port.
func startServer(ctx context.Context, o Options) (url string, pid int, stop func(), err error) {
	if o.Exe == "" {
		return "", 0, nil, errors.New("bench: no termcall binary to start the server with")
	}
	dir, err := os.MkdirTemp("", "termcall-bench")
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(o.Exe, "serve", "--listen", "127.0.0.1:0", "--data", dir,
		"--secret", o.Secret, "--sdkappid", fmt.Sprint(o.SDKAppID), "--media-ip", "127.0.0.1",
		"--max-connections-per-ip", "-1") // every bench user connects from 127.0.0.1
	cmd.Env = append(os.Environ(), "TERMCALL_LOG_FILE=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", 0, nil, fmt.Errorf("bench: starting the server: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	addr := make(chan string, 1)
	var out strings.Builder
	go scanListenAddr(stderr, addr, &out)
	select {
	case a, ok := <-addr:
		if !ok {
			stop()
			return "", 0, nil, fmt.Errorf("bench: the server did not start:\n%s", out.String())
		}
		return "http://" + a, cmd.Process.Pid, stop, nil
	case <-time.After(20 * time.Second):
		stop()
		return "", 0, nil, errors.New("bench: the server did not start in 20 s")
	case <-ctx.Done():
		stop()
		return "", 0, nil, ctx.Err()
	}
}

// scanListenAddr reads the server's stderr: it sends the address the
// server announces on addr (or closes addr if the output ends before) and
// keeps the first 4 KiB in out (to be read only once addr is closed).
func scanListenAddr(stderr io.Reader, addr chan<- string, out *strings.Builder) {
	buf := make([]byte, 4096)
	var line []byte
	sent := false
	for {
		n, err := stderr.Read(buf)
		for _, c := range buf[:n] {
			if c != '\n' {
				line = append(line, c)
				continue
			}
			s := string(line)
			line = line[:0]
			if len(out.String()) < 4096 {
				out.WriteString(s + "\n")
			}
			if rest, ok := strings.CutPrefix(s, "termcall serve listening on "); ok && !sent {
				addr <- strings.TrimSpace(rest)
				sent = true
			}
		}
		if err != nil {
			if !sent {
				close(addr)
			}
			return
		}
	}
}

type stamped struct {
	ev engine.Event
	at time.Time
}

// side is one engine with its audio.
type side struct {
	id     string
	eng    *engine.Engine
	events chan stamped
	down   *audio.Downlink
	stop   chan struct{}
	kick   chan struct{} // cap 1: the call's first packet arrived (see playout)
	wg     sync.WaitGroup

	mu         sync.Mutex
	recording  bool
	rec        []int16
	recStart   time.Time
	firstRTP   time.Time
	firstAudio time.Time
	sentStart  time.Time
	sent       []int16
	frames     uint64
	played     bool // the last Fill played a frame from a packet
}

func newSide(ctx context.Context, o Options, id string) (*side, error) {
	eng, err := engine.New(engine.Options{Server: o.Server, Logger: o.Logger, TLSConfig: o.TLSConfig})
	if err != nil {
		return nil, err
	}
	s := &side{id: id, eng: eng, events: make(chan stamped, 1024), down: audio.NewDownlink(),
		stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		now := time.Now()
		switch ev.(type) {
		case engine.CallBegin:
			s.mu.Lock()
			s.recording = true
			s.mu.Unlock()
		case engine.CallEnd, engine.CallCancelled:
			s.mu.Lock()
			s.recording = false
			s.mu.Unlock()
		}
		select {
		case s.events <- stamped{ev, now}:
		default:
		}
	}))
	s.down.SetTap(func(user string, pcm []int16, kind audio.FrameKind) {
		if kind != audio.FrameSilence {
			// s.mu is held by the playout (see playout)
			s.frames++
			s.played = true
			if s.firstAudio.IsZero() {
				s.firstAudio = time.Now()
			}
		}
	})
	sig, err := usersig.Gen(o.SDKAppID, o.Secret, id, time.Hour)
	if err != nil {
		eng.Destroy()
		return nil, err
	}
	ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := eng.Init(ictx, o.SDKAppID, id, sig); err != nil {
		eng.Destroy()
		return nil, fmt.Errorf("bench: logging in as %s: %w", id, err)
	}
	s.wg.Add(1)
	go s.playout()
	return s, nil
}

// playout fills a frame every 20 ms and records it during the call. The
// call's first packet (kick) is played at once, and the clock runs from
// there: the recording restarts with it, so that its samples stay 20 ms a
// frame from recStart (mouth-to-ear).
func (s *side) playout() {
	defer s.wg.Done()
	const period = audio.FrameDuration * time.Millisecond
	frame := make([]int16, audio.FrameSamples)
	next := time.Now().Add(period)
	t := time.NewTimer(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			next = next.Add(period)
			if now := time.Now(); now.Sub(next) > 5*period { // stalled: no burst
				next = now.Add(period)
			}
		case <-s.kick:
			next = time.Now().Add(period)
			s.mu.Lock()
			if !s.played {
				s.rec, s.recStart = nil, time.Time{}
			}
			s.mu.Unlock()
		}
		t.Reset(time.Until(next))
		s.mu.Lock()
		s.played = false
		s.down.Fill(frame)
		if s.recording {
			if s.recStart.IsZero() {
				s.recStart = time.Now()
			}
			s.rec = append(s.rec, frame...)
		}
		s.mu.Unlock()
	}
}

// WriteRTP / RemoveUser make side the engine's AudioSink.
func (s *side) WriteRTP(user string, pkt *rtp.Packet) {
	s.mu.Lock()
	first := s.firstRTP.IsZero()
	if first {
		s.firstRTP = time.Now()
	}
	s.mu.Unlock()
	s.down.WriteRTP(user, pkt)
	if first {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *side) RemoveUser(user string) { s.down.RemoveUser(user) }

// sentSource records what it gives the encoder and when it started.
type sentSource struct {
	s   *side
	src audio.Source
}

func (w *sentSource) ReadFrame(pcm []int16) error {
	err := w.src.ReadFrame(pcm)
	w.s.mu.Lock()
	if w.s.sentStart.IsZero() {
		w.s.sentStart = time.Now()
	}
	w.s.sent = append(w.s.sent, pcm...)
	w.s.mu.Unlock()
	return err
}

// prepare resets the per-call state and gives the engine a new source.
func (s *side) prepare(seed uint64, d time.Duration) error {
	s.mu.Lock()
	s.recording, s.rec, s.recStart, s.played = false, nil, time.Time{}, false
	s.firstRTP, s.firstAudio, s.sentStart, s.sent, s.frames = time.Time{}, time.Time{}, time.Time{}, nil, 0
	s.mu.Unlock()
	n := int((d + 2*time.Second).Seconds() * audio.SampleRate)
	up, err := audio.NewSourceUplink(&sentSource{s: s, src: audio.NewPCMSource(audiotest.Speech(seed, n, audio.SampleRate), false)})
	if err != nil {
		return err
	}
	s.eng.SetAudio(up, s)
	return nil
}

func (s *side) wait(ctx context.Context, what string, match func(engine.Event) bool) (time.Time, error) {
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case ev := <-s.events:
			if match(ev.ev) {
				return ev.at, nil
			}
			if _, ok := ev.ev.(engine.CallCancelled); ok {
				return time.Time{}, fmt.Errorf("%s: call not connected (%v)", s.id, ev.ev)
			}
		case <-t.C:
			return time.Time{}, fmt.Errorf("%s: no %s within 15 s", s.id, what)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

func (s *side) close() {
	close(s.stop)
	s.wg.Wait()
	s.eng.Destroy()
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func since(t0, t time.Time) float64 {
	if t.IsZero() || t0.IsZero() {
		return -1
	}
	return ms(t.Sub(t0))
}

// connected is when a call's steps happened (see runCall).
type connected struct {
	info                   engine.CallInfo
	t0, recv, accept, tBeg time.Time
}

// connect places the call from a to b, lets b answer (after
// o.AnswerDelay) and waits until both see it begin.
func connect(ctx, cctx context.Context, o Options, a, b *side) (connected, error) {
	var k connected
	k.t0 = time.Now()
	info, err := a.eng.Call(cctx, b.id, engine.MediaTypeAudio, engine.CallParams{})
	if err != nil {
		return k, err
	}
	k.info = info
	k.recv, err = b.wait(ctx, "CallReceived", func(ev engine.Event) bool {
		r, ok := ev.(engine.CallReceived)
		return ok && r.CallID == info.CallID
	})
	if err != nil {
		return k, err
	}
	if o.AnswerDelay > 0 {
		time.Sleep(o.AnswerDelay)
	}
	if err := b.eng.Accept(cctx); err != nil {
		return k, fmt.Errorf("accept: %w", err)
	}
	k.accept = time.Now()
	isBegin := func(ev engine.Event) bool { e, ok := ev.(engine.CallBegin); return ok && e.CallID == info.CallID }
	if k.tBeg, err = a.wait(ctx, "CallBegin", isBegin); err != nil {
		return k, err
	}
	_, err = b.wait(ctx, "CallBegin", isBegin)
	return k, err
}

// hangup ends the call from a and waits until both see it end.
func hangup(ctx, cctx context.Context, a, b *side, callID string) error {
	if err := a.eng.Hangup(cctx); err != nil {
		return fmt.Errorf("hangup: %w", err)
	}
	isEnd := func(ev engine.Event) bool { e, ok := ev.(engine.CallEnd); return ok && e.CallID == callID }
	for _, s := range []*side{a, b} {
		if _, err := s.wait(ctx, "CallEnd", isEnd); err != nil {
			return err
		}
	}
	a.eng.SetAudio(nil, nil)
	b.eng.SetAudio(nil, nil)
	return nil
}

// cpuSample is the CPU time of this process and of the child server.
type cpuSample struct {
	at            time.Time
	proc, srv     float64
	procOK, srvOK bool
}

func sampleCPU(srvPID int) cpuSample {
	c := cpuSample{}
	c.proc, c.procOK = processCPU()
	c.srv, c.srvOK = childCPU(srvPID)
	c.at = time.Now()
	return c
}

func runCall(ctx context.Context, o Options, a, b *side, i int, srvPID int) (Call, error) {
	var c Call
	if err := a.prepare(uint64(2*i+1), o.CallDuration); err != nil {
		return c, err
	}
	if err := b.prepare(uint64(2*i+2), o.CallDuration); err != nil {
		return c, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	k, err := connect(ctx, cctx, o, a, b)
	if err != nil {
		return c, err
	}
	cpu0 := sampleCPU(srvPID)
	select {
	case <-time.After(time.Until(k.tBeg.Add(o.CallDuration))):
	case <-ctx.Done():
		return c, ctx.Err()
	}
	cpu1 := sampleCPU(srvPID)
	if err := hangup(ctx, cctx, a, b, k.info.CallID); err != nil {
		return c, err
	}
	c.InviteToReceivedMs = since(k.t0, k.recv)
	c.DialToBeginMs = since(k.t0, k.tBeg) - ms(o.AnswerDelay)
	a.mu.Lock()
	b.mu.Lock()
	c.CalleeFirstRTPMs = since(k.accept, b.firstRTP)
	c.CalleeFirstAudioMs = since(k.accept, b.firstAudio)
	c.CallerFirstRTPMs = since(k.tBeg, a.firstRTP)
	c.CallerFirstAudioMs = since(k.tBeg, a.firstAudio)
	c.CalleeFramesFromCaller = b.frames
	b.mu.Unlock()
	a.mu.Unlock()
	c.MouthToEarCallerMs, c.CorrCaller = mouthToEar(a, b)
	c.MouthToEarCalleeMs, c.CorrCallee = mouthToEar(b, a)
	c.setCPU(cpu0, cpu1)
	return c, nil
}

// setCPU fills the CPU figures from the samples at the start and the end
// of the connected time.
func (c *Call) setCPU(cpu0, cpu1 cpuSample) {
	secs := cpu1.at.Sub(cpu0.at).Seconds()
	c.ConnectedSeconds = math.Round(secs*1000) / 1000
	c.CPUPerSideSecPerSec = -1
	if cpu1.procOK && secs > 0 {
		c.ProcessCPUSeconds = math.Round((cpu1.proc-cpu0.proc)*1000) / 1000
		c.CPUPerSideSecPerSec = math.Round((cpu1.proc-cpu0.proc)/2/secs*10000) / 10000
	}
	c.ServerCPUSecPerSec = -1
	if cpu0.srvOK && cpu1.srvOK && secs > 0 {
		c.ServerCPUSecPerSec = math.Round((cpu1.srv-cpu0.srv)/secs*10000) / 10000
	}
}

// mouthToEar finds the delay of from's signal in to's recording.
func mouthToEar(from, to *side) (float64, float64) {
	from.mu.Lock()
	sent, sentStart := slices.Clone(from.sent), from.sentStart
	from.mu.Unlock()
	to.mu.Lock()
	rec, recStart := slices.Clone(to.rec), to.recStart
	to.mu.Unlock()
	if len(sent) == 0 || len(rec) == 0 {
		return -1, 0
	}
	// The window: sent sample n is in the recording at index
	// n + (sentStart-recStart)*rate + delay; search +-2 s around it.
	lag, peak := audiotest.XCorrDelay(sent, rec, 2*audio.SampleRate)
	d := recStart.Sub(sentStart) + time.Duration(lag)*time.Second/audio.SampleRate
	return ms(d), math.Round(peak*1000) / 1000
}

func summarize(calls []Call) map[string]Stat {
	get := map[string]func(Call) float64{
		"inviteToReceivedMs":                func(c Call) float64 { return c.InviteToReceivedMs },
		"dialToEstablishedMs":               func(c Call) float64 { return c.DialToBeginMs },
		"calleeAcceptToFirstRtpMs":          func(c Call) float64 { return c.CalleeFirstRTPMs },
		"calleeAcceptToFirstAudioMs":        func(c Call) float64 { return c.CalleeFirstAudioMs },
		"callerBeginToFirstRtpMs":           func(c Call) float64 { return c.CallerFirstRTPMs },
		"callerBeginToFirstAudioMs":         func(c Call) float64 { return c.CallerFirstAudioMs },
		"mouthToEarCallerToCalleeMs":        func(c Call) float64 { return c.MouthToEarCallerMs },
		"mouthToEarCalleeToCallerMs":        func(c Call) float64 { return c.MouthToEarCalleeMs },
		"cpuPerSideSecondsPerCallSecond":    func(c Call) float64 { return c.CPUPerSideSecPerSec },
		"serverCpuSecondsPerCallSecond":     func(c Call) float64 { return c.ServerCPUSecPerSec },
		"correlationCallerToCallee":         func(c Call) float64 { return c.CorrCaller },
		"correlationCalleeToCaller":         func(c Call) float64 { return c.CorrCallee },
		"cpuPerSideSecondsPer10sCallApprox": func(c Call) float64 { return c.CPUPerSideSecPerSec * 10 },
	}
	out := map[string]Stat{}
	for name, f := range get {
		var v []float64
		for _, c := range calls {
			if x := f(c); x >= 0 {
				v = append(v, x)
			}
		}
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		r := func(x float64) float64 { return math.Round(x*10000) / 10000 }
		out[name] = Stat{Median: r(med), Min: r(v[0]), Max: r(v[len(v)-1])}
	}
	return out
}

// Rows are the summary's figures in display order, with labels.
var Rows = []struct{ Key, Label string }{
	{"inviteToReceivedMs", "invite -> CallReceived (ms)"},
	{"dialToEstablishedMs", "dial -> established (ms)"},
	{"calleeAcceptToFirstRtpMs", "callee: accept -> first RTP (ms)"},
	{"calleeAcceptToFirstAudioMs", "callee: accept -> first audio (ms)"},
	{"callerBeginToFirstRtpMs", "caller: begin -> first RTP (ms)"},
	{"callerBeginToFirstAudioMs", "caller: begin -> first audio (ms)"},
	{"mouthToEarCallerToCalleeMs", "mouth-to-ear caller -> callee (ms)"},
	{"mouthToEarCalleeToCallerMs", "mouth-to-ear callee -> caller (ms)"},
	{"correlationCallerToCallee", "  correlation of the signals"},
	{"cpuPerSideSecondsPerCallSecond", "CPU per side (s per call second)"},
	{"cpuPerSideSecondsPer10sCallApprox", "CPU per side, 10 s call (s)"},
	{"serverCpuSecondsPerCallSecond", "server CPU (s per call second)"},
}

// WriteTable prints the summary as a table.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%d calls via %s\n", len(r.Calls), r.Server)
	fmt.Fprintf(w, "%-38s %10s %10s %10s\n", "", "median", "min", "max")
	for _, row := range Rows {
		s, ok := r.Summary[row.Key]
		if !ok {
			fmt.Fprintf(w, "%-38s %10s\n", row.Label, "n/a")
			continue
		}
		fmt.Fprintf(w, "%-38s %10.4g %10.4g %10.4g\n", row.Label, s.Median, s.Min, s.Max)
	}
}
