// Package prof profiles a termcall process: a CPU profile written to a
// file over the whole run, a heap profile written at the end, and a
// net/http/pprof listener for profiles taken while the process runs
// (go tool pprof http://ADDR/debug/pprof/profile?seconds=10).
//
// It is wired to the global flags --cpuprofile, --memprofile and --pprof
// (cmd/root.go); docs/performance.md ("Profiling") shows how to use them.
package prof

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	rpprof "runtime/pprof"
	"time"
)

// Options say which profiles to take; empty fields take none.
type Options struct {
	CPUFile string // CPU profile of the whole run
	MemFile string // heap profile (in-use and allocated) at Stop
	// Addr is where net/http/pprof listens ("host:port"). A missing host
	// (":6060") means 127.0.0.1: the endpoints show the process's
	// internals and must not be open to the network by accident.
	Addr string
}

// Session is a started set of profiles; Stop ends it.
type Session struct {
	o       Options
	cpu     *os.File
	ln      net.Listener
	srv     *http.Server
	stopped bool
}

// Start starts what o asks for. With nothing asked it returns a Session
// whose Stop does nothing.
func Start(o Options) (*Session, error) {
	s := &Session{o: o}
	if o.MemFile != "" {
		// Check that the file can be written now rather than at the end.
		f, err := os.Create(o.MemFile)
		if err != nil {
			return nil, fmt.Errorf("memory profile: %w", err)
		}
		f.Close()
	}
	if o.CPUFile != "" {
		f, err := os.Create(o.CPUFile)
		if err != nil {
			return nil, fmt.Errorf("CPU profile: %w", err)
		}
		if err := rpprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("CPU profile: %w", err)
		}
		s.cpu = f
	}
	if o.Addr != "" {
		addr := o.Addr
		if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			_ = s.stopCPU()
			return nil, fmt.Errorf("pprof listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		s.ln = ln
		s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = s.srv.Serve(ln) }()
	}
	return s, nil
}

// Addr is the pprof listener's address (nil without one).
func (s *Session) Addr() net.Addr {
	if s == nil || s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Session) stopCPU() error {
	if s.cpu == nil {
		return nil
	}
	rpprof.StopCPUProfile()
	err := s.cpu.Close()
	s.cpu = nil
	return err
}

// Stop writes the CPU and heap profiles and closes the listener. It may
// be called more than once; later calls do nothing.
func (s *Session) Stop() error {
	if s == nil || s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if err := s.stopCPU(); err != nil {
		errs = append(errs, fmt.Errorf("CPU profile: %w", err))
	}
	if s.o.MemFile != "" {
		if err := writeHeap(s.o.MemFile); err != nil {
			errs = append(errs, fmt.Errorf("memory profile: %w", err))
		}
	}
	if s.srv != nil {
		_ = s.srv.Close()
	}
	return errors.Join(errs...)
}

func writeHeap(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	runtime.GC() // up-to-date in-use figures
	if err := rpprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
