package server_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/tlstest"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

// servedSerial does a TLS handshake trusting only ca and returns the
// serial number of the server's certificate.
func servedSerial(t *testing.T, addr string, ca *tlstest.CA) int64 {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: fzWait}, "tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// startTLSServer serves a signaling-only server over TLS on 127.0.0.1,
// closed when the test ends, and returns it and its address.
func startTLSServer(t *testing.T, certFile, keyFile string) (*server.Server, string) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{
		SDKAppID: fzAppID, Secret: fzSecret, DataDir: t.TempDir(), NoMedia: true,
		Logger: slog.New(slog.DiscardHandler), TLSCertFile: certFile, TLSKeyFile: keyFile,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), fzWait)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		<-served
	})
	return srv, ln.Addr().String()
}

// checkHTTPS checks /healthz over https with the test CA, and that without
// it the certificate is not trusted.
func checkHTTPS(t *testing.T, addr string, tc *tls.Config) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: tc}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("https healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("https healthz: %d %v", resp.StatusCode, resp.Header)
	}
	// Without the CA the certificate is not trusted.
	if _, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("handshake without the test CA succeeded")
	}
}

// TestTLS: with a certificate the server speaks https and wss; the engine
// logs in over wss trusting a private CA (engine.TLSConfigFromCAFile); a
// reload serves the new certificate to new connections and keeps the
// logged-in client; a bad new certificate keeps the old one.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	ca := tlstest.New(t)
	ca.WriteCA(t, caFile)
	ca.Issue(t, 100, certFile, keyFile)

	srv, addr := startTLSServer(t, certFile, keyFile)

	// https with the CA.
	tc, err := engine.TLSConfigFromCAFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	checkHTTPS(t, addr, tc)

	// The engine over wss.
	eng, err := engine.New(engine.Options{Server: "https://" + addr, TLSConfig: tc, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Destroy()
	ctx, cancel := context.WithTimeout(context.Background(), fzWait)
	defer cancel()
	sig, _ := usersig.Gen(fzAppID, fzSecret, "alice", time.Hour)
	if err := eng.Init(ctx, fzAppID, "alice", sig); err != nil {
		t.Fatalf("engine login over wss: %v", err)
	}
	if _, err := eng.QueryRecentCalls(ctx, engine.RecentCallsFilter{}); err != nil {
		t.Fatalf("request over wss: %v", err)
	}

	// An engine without the CA cannot connect.
	bare, _ := engine.New(engine.Options{Server: "wss://" + addr, NoReconnect: true})
	if err := bare.Init(ctx, fzAppID, "bob", sig); err == nil {
		t.Error("engine without the CA logged in")
	}
	bare.Destroy()

	// Reload: new connections get certificate 200; a broken certificate
	// file keeps the current one.
	checkReloadTLS(t, srv, addr, ca, certFile, keyFile)
	// The client logged in before the reloads is still served.
	if _, err := eng.QueryRecentCalls(ctx, engine.RecentCallsFilter{}); err != nil {
		t.Errorf("request after the reloads: %v", err)
	}
}

// checkReloadTLS checks that the server at addr serves certificate 100,
// then, reloaded, 200, and that a reload of a broken file fails and keeps
// 200.
func checkReloadTLS(t *testing.T, srv *server.Server, addr string, ca *tlstest.CA, certFile, keyFile string) {
	t.Helper()
	if got := servedSerial(t, addr, ca); got != 100 {
		t.Fatalf("serial %d, want 100", got)
	}
	ca.Issue(t, 200, certFile, keyFile)
	if err := srv.ReloadTLS(); err != nil {
		t.Fatalf("ReloadTLS: %v", err)
	}
	if got := servedSerial(t, addr, ca); got != 200 {
		t.Errorf("after reload: serial %d, want 200", got)
	}
	// A broken certificate file keeps the current one.
	writeFile(t, certFile, []byte("not a certificate"))
	if err := srv.ReloadTLS(); err == nil {
		t.Error("ReloadTLS of a broken file succeeded")
	}
	if got := servedSerial(t, addr, ca); got != 200 {
		t.Errorf("after a failed reload: serial %d, want 200", got)
	}
}

// TestTLSConfigErrors: a missing or broken certificate is an error at New,
// and so is a certificate without a key.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	writeFile(t, bad, []byte("junk"))
	for _, tc := range []struct{ name, cert, key string }{
		{"missing", filepath.Join(dir, "none.pem"), filepath.Join(dir, "none.key")},
		{"broken", bad, bad},
		{"no key", bad, ""},
	} {
		s, err := server.New(context.Background(), server.Config{SDKAppID: 1, Secret: "s", DataDir: t.TempDir(), NoMedia: true,
			Logger: slog.New(slog.DiscardHandler), TLSCertFile: tc.cert, TLSKeyFile: tc.key})
		if err == nil {
			s.Close(context.Background())
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
}

func writeFile(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
