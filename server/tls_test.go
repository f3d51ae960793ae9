package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "termcall test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a server certificate for 127.0.0.1 with the given serial
// number to certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func write(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// servedSerial does a TLS handshake trusting only ca and returns the
// serial number of the server's certificate.
func servedSerial(t *testing.T, addr string, ca *testCA) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: fzWait}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestTLS: with a certificate the server speaks https and wss; the engine
// logs in over wss trusting a private CA (engine.TLSConfigFromCAFile); a
// reload serves the new certificate to new connections and keeps the
// logged-in client; a bad new certificate keeps the old one.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	ca := newTestCA(t)
	write(t, caFile, ca.pem)
	ca.issue(t, 100, certFile, keyFile)

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
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), fzWait)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		<-served
	}()
	addr := ln.Addr().String()

	// https with the CA.
	tc, err := engine.TLSConfigFromCAFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
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

	// Reload: new connections get certificate 200.
	if got := servedSerial(t, addr, ca); got != 100 {
		t.Fatalf("serial %d, want 100", got)
	}
	ca.issue(t, 200, certFile, keyFile)
	if err := srv.ReloadTLS(); err != nil {
		t.Fatalf("ReloadTLS: %v", err)
	}
	if got := servedSerial(t, addr, ca); got != 200 {
		t.Errorf("after reload: serial %d, want 200", got)
	}
	// A broken certificate file keeps the current one.
	write(t, certFile, []byte("not a certificate"))
	if err := srv.ReloadTLS(); err == nil {
		t.Error("ReloadTLS of a broken file succeeded")
	}
	if got := servedSerial(t, addr, ca); got != 200 {
		t.Errorf("after a failed reload: serial %d, want 200", got)
	}
	// The client logged in before the reloads is still served.
	if _, err := eng.QueryRecentCalls(ctx, engine.RecentCallsFilter{}); err != nil {
		t.Errorf("request after the reloads: %v", err)
	}
}

// TestTLSConfigErrors: a missing or broken certificate is an error at New,
// and so is a certificate without a key.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	write(t, bad, []byte("junk"))
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
