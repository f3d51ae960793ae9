package cmd

import (
	"testing"

	"github.com/termcall/termcall/config"
)

// TestServerConfigDirectSockets: serve.no_direct_sockets reaches the
// server (and from there the SFU's NoDirectSockets); the default keeps
// direct sockets on.
func TestServerConfigDirectSockets(t *testing.T) {
	cfg := config.Default()
	if serverConfig(cfg, false, nil).NoDirectSockets {
		t.Error("default config: NoDirectSockets set, want direct sockets on")
	}
	cfg.Serve.NoDirectSockets = true
	if !serverConfig(cfg, false, nil).NoDirectSockets {
		t.Error("serve.no_direct_sockets: true did not reach server.Config")
	}
}
