package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sync/atomic"
)

// certHolder serves the current certificate to TLS handshakes; ReloadTLS
// swaps it atomically, so handshakes in flight keep the one they started
// with and new ones get the new one.
type certHolder struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func (h *certHolder) load() error {
	c, err := tls.LoadX509KeyPair(h.certFile, h.keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate %s / key %s: %w", h.certFile, h.keyFile, err)
	}
	h.cur.Store(&c)
	return nil
}

func (h *certHolder) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// HTTP/1.1 only: WebSockets upgrade over HTTP/1.1 (the server
		// does not speak WebSockets over HTTP/2).
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return h.cur.Load(), nil
		},
	}
}

// TLS reports whether the server serves TLS (Config.TLSCertFile is set).
func (s *Server) TLS() bool { return s.certs != nil }

// ReloadTLS reads the certificate and key files again and serves the new
// certificate to new connections; existing connections are not touched.
// When the new files do not load, the old certificate stays in use, an
// error is logged and returned. `termcall serve` calls it on SIGHUP.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return errors.New("server: TLS is not configured (no certificate file)")
	}
	if err := s.certs.load(); err != nil {
		s.log.Error("TLS certificate reload failed; keeping the current certificate", "err", err)
		return err
	}
	s.log.Info("TLS certificate reloaded", "cert", s.certs.certFile)
	return nil
}
