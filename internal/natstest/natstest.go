// Package natstest runs a real NATS server with JetStream, embedded from the
// official nats-server module, for tests. Each Start gets its own random
// port on 127.0.0.1 and its own JetStream store directory under t.TempDir();
// t.Cleanup shuts it down.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is one embedded NATS server.
type Server struct {
	URL  string // nats://127.0.0.1:port
	srv  *server.Server
	opts *server.Options
}

// Start starts an embedded nats-server with JetStream and returns once it
// accepts connections.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		HTTPPort:   0, // no monitoring port
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoLog:      true,
		NoSigs:     true,
		// Small limits: tests never need more, and a 2-core CI box should
		// not reserve memory for them.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  256 << 20,
	}
	s := &Server{opts: opts}
	s.start(t)
	s.URL = s.srv.ClientURL()
	// Keep the port for Restart.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Shutdown)
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	o := s.opts.Clone()
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatalf("natstest: server not ready within 10 s")
	}
	s.srv = srv
}

// Restart starts the server again after a Shutdown, on the same port with
// the same JetStream store (its streams and key-value buckets are kept):
// clients reconnect to the same URL.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Shutdown()
	s.start(t)
}

// Shutdown stops the server and waits for it; calling it again is harmless.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// NumClients is how many client connections the server holds.
func (s *Server) NumClients() int { return s.srv.NumClients() }
