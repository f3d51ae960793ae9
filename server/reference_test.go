package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// TestInviteTimeoutRange: the reference's 10..600 s by default (0 is 30);
// MinInviteTimeout lowers the floor.
func TestInviteTimeoutRange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := startFzServerWith(t, func(c *server.Config) { c.NoMedia, c.MinInviteTimeout = true, 0 })
	bob := pushLogin(t, s, "bob")
	defer bob.Destroy()
	alice := pushLogin(t, s, "alice")
	defer alice.Destroy()
	for _, tt := range []struct {
		timeout int
		code    protocol.Code
	}{{9, protocol.CodeInvalidTimeout}, {1, protocol.CodeInvalidTimeout}, {601, protocol.CodeInvalidTimeout}, {10, 0}, {0, 0}, {600, 0}} {
		_, err := alice.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{Timeout: tt.timeout})
		if tt.code != 0 {
			if codeOf(err) != tt.code {
				t.Errorf("timeout %d: %v, want %d", tt.timeout, err, tt.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("timeout %d: %v", tt.timeout, err)
			continue
		}
		alice.Hangup(ctx) //nolint:errcheck
	}

	s2 := startFzServerWith(t, func(c *server.Config) { c.NoMedia, c.MinInviteTimeout = true, 1 })
	pushLogin(t, s2, "bob").Destroy()
	carol := pushLogin(t, s2, "carol")
	defer carol.Destroy()
	if _, err := carol.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 1}); err != nil {
		t.Errorf("timeout 1 with MinInviteTimeout 1: %v", err)
	}
}
