// Package bot is the policy and event loop of `termcall bot`: an answering
// machine for scripted tests that handles every incoming call by its mode
// (answer, reject, busy, no-answer), one call at a time.
package bot

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
)

// Action is what the bot does with an incoming call.
type Action int

// Actions.
const (
	Nothing Action = iota // let it ring until the caller times out
	Accept                // answer it (after the answer delay)
	Reject                // decline it: the caller gets UserReject
	Ignore                // decline it as line busy: the caller gets UserLineBusy
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Ignore:
		return "ignore"
	}
	return "nothing"
}

// Policy decides how calls are handled. It is config.Bot.
type Policy = config.Bot

// Decide returns the action for a call from caller and how long to wait
// before taking it. Callers not in a non-empty Allow list are rejected.
func Decide(p Policy, caller string) (Action, time.Duration) {
	if len(p.Allow) > 0 && !slices.Contains(p.Allow, caller) {
		return Reject, 0
	}
	switch p.Mode {
	case config.BotAnswer, "":
		return Accept, p.AnswerDelay
	case config.BotReject:
		return Reject, 0
	case config.BotBusy:
		return Ignore, 0
	}
	return Nothing, 0
}

// Engine is what the bot needs of an engine; *engine.Engine is one.
type Engine interface {
	Accept(ctx context.Context) error
	Reject(ctx context.Context) error
	Ignore(ctx context.Context) error
	Hangup(ctx context.Context) error
	CurrentCall() (engine.CallInfo, bool)
}

// Bot handles the calls of one engine.
type Bot struct {
	Policy Policy
	Engine Engine
	// Emit receives every event, in order (may be nil).
	Emit func(engine.Event)
	// Say prints a human line (may be nil).
	Say func(string)
	// RequestTimeout bounds each request; default 10 s.
	RequestTimeout time.Duration
}

// Run handles events until ctx ends (it returns nil) or the session ends
// for good: kicked offline or a refused login (an *exit.Error with code 7).
func (b *Bot) Run(ctx context.Context, events <-chan engine.Event) error {
	if b.RequestTimeout <= 0 {
		b.RequestTimeout = 10 * time.Second
	}
	r := &run{b: b, ctx: ctx, say: b.Say}
	if r.say == nil {
		r.say = func(string) {}
	}
	defer r.reset()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := r.event(ev); err != nil {
				return err
			}
		case <-r.act:
			r.act, r.actTimer = nil, nil
			r.do(r.pending)
		case <-r.hang:
			r.hangup()
		}
	}
}

// run is the state of one Run: the call being handled and its timers.
type run struct {
	b           *Bot
	ctx         context.Context
	say         func(string)
	callID      string // the call being handled
	actTimer    *time.Timer
	act         <-chan time.Time // the answer delay is over: do pending
	hangTimer   *time.Timer
	hang        <-chan time.Time // MaxDuration is over: hang up
	pending     Action
	lastAuthErr string // the last login error, reported if the connection then drops
}

// event handles one event; a non-nil error ends Run.
func (r *run) event(ev engine.Event) error {
	if r.b.Emit != nil {
		r.b.Emit(ev)
	}
	switch ev := ev.(type) {
	case engine.CallReceived:
		r.received(ev)
	case engine.CallBegin:
		r.begin(ev)
	case engine.CallEnd:
		r.ended(ev.CallID)
	case engine.CallCancelled:
		r.ended(ev.CallID)
	default:
		return r.sessionEvent(ev)
	}
	return nil
}

// sessionEvent follows the login session: kicked offline, or a login
// error followed by the connection dropping, ends Run (exit code 7).
func (r *run) sessionEvent(ev engine.Event) error {
	switch ev := ev.(type) {
	case engine.KickedOffline:
		return &exit.Error{Code: exit.Auth, Err: fmt.Errorf("kicked offline: this user logged in on another device")}
	case engine.ErrorEvent:
		if exit.CodeFor(ev.Code) == exit.Auth {
			r.lastAuthErr = fmt.Sprintf("%s (%d): %s", ev.Code, int(ev.Code), ev.Message)
		}
	case engine.ConnectionChanged:
		if ev.State == engine.Disconnected && r.lastAuthErr != "" {
			return &exit.Error{Code: exit.Auth, Err: fmt.Errorf("the server refused the login: %s", r.lastAuthErr)}
		}
	}
	return nil
}

// received decides an incoming call (one call at a time: others are
// left ringing) and takes the action now or after the answer delay.
func (r *run) received(ev engine.CallReceived) {
	if r.callID != "" && r.callID != ev.CallID {
		r.say(fmt.Sprintf("ignoring call %s from %s: busy with %s", ev.CallID, ev.CallerID, r.callID))
		return
	}
	r.reset()
	r.callID = ev.CallID
	a, delay := Decide(r.b.Policy, ev.CallerID)
	r.say(fmt.Sprintf("call %s from %s: %s", ev.CallID, ev.CallerID, a))
	switch {
	case a == Nothing:
	case delay > 0:
		r.pending = a
		r.actTimer = time.NewTimer(delay)
		r.act = r.actTimer.C
	default:
		r.do(a)
	}
}

// begin starts the MaxDuration timer of the handled call (an outgoing call
// becomes the handled one).
func (r *run) begin(ev engine.CallBegin) {
	if r.callID == "" {
		r.callID = ev.CallID
	}
	if ev.CallID == r.callID && r.b.Policy.MaxDuration > 0 && r.hangTimer == nil {
		r.hangTimer = time.NewTimer(r.b.Policy.MaxDuration)
		r.hang = r.hangTimer.C
	}
}

// ended forgets the handled call when it is callID.
func (r *run) ended(callID string) {
	if callID == r.callID {
		r.reset()
	}
}

func (r *run) reset() {
	stopTimer(r.actTimer)
	stopTimer(r.hangTimer)
	r.callID, r.act, r.hang, r.actTimer, r.hangTimer = "", nil, nil, nil, nil
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// requests maps an action to its engine request (Nothing has none).
var requests = map[Action]func(Engine, context.Context) error{
	Accept: Engine.Accept,
	Reject: Engine.Reject,
	Ignore: Engine.Ignore,
}

// do takes action a on the handled call if it is still the current call.
func (r *run) do(a Action) {
	if cur, ok := r.b.Engine.CurrentCall(); !ok || cur.CallID != r.callID {
		return // the call is gone
	}
	req := requests[a]
	if req == nil {
		return
	}
	rctx, cancel := context.WithTimeout(r.ctx, r.b.RequestTimeout)
	defer cancel()
	if err := req(r.b.Engine, rctx); err != nil {
		r.say(fmt.Sprintf("%s: %v", a, err))
	}
}

// hangup ends the call at MaxDuration.
func (r *run) hangup() {
	r.hang, r.hangTimer = nil, nil
	r.say(fmt.Sprintf("hanging up after %s", r.b.Policy.MaxDuration))
	rctx, cancel := context.WithTimeout(r.ctx, r.b.RequestTimeout)
	defer cancel()
	if err := r.b.Engine.Hangup(rctx); err != nil {
		r.say("hangup: " + err.Error())
	}
}

// LightRuntime fits the Go runtime to a bot process: one P
// (runtime.GOMAXPROCS(1)) unless the GOMAXPROCS environment variable says
// otherwise. A bot moves a few 20 ms Opus frames (it sends no video) and
// needs no parallelism; with a second P, nearly every hand-off between
// pion's goroutines (several per packet) also wakes an idle thread that
// finds nothing to do, and those wake-ups cost more than the work
// (docs/performance.md, "Client CPU").
func LightRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
