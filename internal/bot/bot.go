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
	say := b.Say
	if say == nil {
		say = func(string) {}
	}
	if b.RequestTimeout <= 0 {
		b.RequestTimeout = 10 * time.Second
	}
	var (
		callID      string // the call being handled
		actTimer    *time.Timer
		act         <-chan time.Time
		hangTimer   *time.Timer
		hang        <-chan time.Time
		pending     Action
		lastAuthErr string
	)
	stop := func(t *time.Timer) {
		if t != nil {
			t.Stop()
		}
	}
	reset := func() {
		stop(actTimer)
		stop(hangTimer)
		callID, act, hang, actTimer, hangTimer = "", nil, nil, nil, nil
	}
	defer reset()
	do := func(a Action) {
		if cur, ok := b.Engine.CurrentCall(); !ok || cur.CallID != callID {
			return // the call is gone
		}
		rctx, cancel := context.WithTimeout(ctx, b.RequestTimeout)
		defer cancel()
		var err error
		switch a {
		case Accept:
			err = b.Engine.Accept(rctx)
		case Reject:
			err = b.Engine.Reject(rctx)
		case Ignore:
			err = b.Engine.Ignore(rctx)
		}
		if err != nil {
			say(fmt.Sprintf("%s: %v", a, err))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if b.Emit != nil {
				b.Emit(ev)
			}
			switch ev := ev.(type) {
			case engine.CallReceived:
				if callID != "" && callID != ev.CallID {
					say(fmt.Sprintf("ignoring call %s from %s: busy with %s", ev.CallID, ev.CallerID, callID))
					continue
				}
				reset()
				callID = ev.CallID
				a, delay := Decide(b.Policy, ev.CallerID)
				say(fmt.Sprintf("call %s from %s: %s", ev.CallID, ev.CallerID, a))
				switch {
				case a == Nothing:
				case delay > 0:
					pending = a
					actTimer = time.NewTimer(delay)
					act = actTimer.C
				default:
					do(a)
				}
			case engine.CallBegin:
				if callID == "" {
					callID = ev.CallID
				}
				if ev.CallID == callID && b.Policy.MaxDuration > 0 && hangTimer == nil {
					hangTimer = time.NewTimer(b.Policy.MaxDuration)
					hang = hangTimer.C
				}
			case engine.CallEnd:
				if ev.CallID == callID {
					reset()
				}
			case engine.CallCancelled:
				if ev.CallID == callID {
					reset()
				}
			case engine.KickedOffline:
				return &exit.Error{Code: exit.Auth, Err: fmt.Errorf("kicked offline: this user logged in on another device")}
			case engine.ErrorEvent:
				if exit.CodeFor(ev.Code) == exit.Auth {
					lastAuthErr = fmt.Sprintf("%s (%d): %s", ev.Code, int(ev.Code), ev.Message)
				}
			case engine.ConnectionChanged:
				if ev.State == engine.Disconnected && lastAuthErr != "" {
					return &exit.Error{Code: exit.Auth, Err: fmt.Errorf("the server refused the login: %s", lastAuthErr)}
				}
			}
		case <-act:
			act, actTimer = nil, nil
			do(pending)
		case <-hang:
			hang, hangTimer = nil, nil
			say(fmt.Sprintf("hanging up after %s", b.Policy.MaxDuration))
			rctx, cancel := context.WithTimeout(ctx, b.RequestTimeout)
			if err := b.Engine.Hangup(rctx); err != nil {
				say("hangup: " + err.Error())
			}
			cancel()
		}
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
