package callrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

// Placer is what Run uses of an engine: place or join a call, read the
// call status, hang up. *engine.Engine is one.
type Placer interface {
	Hanger
	Call(ctx context.Context, userID string, media engine.MediaType, p engine.CallParams) (engine.CallInfo, error)
	GroupCall(ctx context.Context, groupID string, userIDs []string, media engine.MediaType, p engine.CallParams) (engine.CallInfo, error)
	Join(ctx context.Context, callID string) (engine.CallInfo, error)
	JoinInGroupCall(ctx context.Context, room engine.RoomID, groupID string, media engine.MediaType) (engine.CallInfo, error)
	Status() engine.Status
}

var _ Placer = (*engine.Engine)(nil)

// Target is what a Call places or joins: a 1v1 call to Callee, a group
// call to Invitees in Group, or (Join) the call CallID, else Group's call
// in Room.
type Target struct {
	Callee   string   // call
	Group    string   // groupcall, join
	Invitees []string // groupcall
	Join     bool
	CallID   string        // join
	Room     engine.RoomID // join by room
	Media    engine.MediaType
	Params   engine.CallParams
}

// Validate checks the target's user, group and call IDs; a bad one is a
// usage error.
func (t Target) Validate() error {
	ids := t.Invitees
	if !t.Join && t.Group == "" {
		ids = []string{t.Callee}
	}
	for _, id := range ids {
		if err := protocol.ValidateUserID(id); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	if t.Group != "" {
		if err := protocol.ValidateGroupID(t.Group); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	if t.Join && t.CallID != "" {
		if err := protocol.ValidateCallID(t.CallID); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	return nil
}

// place places or joins the call.
func (t Target) place(ctx context.Context, p Placer) (engine.CallInfo, error) {
	switch {
	case t.Join && t.CallID != "":
		return p.Join(ctx, t.CallID)
	case t.Join:
		return p.JoinInGroupCall(ctx, t.Room, t.Group, engine.MediaTypeUnknown)
	case t.Group != "":
		return p.GroupCall(ctx, t.Group, t.Invitees, t.Media, t.Params)
	}
	return p.Call(ctx, t.Callee, t.Media, t.Params)
}

// progress is the line said once the call is placed or joined.
func (t Target) progress(info engine.CallInfo) string {
	switch {
	case t.Join:
		return fmt.Sprintf("joining call %s (room %s)...", info.CallID, info.RoomID)
	case t.Group != "":
		return fmt.Sprintf("ringing %s in group %s...", strings.Join(t.Invitees, ", "), t.Group)
	}
	return fmt.Sprintf("ringing %s...", t.Callee)
}

// Call is one run of termcall call, groupcall or join: log in, place or
// join the target, follow the call until it is over, report the outcome.
type Call struct {
	Engine Placer
	Events <-chan engine.Event // the engine's events, in order
	// Login logs in; it is the first step of the setup.
	Login        func(ctx context.Context) error
	Server, User string // for the "logging in" line
	Target       Target
	// Ringback plays (true) or stops the caller's ringback tone; may be
	// nil. It plays from the moment a call (not a join) is placed until
	// the call begins or ends.
	Ringback func(on bool)
	// Duration hangs up this long after the call connects (0: wait).
	Duration time.Duration
	// Emit receives every event, in order (may be nil).
	Emit func(engine.Event)
	// Say prints a human line (may be nil).
	Say func(string)
	// Summary receives the final summary as an NDJSON line; nil says only
	// a failure's message, with Say.
	Summary func([]byte)
	// Signals delivers SIGINT/SIGTERM; nil subscribes to the process's.
	// During the setup the first cancels it; afterwards the first hangs up
	// (or cancels the ringing call) and a second ends the wait at once.
	Signals <-chan os.Signal
}

// Run performs the call and returns its exit code as exit.Silently does:
// nil for 0, else an *exit.Error with nothing more to say.
func (c *Call) Run(ctx context.Context) error {
	c.defaults()
	r := relaySignals(ctx, c.Signals)
	defer r.stop()
	tr := NewTracker("")
	c.Say(fmt.Sprintf("logging in to %s as %s...", c.Server, c.User))
	if err := c.Login(r.setup); err != nil {
		return c.setupFailed(tr, r, err)
	}
	info, err := c.Target.place(r.setup, c.Engine)
	if err != nil {
		return c.setupFailed(tr, r, err)
	}
	tr.CallID = info.CallID
	r.waiting.Store(true)
	if !c.Target.Join {
		// The status check after starting closes the race with an answer
		// that came before it.
		c.Ringback(true)
		if c.Engine.Status() != engine.StatusWaiting {
			c.Ringback(false)
		}
	}
	c.Say(c.Target.progress(info))
	Wait(ctx, c.Engine, tr, c.Events, Options{Duration: c.Duration, Interrupt: r.interrupt, Emit: c.Emit, Say: c.Say})
	return c.finish(tr)
}

func (c *Call) defaults() {
	if c.Say == nil {
		c.Say = func(string) {}
	}
	if c.Emit == nil {
		c.Emit = func(engine.Event) {}
	}
	if c.Ringback == nil {
		c.Ringback = func(bool) {}
	}
}

// setupFailed ends a run whose login or placing failed: cancelled when a
// signal (or ctx) stopped it, else an error.
func (c *Call) setupFailed(tr *Tracker, r *relay, err error) error {
	if r.cancelled.Load() || errors.Is(err, context.Canceled) {
		tr.Observe(engine.CallCancelled{Reason: engine.ReasonCanceled}, time.Now())
	} else {
		tr.Fail(err)
	}
	return c.finish(tr)
}

// finish takes the events that have already arrived (for the JSON
// stream), then reports the summary.
func (c *Call) finish(tr *Tracker) error {
	for drained := false; !drained; {
		select {
		case ev := <-c.Events:
			c.Emit(ev)
			tr.Observe(ev, time.Now())
		default:
			drained = true
		}
	}
	sum := tr.Summary(time.Now())
	if c.Summary != nil {
		c.Summary(SummaryLine(sum))
	} else if sum.Result == Error {
		c.Say(sum.Error)
	}
	return exit.Silently(sum.ExitCode)
}

// relay turns signals into the setup's cancellation, then into Wait's
// interrupts.
type relay struct {
	setup     context.Context
	cancel    context.CancelFunc
	interrupt chan struct{}
	waiting   atomic.Bool // the setup is over: signals only interrupt
	cancelled atomic.Bool // a signal cancelled the setup
	done      chan struct{}
	stopped   func()
}

func relaySignals(ctx context.Context, sigs <-chan os.Signal) *relay {
	r := &relay{interrupt: make(chan struct{}, 2), done: make(chan struct{}), stopped: func() {}}
	r.setup, r.cancel = context.WithCancel(ctx)
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		sigs, r.stopped = ch, func() { signal.Stop(ch) }
	}
	go r.loop(sigs)
	return r
}

func (r *relay) loop(sigs <-chan os.Signal) {
	for {
		select {
		case <-sigs:
		case <-r.done:
			return
		}
		if !r.waiting.Load() {
			r.cancelled.Store(true)
			r.cancel()
		}
		select {
		case r.interrupt <- struct{}{}:
		default:
		}
	}
}

func (r *relay) stop() {
	r.stopped()
	close(r.done)
	r.cancel()
}
