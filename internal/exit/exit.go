// Package exit maps termcall's outcomes and errors to process exit codes.
// The table is documented in docs/errors.md ("CLI exit codes") and README.md.
package exit

import (
	"errors"
	"fmt"

	"github.com/termcall/termcall/protocol"
)

// Exit codes.
const (
	OK          = 0 // connected, or the command succeeded
	Failure     = 1 // anything else
	Usage       = 2 // bad flags, arguments or configuration
	Rejected    = 3 // the callee rejected the call
	Busy        = 4 // line busy, including an ignored call
	NoResponse  = 5 // the call rang until the timeout
	Cancelled   = 6 // cancelled, or not connected for another reason
	Auth        = 7 // authentication failed (2xxx) or kicked offline
	Unreachable = 8 // the server was unreachable (5002)
)

// Table is the exit-code table for help texts.
const Table = `Exit codes:
  0  connected (or the command succeeded)
  1  any other failure
  2  usage error: bad flags, arguments or configuration
  3  the callee rejected the call
  4  line busy (including a callee who ignored the call)
  5  no response: the call rang until the timeout
  6  cancelled, or not connected for any other reason
  7  authentication failed (error 2xxx) or kicked offline
  8  server unreachable (error 5002)`

// Error is an error that carries the exit code the process should end with.
// Silent errors have already been reported and print nothing more.
type Error struct {
	Code   int
	Err    error
	Silent bool
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Code returns an error's exit code: the code of an *Error, else the code
// CodeFor gives for a termcall error code, else Failure. Nil gives OK.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return CodeFor(pe.Code)
	}
	return Failure
}

// CodeFor maps a termcall error code (docs/errors.md) to an exit code:
// 2xxx authentication → 7, 5002 → 8, invalid values (1004, 3xxx) → 2,
// anything else → 1.
func CodeFor(c protocol.Code) int {
	switch {
	case c == protocol.CodeOK:
		return OK
	case c >= 2000 && c < 3000:
		return Auth
	case c == protocol.CodeServerUnreachable:
		return Unreachable
	case c == protocol.CodeInvalidArgument, c >= 3000 && c < 4000:
		return Usage
	}
	return Failure
}

// With wraps err with an explicit exit code.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef is a usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Wrap gives err the exit code Code(err) computes, keeping the message.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: Code(err), Err: err}
}

// Silently returns an error that only sets the exit code.
func Silently(code int) error {
	if code == OK {
		return nil
	}
	return &Error{Code: code, Silent: true}
}
