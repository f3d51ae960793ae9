package exit

import (
	"errors"
	"fmt"
	"testing"

	"github.com/termcall/termcall/protocol"
)

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, OK},
		{errors.New("boom"), Failure},
		{protocol.Errorf(protocol.CodeInvalidUserSig, "x"), Auth},
		{protocol.Errorf(protocol.CodeUserSigExpired, "x"), Auth},
		{protocol.Errorf(protocol.CodeKickedOffline, "x"), Auth},
		{protocol.Errorf(protocol.CodeServerUnreachable, "x"), Unreachable},
		{protocol.Errorf(protocol.CodeInvalidUserID, "x"), Usage},
		{protocol.Errorf(protocol.CodeInvalidArgument, "x"), Usage},
		{protocol.Errorf(protocol.CodeUnknownUser, "x"), Failure},
		{protocol.Errorf(protocol.CodeConnectionLost, "x"), Failure},
		{fmt.Errorf("wrapped: %w", protocol.Errorf(protocol.CodeServerUnreachable, "x")), Unreachable},
		{Usagef("bad"), Usage},
		{With(Busy, errors.New("x")), Busy},
		{Silently(Rejected), Rejected},
		{Wrap(protocol.Errorf(protocol.CodeSDKAppIDMismatch, "x")), Auth},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if Silently(OK) != nil || With(Usage, nil) != nil || Wrap(nil) != nil {
		t.Error("nil errors must stay nil")
	}
}
