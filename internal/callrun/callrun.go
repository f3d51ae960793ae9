// Package callrun follows one call placed or joined by the CLI: it tracks
// the call's events, decides the outcome (connected, rejected, busy, ...)
// and its exit code, and formats events and the final summary as NDJSON or
// short human lines.
package callrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

// Result is the outcome of a call, as the summary line names it.
type Result string

// Results.
const (
	Connected  Result = "connected"
	Rejected   Result = "rejected"
	Busy       Result = "busy"
	NoResponse Result = "no_response"
	Cancelled  Result = "cancelled"
	Error      Result = "error"
)

// ExitCode is the process exit code for a result other than Error.
func (r Result) ExitCode() int {
	switch r {
	case Connected:
		return exit.OK
	case Rejected:
		return exit.Rejected
	case Busy:
		return exit.Busy
	case NoResponse:
		return exit.NoResponse
	case Cancelled:
		return exit.Cancelled
	}
	return exit.Failure
}

// Tracker follows the events of one call and works out its outcome. It is
// not safe for concurrent use.
type Tracker struct {
	// CallID is the call followed; events of other calls are ignored.
	// Empty means the first call seen.
	CallID string

	began, ended time.Time
	connected    bool
	done         bool
	cancelReason engine.EndReason
	cancelled    bool
	invitees     map[string]Result
	failCode     int // exit code of a failure that ended the run; 0 = none
	failErr      string
}

// NewTracker follows the call callID.
func NewTracker(callID string) *Tracker {
	return &Tracker{CallID: callID, invitees: make(map[string]Result)}
}

func (t *Tracker) mine(callID string) bool {
	if t.CallID == "" {
		t.CallID = callID
	}
	return callID == t.CallID
}

// Observe takes one event; it reports whether the call is over for this
// user (or the session ended).
func (t *Tracker) Observe(ev engine.Event, now time.Time) (done bool) {
	if t.invitees == nil {
		t.invitees = make(map[string]Result)
	}
	if !t.observeCall(ev, now) {
		t.observeSession(ev, now)
	}
	return t.done
}

// observeCall takes the events of a call; false for the others.
func (t *Tracker) observeCall(ev engine.Event, now time.Time) bool {
	switch ev := ev.(type) {
	case engine.CallBegin:
		if t.mine(ev.CallID) && !t.connected {
			t.connected, t.began = true, now
		}
	case engine.CallEnd:
		if t.mine(ev.CallID) {
			t.done, t.ended = true, now
		}
	case engine.CallCancelled:
		if t.mine(ev.CallID) {
			t.done, t.ended = true, now
			t.cancelled, t.cancelReason = true, ev.Reason
		}
	case engine.UserReject:
		t.invitee(ev.CallID, ev.UserID, Rejected)
	case engine.UserLineBusy:
		t.invitee(ev.CallID, ev.UserID, Busy)
	case engine.UserNoResponse:
		t.invitee(ev.CallID, ev.UserID, NoResponse)
	default:
		return false
	}
	return true
}

// invitee records an invitee's outcome in the call followed.
func (t *Tracker) invitee(callID, userID string, r Result) {
	if t.mine(callID) {
		t.invitees[userID] = r
	}
}

// observeSession takes the events of the session: being kicked, errors,
// the connection lost for good.
func (t *Tracker) observeSession(ev engine.Event, now time.Time) {
	switch ev := ev.(type) {
	case engine.KickedOffline:
		t.fail(exit.Auth, "kicked offline: this user logged in on another device")
		t.done, t.ended = true, now
	case engine.ErrorEvent:
		if c := exit.CodeFor(ev.Code); c == exit.Auth {
			t.fail(c, fmt.Sprintf("%s (%d): %s", ev.Code, int(ev.Code), ev.Message))
		} else if t.failCode == 0 {
			t.failErr = fmt.Sprintf("%s (%d): %s", ev.Code, int(ev.Code), ev.Message)
		}
	case engine.ConnectionChanged:
		// The engine gives up reconnecting only when the server refuses the
		// login (reported by an ErrorEvent just before).
		if ev.State == engine.Disconnected && !t.done {
			t.fail(exit.Failure, "disconnected from the server")
			t.done, t.ended = true, now
		}
	}
}

func (t *Tracker) fail(code int, msg string) {
	if t.failCode == 0 || t.failCode == exit.Failure {
		t.failCode = code
		if msg != "" && (t.failErr == "" || code == exit.Auth) {
			t.failErr = msg
		}
	}
}

// Fail records a failure that ends the run (an error from a request).
func (t *Tracker) Fail(err error) {
	t.fail(exit.Code(err), err.Error())
	t.done = true
}

// Connected reports whether the call connected for this user.
func (t *Tracker) Connected() bool { return t.connected }

// Done reports whether the call is over for this user.
func (t *Tracker) Done() bool { return t.done }

// FailureMessage says why the run failed, or "".
func (t *Tracker) FailureMessage() string { return t.failErr }

// resultOrder breaks ties between invitee outcomes.
var resultOrder = []Result{Rejected, Busy, NoResponse}

// Outcome returns the call's result and the exit code. A call that
// connected is Connected (even if the session later failed); otherwise a
// failure (kicked offline, refused login) is Error with its code; otherwise
// the most common invitee outcome; otherwise what the cancellation reason
// says; otherwise Cancelled.
func (t *Tracker) Outcome() (Result, int) {
	if t.connected {
		return Connected, exit.OK
	}
	if t.failCode != 0 {
		return Error, t.failCode
	}
	counts := make(map[Result]int)
	for _, r := range t.invitees {
		counts[r]++
	}
	best, n := Result(""), 0
	for _, r := range resultOrder {
		if counts[r] > n {
			best, n = r, counts[r]
		}
	}
	if best != "" {
		return best, best.ExitCode()
	}
	if t.cancelled {
		switch t.cancelReason {
		case engine.ReasonReject, engine.ReasonOtherDeviceReject:
			return Rejected, exit.Rejected
		case engine.ReasonLineBusy:
			return Busy, exit.Busy
		case engine.ReasonNoResponse:
			return NoResponse, exit.NoResponse
		}
	}
	return Cancelled, exit.Cancelled
}

// Duration is how long the call was connected for this user, measured
// locally from CallBegin to the end (or now).
func (t *Tracker) Duration(now time.Time) time.Duration {
	if !t.connected {
		return 0
	}
	end := t.ended
	if end.IsZero() {
		end = now
	}
	return end.Sub(t.began)
}

// Summary is the last NDJSON line of a call command.
type Summary struct {
	TS              int64   `json:"ts"`
	Event           string  `json:"event"` // always "summary"
	Result          Result  `json:"result"`
	CallID          string  `json:"callId"`
	DurationSeconds float64 `json:"durationSeconds"`
	ExitCode        int     `json:"exitCode"`
	Error           string  `json:"error,omitempty"`
}

// Summary returns the summary of the call as it stands.
func (t *Tracker) Summary(now time.Time) Summary {
	res, code := t.Outcome()
	s := Summary{TS: now.UnixMilli(), Event: "summary", Result: res, CallID: t.CallID, ExitCode: code,
		DurationSeconds: math.Round(t.Duration(now).Seconds()*1000) / 1000}
	if res == Error {
		s.Error = t.failErr
	}
	return s
}

// EventLine returns an event's NDJSON form, {"ts":<unix ms>,"event":...}.
func EventLine(ev engine.Event, now time.Time) ([]byte, error) {
	b, err := engine.MarshalEvent(ev)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"ts":%d,`, now.UnixMilli())
	buf.Write(b[1:])
	return buf.Bytes(), nil
}

// SummaryLine returns the summary's NDJSON form.
func SummaryLine(s Summary) []byte {
	b, _ := json.Marshal(s)
	return b
}

// Describe returns a short human line for an event, or "" for events not
// worth a line.
func Describe(ev engine.Event) string {
	for _, d := range describers {
		if s := d(ev); s != "" {
			return s
		}
	}
	return ""
}

// describers describe, each, one group of events ("" for the others).
var describers = []func(engine.Event) string{describeCall, describeUser, describeSession}

// describeCall describes the call's own events.
func describeCall(ev engine.Event) string {
	switch ev := ev.(type) {
	case engine.CallReceived:
		kind := "call"
		if ev.GroupID != "" {
			kind = "group call (" + ev.GroupID + ")"
		}
		return fmt.Sprintf("incoming %s %s from %s", ev.MediaType, kind, ev.CallerID)
	case engine.CallBegin:
		return "connected"
	case engine.CallEnd:
		by := ""
		if ev.UserID != "" {
			by = " by " + ev.UserID
		}
		return fmt.Sprintf("call ended%s (%s) after %ds", by, ev.Reason, ev.TotalTime)
	case engine.CallCancelled:
		return fmt.Sprintf("call not connected (%s)", ev.Reason)
	case engine.CallMediaTypeChanged:
		return fmt.Sprintf("switched to %s", ev.NewType)
	case engine.CallMissed: // --- kit: match the reference ---
		return fmt.Sprintf("missed call from %s (you were in a call)", ev.CallerID)
	}
	return ""
}

// describeUser describes what another participant did.
func describeUser(ev engine.Event) string {
	switch ev := ev.(type) {
	case engine.UserReject:
		return ev.UserID + " rejected the call"
	case engine.UserLineBusy:
		return ev.UserID + "'s line is busy"
	case engine.UserNoResponse:
		return ev.UserID + " did not answer"
	case engine.UserJoin:
		return ev.UserID + " joined"
	case engine.UserLeave:
		return ev.UserID + " left"
	}
	return ""
}

// describeSession describes the login session's events.
func describeSession(ev engine.Event) string {
	switch ev := ev.(type) {
	case engine.KickedOffline:
		return "kicked offline: this user logged in on another device"
	case engine.UserSigExpired:
		return "userSig expired"
	case engine.ErrorEvent:
		return fmt.Sprintf("error: %s (%d): %s", ev.Code, int(ev.Code), ev.Message)
	case engine.ConnectionChanged:
		if ev.State == engine.Reconnecting {
			return "connection lost; reconnecting..."
		}
	}
	return ""
}

// Hanger hangs up the current call; *engine.Engine is one.
type Hanger interface {
	Hangup(ctx context.Context) error
}

// Options configure Wait.
type Options struct {
	// Duration hangs up this long after the call connects; 0 waits for the
	// other side.
	Duration time.Duration
	// Interrupt delivers Ctrl-C: the first hangs up (or cancels) and waits
	// for the call to end; the second makes Wait return at once.
	Interrupt <-chan struct{}
	// Emit receives every event, in order, as it is taken.
	Emit func(engine.Event)
	// Say prints a human line (may be nil).
	Say func(string)
	// HangupTimeout bounds the wait for the call to end after a hangup;
	// default 5 s.
	HangupTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Wait follows the call until it is over for this user, hanging up after
// opts.Duration or on interrupt. It returns when the tracker is done, after
// a second interrupt, or when ctx ends.
func Wait(ctx context.Context, h Hanger, t *Tracker, events <-chan engine.Event, opts Options) {
	w := newWaiter(ctx, h, t, opts)
	for !t.Done() {
		if !w.step(events) {
			return
		}
	}
}

// waiter is the state of one Wait.
type waiter struct {
	ctx  context.Context
	h    Hanger
	t    *Tracker
	opts Options

	durTimer   <-chan time.Time // hangs up after opts.Duration
	giveUp     <-chan time.Time // stops waiting for the end after a hangup
	hungUp     bool
	interrupts int
}

func newWaiter(ctx context.Context, h Hanger, t *Tracker, opts Options) *waiter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Say == nil {
		opts.Say = func(string) {}
	}
	if opts.HangupTimeout <= 0 {
		opts.HangupTimeout = 5 * time.Second
	}
	return &waiter{ctx: ctx, h: h, t: t, opts: opts}
}

// step waits for the next thing to happen; false ends the wait.
func (w *waiter) step(events <-chan engine.Event) bool {
	select {
	case ev, ok := <-events:
		if !ok {
			return false
		}
		w.take(ev)
	case <-w.durTimer:
		w.durTimer = nil
		w.hangup(fmt.Sprintf("hanging up after %s", w.opts.Duration))
	case <-w.opts.Interrupt:
		return w.interrupted()
	case <-w.giveUp:
		w.opts.Say("the server did not confirm the end of the call")
		return false
	case <-w.ctx.Done():
		return false
	}
	return true
}

// take passes an event on and tracks it; the call connecting starts the
// Duration timer.
func (w *waiter) take(ev engine.Event) {
	if w.opts.Emit != nil {
		w.opts.Emit(ev)
	}
	wasConnected := w.t.Connected()
	w.t.Observe(ev, w.opts.Now())
	if !wasConnected && w.t.Connected() && w.opts.Duration > 0 && !w.hungUp {
		w.durTimer = time.After(w.opts.Duration)
	}
}

// interrupted handles Ctrl-C: the first hangs up (or cancels), the second
// ends the wait.
func (w *waiter) interrupted() bool {
	w.interrupts++
	if w.interrupts > 1 {
		return false
	}
	if w.t.Connected() {
		w.hangup("hanging up...")
	} else {
		w.hangup("cancelling the call...")
	}
	return true
}

// hangup hangs up once, then gives the server HangupTimeout to confirm.
func (w *waiter) hangup(why string) {
	if w.hungUp {
		return
	}
	w.hungUp = true
	w.opts.Say(why)
	hctx, cancel := context.WithTimeout(w.ctx, w.opts.HangupTimeout)
	err := w.h.Hangup(hctx)
	cancel()
	if err != nil && !engine.IsCode(err, protocol.CodeNoCurrentCall) {
		w.opts.Say("hangup: " + err.Error())
	}
	w.giveUp = time.After(w.opts.HangupTimeout)
}
