package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

// A lower layer's error stays reachable through the protocol error that
// reports it, and never shows on the wire.
func TestErrorKeepsCause(t *testing.T) {
	_, statErr := os.Stat("/no/such/termcall/file")
	cases := []struct {
		name   string
		err    *protocol.Error
		target error
		msg    string
	}{
		{"Errorf %w", protocol.Errorf(protocol.CodeInternal, "store: %w", context.DeadlineExceeded),
			context.DeadlineExceeded, "store: context deadline exceeded"},
		{"Errorf two %w", protocol.Errorf(protocol.CodeInternal, "%w then %w", context.Canceled, statErr),
			fs.ErrNotExist, "context canceled then " + statErr.Error()},
		{"WithCause", protocol.Errorf(protocol.CodeServerUnreachable, "history unavailable").WithCause(statErr),
			fs.ErrNotExist, "history unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.target) {
				t.Fatalf("errors.Is(%v, %v) = false", tc.err, tc.target)
			}
			if tc.err.Message != tc.msg {
				t.Errorf("message = %q, want %q", tc.err.Message, tc.msg)
			}
			// Matching by code still works, and a wrapped protocol error
			// keeps its code.
			if !errors.Is(tc.err, &protocol.Error{Code: tc.err.Code}) {
				t.Errorf("errors.Is by code failed")
			}
			if got := protocol.CodeOf(tc.err); got != tc.err.Code {
				t.Errorf("CodeOf = %v, want %v", got, tc.err.Code)
			}
			b, err := json.Marshal(tc.err)
			if err != nil {
				t.Fatal(err)
			}
			var wire map[string]any
			if err := json.Unmarshal(b, &wire); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"code": float64(tc.err.Code), "message": tc.msg}
			if diff := cmp.Diff(want, wire); diff != "" {
				t.Errorf("wire JSON (-want +got):\n%s", diff)
			}
		})
	}

	var pathErr *fs.PathError
	if !errors.As(cases[2].err, &pathErr) || pathErr.Path != "/no/such/termcall/file" {
		t.Errorf("errors.As(*fs.PathError) = %v, %v", pathErr, errors.As(cases[2].err, &pathErr))
	}
	if plain := protocol.Errorf(protocol.CodeInternal, "no cause: %v", statErr); plain.Unwrap() != nil {
		t.Errorf("%%v made a cause: %v", plain.Unwrap())
	}
	// WithCause copies: the original stays without a cause.
	base := protocol.Errorf(protocol.CodeInternal, "x")
	_ = base.WithCause(statErr)
	if base.Unwrap() != nil {
		t.Errorf("WithCause changed its receiver")
	}
}

// go-cmp compares errors by what goes on the wire, so replies carrying an
// *Error compare as before even with a cause inside.
func TestErrorEqualIgnoresCause(t *testing.T) {
	a := &protocol.Message{Error: protocol.Errorf(protocol.CodeInternal, "boom").WithCause(context.Canceled)}
	b := &protocol.Message{Error: &protocol.Error{Code: protocol.CodeInternal, Message: "boom"}}
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	c := &protocol.Message{Error: &protocol.Error{Code: protocol.CodeInternal, Message: "other"}}
	if cmp.Equal(a, c) {
		t.Errorf("different messages compared equal")
	}
}
