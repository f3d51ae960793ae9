package cmd_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/termcall/termcall/internal/tlstest"
)

// freeUDPPort returns a UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestServeMediaConfigKeys: serve.udp_port and serve.media_ip from the
// config file are used (they were ignored), and the flags win over them.
func TestServeMediaConfigKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freeUDPPort(t)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("serve:\n  udp_port: %d\n  media_ip: 127.0.0.1\n  idle_timeout: 5s\n", port)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "", true, "--config", cfg, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
	if l := p.waitLine(t, "media on udp"); !strings.HasSuffix(l, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("config keys: %q, want udp 127.0.0.1:%d", l, port)
	}
	other := freeUDPPort(t)
	p = start(t, "", true, "--config", cfg, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--udp-port", fmt.Sprint(other))
	if l := p.waitLine(t, "media on udp"); !strings.HasSuffix(l, fmt.Sprintf("127.0.0.1:%d", other)) {
		t.Errorf("flag over key: %q, want udp 127.0.0.1:%d", l, other)
	}
	p = start(t, "", true, "--config", cfg, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media")
	p.waitLine(t, "listening on")
	if r := run(t, "", "--config", cfg, "serve", "--max-connections", "-3"); r.code != 2 || !strings.Contains(r.stderr, "serve.max_connections") {
		t.Errorf("bad --max-connections: exit %d, %s", r.code, r.stderr)
	}
	if r := run(t, "", "serve", "--tls-cert", "c.pem"); r.code != 2 || !strings.Contains(r.stderr, "serve.tls_cert") {
		t.Errorf("--tls-cert without --tls-key: exit %d, %s", r.code, r.stderr)
	}
}

// TestServeTLS: serve --tls-cert/--tls-key speaks wss; a client trusts a
// private CA with --ca-file; SIGHUP reloads the certificate.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := tlstest.New(t)
	ca.WriteCA(t, caFile)
	ca.Issue(t, 10, certFile, keyFile)
	p := start(t, "", true, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media",
		"--tls-cert", certFile, "--tls-key", keyFile)
	l := p.waitLine(t, "termcall serve listening on ")
	addr := strings.TrimSpace(strings.TrimPrefix(l, "termcall serve listening on "))
	url := "https://" + addr

	if r := run(t, url, "history", "--user", "tlsalice", "--ca-file", caFile, "--json"); r.code != 0 {
		t.Errorf("history over wss with --ca-file: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, url, "history", "--user", "tlsalice", "--json"); r.code == 0 {
		t.Errorf("history over wss without the CA: exit 0, want a failure")
	}
	if r := run(t, url, "history", "--user", "tlsalice", "--ca-file", filepath.Join(dir, "none.pem")); r.code != 2 {
		t.Errorf("missing --ca-file: exit %d, want 2\n%s", r.code, r.stderr)
	}

	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 10 {
		t.Fatalf("serial %d, want 10", got)
	}
	ca.Issue(t, 11, certFile, keyFile)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "TLS certificate reloaded")
	if got := serial(); got != 11 {
		t.Errorf("after SIGHUP: serial %d, want 11", got)
	}
}
