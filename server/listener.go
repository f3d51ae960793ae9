package server

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/protocol"
)

// Connection caps. The listener wrapper below counts every accepted TCP
// connection (HTTP requests and WebSockets alike) until it is closed, in
// total and per source IP address. Over a cap, a new connection is refused
// in the accept loop itself: one short HTTP 503 answer with the JSON error
// 7001 is written with a tiny deadline (plain TCP only; under TLS the
// connection is just closed, no handshake is spent on it), then it is
// closed. No goroutine is started for it and the connections already
// accepted are not touched.
//
// Loopback is not special: 127.0.0.1 has a cap like any other address (a
// reverse proxy on the same host is one source address too: raise
// serve.max_connections_per_ip, or set it to -1, behind one).

const (
	// fdReserve is how many file descriptors the automatic global cap
	// leaves for everything that is not a client connection: the
	// database and its WAL files, the media UDP socket, log files, the
	// listener itself and the runtime's poller.
	fdReserve = 128
	// minAutoConnections is the smallest automatic global cap.
	minAutoConnections = 64
	// perIPShare: the automatic per-IP cap is the global cap divided by it.
	perIPShare = 8
	// refuseWriteTimeout bounds the write of the 503 answer to a refused
	// connection; a fresh socket's send buffer takes it at once.
	refuseWriteTimeout = 10 * time.Millisecond
	// refuseLogEvery rate-limits the "connections refused" warning.
	refuseLogEvery = 10 * time.Second
)

// AutoMaxConnections is the global connection cap used when
// Config.MaxConnections is 0: the process's open-file limit
// (RLIMIT_NOFILE) minus a reserve of 128 for the database, the media port
// and logs, and at least 64.
func AutoMaxConnections() int {
	n := nofileLimit() - fdReserve
	if n < minAutoConnections {
		n = minAutoConnections
	}
	return n
}

// connCaps resolves the configured caps: 0 means automatic, a negative
// value no cap (returned as 0).
func connCaps(global, perIP int) (int, int) {
	if global == 0 {
		global = AutoMaxConnections()
	}
	if global < 0 {
		global = 0
	}
	if perIP == 0 {
		if global > 0 {
			perIP = max(global/perIPShare, 1)
		} else {
			perIP = max(AutoMaxConnections()/perIPShare, 1)
		}
	}
	if perIP < 0 {
		perIP = 0
	}
	return global, perIP
}

// capListener enforces the connection caps on an inner listener.
type capListener struct {
	net.Listener
	global, perIP int  // 0: no cap
	plain         bool // write the 503 answer (false under TLS)
	log           *slog.Logger

	mu    sync.Mutex
	total int
	byIP  map[string]int

	refusedGlobal, refusedPerIP atomic.Uint64
	lastLog                     time.Time // under mu
	sinceLog                    uint64    // refusals since the last log line, under mu
}

func newCapListener(ln net.Listener, global, perIP int, plain bool, log *slog.Logger) *capListener {
	return &capListener{Listener: ln, global: global, perIP: perIP, plain: plain, log: log, byIP: make(map[string]int)}
}

// refusedBody is the 503 answer to a refused connection.
var refusedBody = func() []byte {
	body := fmt.Sprintf(`{"error":{"code":%d,"message":"too many connections"}}`, protocol.CodeTooManyConnections)
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"+
		"X-Content-Type-Options: nosniff\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		l.mu.Lock()
		switch {
		case l.global > 0 && l.total >= l.global:
			l.refusedGlobal.Add(1)
			l.refuseLocked(c, "max_connections", l.global)
		case l.perIP > 0 && l.byIP[ip] >= l.perIP:
			l.refusedPerIP.Add(1)
			l.refuseLocked(c, "max_connections_per_ip", l.perIP)
		default:
			l.total++
			l.byIP[ip]++
			l.mu.Unlock()
			return &capConn{Conn: c, l: l, ip: ip}, nil
		}
		l.mu.Unlock()
	}
}

// refuseLocked answers and closes a connection over a cap. Called with
// l.mu held: it does not block (the write has a tiny deadline).
func (l *capListener) refuseLocked(c net.Conn, limit string, n int) {
	remote := c.RemoteAddr().String()
	if l.plain {
		_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
		_, _ = c.Write(refusedBody)
	}
	_ = c.Close()
	l.sinceLog++
	if now := time.Now(); now.Sub(l.lastLog) >= refuseLogEvery {
		l.log.Warn("connections refused", "limit", limit, "cap", n, "refused", l.sinceLog,
			"code", int(protocol.CodeTooManyConnections), "last_remote", remote)
		l.lastLog, l.sinceLog = now, 0
	}
}

func (l *capListener) release(ip string) {
	l.mu.Lock()
	l.total--
	if n := l.byIP[ip] - 1; n > 0 {
		l.byIP[ip] = n
	} else {
		delete(l.byIP, ip)
	}
	l.mu.Unlock()
}

// open returns the number of connections counted now.
func (l *capListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// capConn releases its slot once, on the first Close.
type capConn struct {
	net.Conn
	l    *capListener
	ip   string
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

func remoteIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// ConnStats are the listener's connection counts.
type ConnStats struct {
	Open          int    // TCP connections open now (HTTP and WebSocket)
	RefusedGlobal uint64 // refused over serve.max_connections since the start
	RefusedPerIP  uint64 // refused over serve.max_connections_per_ip since the start
	MaxTotal      int    // the global cap in force (0: none)
	MaxPerIP      int    // the per-IP cap in force (0: none)
}

// ConnStats reports the connection counts of the listener Serve runs on
// (zero before Serve).
func (s *Server) ConnStats() ConnStats {
	s.mu.Lock()
	l := s.capLn
	s.mu.Unlock()
	if l == nil {
		return ConnStats{}
	}
	return ConnStats{Open: l.open(), RefusedGlobal: l.refusedGlobal.Load(), RefusedPerIP: l.refusedPerIP.Load(),
		MaxTotal: l.global, MaxPerIP: l.perIP}
}
