package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/termcall/termcall/protocol"
)

// readyCheck is one failing check of /readyz.
type readyCheck struct {
	Check string `json:"check"` // "store", "media", "cluster" or "server"
	Error string `json:"error"`
}

// readiness lists the checks that fail now: the store can write, the
// media port is bound (with media on), the server is not closing.
func (s *Server) readiness() []readyCheck {
	var failed []readyCheck
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		failed = append(failed, readyCheck{"server", "shutting down"})
	}
	if err := s.store.Writable(); err != nil {
		failed = append(failed, readyCheck{"store", err.Error()})
	}
	if !s.cfg.NoMedia && (s.sfu == nil || s.sfu.Addr() == nil) {
		failed = append(failed, readyCheck{"media", "the media UDP port is not bound"})
	}
	if err := s.clusterReady(); err != nil {
		failed = append(failed, readyCheck{"cluster", err.Error()})
	}
	return failed
}

// serveReady is GET /readyz: 200 {"status":"ready"} when the server can take
// new calls, else 503 {"status":"not ready","failing":[...]}. /healthz is
// liveness only.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	failed := s.readiness()
	if len(failed) == 0 {
		_, _ = w.Write([]byte("{\"status\":\"ready\"}\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(struct {
		Status  string       `json:"status"`
		Failing []readyCheck `json:"failing"`
	}{"not ready", failed})
}

// storeWritable refuses what needs a new durable record (a new call, the
// first login of a user) while the store cannot write.
func (s *Server) storeWritable() error {
	if err := s.store.Writable(); err != nil {
		if pe := (*protocol.Error)(nil); errors.As(err, &pe) {
			return pe
		}
		return protocol.Errorf(protocol.CodeStoreUnavailable, "%w", err)
	}
	return nil
}
