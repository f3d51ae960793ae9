package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/termcall/termcall/protocol"
)

// Defaults of the edge settings (Config).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
)

// edgeDefaults fills in and checks the edge settings of cfg.
func edgeDefaults(cfg *Config) error {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&cfg.ReadTimeout, DefaultReadTimeout},
		{&cfg.WriteTimeout, DefaultWriteTimeout}, {&cfg.IdleTimeout, DefaultIdleTimeout},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return errors.New("server: TLS needs both a certificate file and a key file")
	}
	if cfg.PublicURL != "" {
		if _, err := publicOrigin(cfg.PublicURL); err != nil {
			return err
		}
	}
	for _, o := range cfg.AllowedOrigins {
		if err := ValidateOrigin(o); err != nil {
			return err
		}
	}
	return nil
}

func posOrZero(d time.Duration) time.Duration { return max(d, 0) }

// httpErrorLog is net/http's error log: accept errors (like running out of
// file descriptors) are warnings; per-connection noise (TLS handshake
// errors from scanners, broken requests) is debug.
func httpErrorLog(l *slog.Logger) *log.Logger {
	return log.New(logWriter(func(b []byte) (int, error) {
		msg := strings.TrimSpace(string(b))
		if strings.Contains(msg, "Accept error") {
			l.Warn("http listener", "err", msg)
		} else {
			l.Debug("http", "msg", msg)
		}
		return len(b), nil
	}), "", 0)
}

type logWriter func([]byte) (int, error)

func (w logWriter) Write(b []byte) (int, error) { return w(b) }

// publicOrigin returns the origin (scheme://host[:port], lower case) of a
// public URL, which must be http or https with a host.
func publicOrigin(public string) (string, error) {
	u, err := url.Parse(public)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("server: public URL %q: want http(s)://host[:port]", public)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// ValidateOrigin checks an allowed-origin entry: "*" or
// scheme://host[:port] with nothing after it.
func ValidateOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("server: allowed origin %q: want scheme://host[:port] (like https://app.example.com) or *", o)
	}
	return nil
}

// originAllowed decides whether a WebSocket upgrade may proceed. A request
// without Origin is not from a browser page and is allowed. A browser's
// Origin must name this server's host (the request's Host, or the public
// URL's host) or be one of Config.AllowedOrigins.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	if s.cfg.PublicURL != "" {
		if po, _ := publicOrigin(s.cfg.PublicURL); po == norm {
			return true
		}
	}
	for _, a := range s.cfg.AllowedOrigins {
		if a == "*" || strings.ToLower(strings.TrimSuffix(a, "/")) == norm {
			return true
		}
	}
	return false
}

// writeHTTPError writes the JSON error body every HTTP error of the server
// has: {"error":{"code":N,"message":"..."}}.
func writeHTTPError(w http.ResponseWriter, status int, pe *protocol.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": pe})
}

// probeMethods are tried to tell "wrong method" (405) from "no such
// endpoint" (404) under /v1/.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// rootHandler is what Serve serves: the mux, with nosniff on every answer
// and JSON errors (code 1004) where net/http would answer in plain text:
// a method an endpoint does not have (405), and unknown endpoints under
// /v1/ (404; elsewhere GET serves the page's files).
func (s *Server) rootHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if _, pattern := s.mux.Handler(r); pattern == "" || (pattern == "GET /" && strings.HasPrefix(r.URL.Path, "/v1/")) {
			{
				var allow []string
				for _, m := range probeMethods {
					r2 := r.Clone(r.Context())
					r2.Method = m
					if _, p := s.mux.Handler(r2); p != "" && p != "GET /" && !slices.Contains(allow, m) {
						allow = append(allow, m)
					}
				}
				if len(allow) > 0 {
					w.Header().Set("Allow", strings.Join(allow, ", "))
					writeHTTPError(w, http.StatusMethodNotAllowed,
						protocol.Errorf(protocol.CodeInvalidArgument, "method %.10s not allowed on %.100s", r.Method, r.URL.Path))
					return
				}
				writeHTTPError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeInvalidArgument, "no such endpoint %.100s", r.URL.Path))
				return
			}
		}
		s.mux.ServeHTTP(w, r)
	})
}
