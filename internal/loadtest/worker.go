package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/usersig"
)

// spec is one worker's share of the load test (it crosses to a worker
// process as JSON).
type spec struct {
	Server    string  `json:"server"`
	CAFile    string  `json:"caFile,omitempty"`
	SDKAppID  uint64  `json:"sdkAppId"`
	Secret    string  `json:"secret"`
	RunID     string  `json:"runId"`
	FirstCall int     `json:"firstCall"`
	Calls     int     `json:"calls"`
	GroupSize int     `json:"groupSize"`
	Audio     bool    `json:"audio"`
	Video     bool    `json:"video"`
	Rate      float64 `json:"rate"` // this worker's calls per second
	Loopback  bool    `json:"loopback"`
	// SetupTimeout bounds the ramp plus the wait for media on every call.
	SetupTimeout time.Duration `json:"setupTimeout"`
}

func userID(run string, call, k int) string { return fmt.Sprintf("lt%s-%d-%d", run, call, k) }
func groupID(run string, call int) string   { return fmt.Sprintf("lt%s-g%d", run, call) }

// call is one load-test call: members[0] places it.
type call struct {
	idx     int
	members []*client
	want    int32 // first packets each member waits for: one per other member and kind

	mu      sync.Mutex
	id      string
	placed  time.Time
	begun   time.Time // the caller's onCallBegin
	media   time.Time // every member got media from every other
	ready   int       // members with all their first packets
	err     error
	stopped bool
	done    chan struct{} // closed when media flows or the call failed
}

func (c *call) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.stopped || !c.media.IsZero() {
		if c.err == nil && !c.stopped {
			c.err = err // a connected call that broke
		}
		return
	}
	c.err = err
	close(c.done)
}

// worker runs its spec's calls in this process.
type worker struct {
	o     Options
	sp    spec
	wsURL string
	hc    *http.Client
	api   *webrtc.API
	calls []*call

	clients []*client

	wmu      sync.Mutex
	warnings []string
	nwarn    int

	stopSend chan struct{}
	sendDone chan struct{}
	markSent uint64
	torn     bool
	sending  bool // sendLoop runs
}

func newWorker(sp spec, o Options) (*worker, error) {
	u, err := engine.WebSocketURL(sp.Server)
	if err != nil {
		return nil, err
	}
	api, err := newAPI(sp.Loopback)
	if err != nil {
		return nil, err
	}
	o.SDKAppID = sp.SDKAppID
	o.Audio, o.Video = sp.Audio, sp.Video
	return &worker{o: o, sp: sp, wsURL: u, hc: httpClient(&o), api: api, stopSend: make(chan struct{}), sendDone: make(chan struct{})}, nil
}

func (w *worker) warn(err error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.nwarn++
	if len(w.warnings) < 10 {
		w.warnings = append(w.warnings, err.Error())
	}
}

// setup logs every member in, places the calls at the spec's rate and
// waits until media flows on each (or it failed, or SetupTimeout).
func (w *worker) setup(ctx context.Context) error {
	w.newCalls()
	if err := w.loginAll(ctx); err != nil {
		return err
	}
	for _, c := range w.calls {
		for k, m := range c.members {
			m.mu.Lock()
			m.call = c
			m.onEvent = w.eventHandler(c, m, k == 0)
			m.mu.Unlock()
		}
	}
	w.sending = true
	go w.sendLoop()

	deadline := time.Now().Add(w.sp.SetupTimeout)
	if err := w.placeAll(ctx); err != nil {
		return err
	}
	return w.awaitMedia(ctx, deadline)
}

// newCalls makes the spec's calls, each waiting for media of every kind
// sent from every other member.
func (w *worker) newCalls() {
	kinds := int32(0)
	if w.sp.Audio {
		kinds++
	}
	if w.sp.Video {
		kinds++
	}
	for i := range w.sp.Calls {
		w.calls = append(w.calls, &call{idx: w.sp.FirstCall + i, want: int32(w.sp.GroupSize-1) * kinds, done: make(chan struct{})})
	}
}

// loginAll logs every member of every call in, 16 at a time; the first
// error stops the logins.
func (w *worker) loginAll(ctx context.Context) error {
	type job struct {
		c *call
		k int
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var lerr atomic.Pointer[error]
	var cmu sync.Mutex
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if lerr.Load() != nil {
					continue
				}
				cl, err := w.login(ctx, j.c.idx, j.k)
				if err != nil {
					lerr.Store(&err)
					continue
				}
				cmu.Lock()
				j.c.members[j.k] = cl
				w.clients = append(w.clients, cl)
				cmu.Unlock()
			}
		}()
	}
	for _, c := range w.calls {
		c.members = make([]*client, w.sp.GroupSize)
		for k := range w.sp.GroupSize {
			jobs <- job{c, k}
		}
	}
	close(jobs)
	wg.Wait()
	if e := lerr.Load(); e != nil {
		return *e
	}
	return nil
}

// login logs member k of call idx in.
func (w *worker) login(ctx context.Context, idx, k int) (*client, error) {
	id := userID(w.sp.RunID, idx, k)
	sig, err := usersig.Gen(w.sp.SDKAppID, w.sp.Secret, id, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	return w.dial(ctx, id, sig, nil)
}

// placeAll places the calls at the spec's rate, each on its own goroutine.
func (w *worker) placeAll(ctx context.Context) error {
	start := time.Now()
	for i, c := range w.calls {
		at := start.Add(time.Duration(float64(i) / w.sp.Rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		go w.place(ctx, c)
	}
	return nil
}

// awaitMedia waits until media flows on every call; those without by the
// deadline fail.
func (w *worker) awaitMedia(ctx context.Context, deadline time.Time) error {
	for _, c := range w.calls {
		select {
		case <-c.done:
		case <-time.After(time.Until(deadline)):
			c.fail(errors.New("no media on every leg within the setup timeout"))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (w *worker) place(ctx context.Context, c *call) {
	caller := c.members[0]
	var invitees []string
	for _, m := range c.members[1:] {
		invitees = append(invitees, m.userID)
	}
	mt := protocol.MediaTypeAudio
	if w.sp.Video {
		mt = protocol.MediaTypeVideo
	}
	req := protocol.CallRequest{UserIDs: invitees, MediaType: mt}
	typ := protocol.TypeCall
	if w.sp.GroupSize > 2 {
		typ = protocol.TypeGroupCall
		req.GroupID = groupID(w.sp.RunID, c.idx)
	}
	c.mu.Lock()
	c.placed = time.Now()
	c.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var rep protocol.CallReply
	if err := caller.request(rctx, typ, req, &rep); err != nil {
		c.fail(fmt.Errorf("%s: %s: %w", caller.userID, typ, err))
		return
	}
	c.mu.Lock()
	c.id = rep.Call.CallID
	c.mu.Unlock()
}

// eventHandler is a member's reaction to the server's events; it runs on
// the member's read goroutine and never blocks.
func (w *worker) eventHandler(c *call, m *client, caller bool) func(*protocol.Event) {
	return func(ev *protocol.Event) {
		switch ev.Event {
		case protocol.EventCallReceived:
			if caller {
				return
			}
			id := ev.CallID
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if err := m.request(ctx, protocol.TypeAccept, protocol.CallIDRequest{CallID: id}, nil); err != nil {
					c.fail(fmt.Errorf("%s: accept: %w", m.userID, err))
					return
				}
				m.sending.Store(true)
			}()
		case protocol.EventCallBegin:
			if caller {
				c.mu.Lock()
				if c.begun.IsZero() {
					c.begun = time.Now()
				}
				c.mu.Unlock()
				m.sending.Store(true)
			}
		case protocol.EventCallEnd:
			c.fail(fmt.Errorf("%s: the call ended: %s", m.userID, ev.Reason))
		case protocol.EventUserReject, protocol.EventUserLineBusy, protocol.EventUserNoResponse:
			c.fail(fmt.Errorf("%s: %s from %s", m.userID, ev.Event, ev.UserID))
		case protocol.EventError:
			c.fail(fmt.Errorf("%s: error %d: %s", m.userID, ev.Code, ev.Message))
		}
	}
}

// gotFirstPacket is called when one of m's inbound tracks gets its first
// packet.
func (w *worker) gotFirstPacket(m *client) {
	m.mu.Lock()
	c := m.call
	m.mu.Unlock()
	if c == nil || m.firsts.Add(1) != c.want {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ready++
	if c.ready == len(c.members) && c.err == nil && c.media.IsZero() {
		c.media = time.Now()
		close(c.done)
	}
}

// sendLoop paces every member's media: a 5 ms tick serves a quarter of
// the members' audio, so that the packets are spread over each 20 ms
// rather than sent in one burst; video frames go out at 15 fps, likewise
// spread.
func (w *worker) sendLoop() {
	defer close(w.sendDone)
	const slots = 4
	t := time.NewTicker(audioFrameTicks * time.Second / audioClockRate / slots)
	defer t.Stop()
	const frame = audioFrameTicks * time.Second / audioClockRate
	tick := 0
	start := time.Now()
	vnext := start
	vframe := 0
	for {
		select {
		case <-w.stopSend:
			return
		case <-t.C:
		}
		slot := tick % slots
		tick++
		due := int(time.Since(start) / frame)
		for i, cl := range w.clients {
			if i%slots == slot {
				cl.sendAudio(due)
			}
		}
		if w.sp.Video && !time.Now().Before(vnext) {
			for _, cl := range w.clients {
				cl.sendVideo(vframe)
			}
			vframe++
			vnext = vnext.Add(time.Second / videoFPS)
		}
	}
}

// mark starts the measurement window.
func (w *worker) mark() {
	var sent uint64
	for _, cl := range w.clients {
		sent += cl.sent.Load()
		cl.smu.Lock()
		for _, s := range cl.streams {
			s.mark()
		}
		cl.smu.Unlock()
	}
	w.markSent = sent
}

// result ends the window: figures over it, then the calls are hung up.
func (w *worker) result() *workerResult {
	r := &workerResult{Calls: len(w.calls)}
	var sent uint64
	for _, cl := range w.clients {
		sent += cl.sent.Load()
	}
	r.Sent = sent - w.markSent
	for _, cl := range w.clients {
		cl.smu.Lock()
		for _, s := range cl.streams {
			st := s.stats()
			r.Received += st.Received
			r.Expected += st.Expected
			r.Streams++
			r.JitterSumMs += st.JitterMs
			r.JitterMaxMs = max(r.JitterMaxMs, st.JitterMs)
			r.MaxGapMs = max(r.MaxGapMs, float64(st.MaxGap)/float64(time.Millisecond))
			for i, n := range st.Gaps {
				r.Gaps[i] += uint64(n)
			}
		}
		cl.smu.Unlock()
	}
	for _, c := range w.calls {
		c.mu.Lock()
		c.stopped = true
		switch {
		case c.err != nil:
			r.Failed++
			if len(r.Errors) < 10 {
				r.Errors = append(r.Errors, c.err.Error())
			}
		case !c.media.IsZero():
			r.Connected++
			if !c.begun.IsZero() {
				r.SetupMs = append(r.SetupMs, ms(c.begun.Sub(c.placed)))
			}
			r.MediaMs = append(r.MediaMs, ms(c.media.Sub(c.placed)))
		default:
			r.Failed++
		}
		c.mu.Unlock()
	}
	w.wmu.Lock()
	r.Warnings, r.WarningCount = w.warnings, w.nwarn
	w.wmu.Unlock()
	return r
}

// teardown hangs up, logs out and disconnects everyone.
func (w *worker) teardown() {
	if w.torn {
		return
	}
	w.torn = true
	select {
	case <-w.stopSend:
	default:
		close(w.stopSend)
		if w.sending {
			<-w.sendDone
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, c := range w.calls {
		c.mu.Lock()
		c.stopped = true
		id := c.id
		c.mu.Unlock()
		for k, m := range c.members {
			if m == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if k == 0 && id != "" {
					_ = m.request(ctx, protocol.TypeHangup, protocol.CallIDRequest{CallID: id}, nil)
				}
				_ = m.request(ctx, protocol.TypeLogout, nil, nil)
				m.close()
			}()
		}
	}
	wg.Wait()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// workerResult is one worker's figures.
type workerResult struct {
	Calls        int                `json:"calls"`
	Connected    int                `json:"connected"`
	Failed       int                `json:"failed"`
	Errors       []string           `json:"errors,omitempty"`
	Warnings     []string           `json:"warnings,omitempty"`
	WarningCount int                `json:"warningCount"`
	SetupMs      []float64          `json:"setupMs"`
	MediaMs      []float64          `json:"mediaMs"`
	Sent         uint64             `json:"sent"`
	Received     uint64             `json:"received"`
	Expected     uint64             `json:"expected"`
	Streams      int                `json:"streams"`
	JitterSumMs  float64            `json:"jitterSumMs"`
	JitterMaxMs  float64            `json:"jitterMaxMs"`
	MaxGapMs     float64            `json:"maxGapMs"`
	Gaps         [gapBuckets]uint64 `json:"gaps"`
	CPUSeconds   float64            `json:"cpuSeconds"` // the worker process's, over the window
}
