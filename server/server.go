// Package server is the termcall call server: WebSocket signaling, the
// authoritative call state machine, the admin REST API and the store
// (SQLite in the data directory, or PostgreSQL with Config.Database),
// which the server uses through the Store interface (state.go).
//
// Concurrency: all call, user, device and group state sits behind one mutex
// (Server.mu). Each WebSocket has a read goroutine, which decodes a frame and
// runs its handler under the mutex, and a write goroutine, which drains the
// connection's buffered send queue. Handlers never block on the network:
// they queue frames. Timers (invitation timeouts, reconnect grace, userSig
// expiry) run their callbacks under the same mutex. Record writes go to the
// store's own writer goroutine.
//
// In cluster mode (Config.NATS) each call is run by the node of its
// caller, with the same state machine; route.go carries requests to that
// node and events back to the nodes holding the devices (docs/cluster.md).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pion/transport/v5"

	"github.com/termcall/termcall/internal/lograte"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/sfu"
	"github.com/termcall/termcall/server/store"
)

// Config configures a Server.
type Config struct {
	SDKAppID uint64
	Secret   string // the app's secret key, to verify userSigs
	DataDir  string // where termcall.db lives (and the directory lock); optional with Database
	// Database, if set, is a postgres:// URL: the server keeps its users,
	// groups and records in that PostgreSQL database instead of SQLite
	// in DataDir. Until cluster mode, one server per database.
	Database    string
	Keepalive   time.Duration // ping interval; default 5 s
	GracePeriod time.Duration // how long a dropped device may resume; default 15 s
	AdminUser   string        // identifier of admin userSigs; default "administrator"
	Logger      *slog.Logger

	// Media relay (SFU). All media uses one UDP port.
	MediaPort int    // UDP port; 0 picks a free one
	MediaIP   string // address to bind; "" = all IPv4 addresses
	PublicIP  string // address announced to clients behind NAT (1:1); "" = the bound ones
	NoMedia   bool   // run signaling only (no SFU)

	DevLogin bool // serve POST /v1/dev/usersig: anyone may get a userSig for any user (development only)

	// --- edge: listeners, timeouts, connection caps, TLS, origins ---

	// HTTP timeouts (net/http's). They bound reading a request's header
	// (ReadHeaderTimeout, default 10 s), the whole request (ReadTimeout,
	// default 30 s), writing the answer (WriteTimeout, default 30 s) and
	// how long an idle keep-alive connection stays open (IdleTimeout,
	// default 30 s). A WebSocket is not cut by them: net/http clears the
	// deadlines when it hands the connection over; the keepalive pings and
	// the 10 s login timer watch it instead. A negative value turns one off.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int // request header limit; default 16 KiB

	// Connection caps on the listener (see listener.go). 0 means automatic
	// (MaxConnections: AutoMaxConnections(); MaxConnectionsPerIP: an
	// eighth of the global cap), a negative value no cap.
	MaxConnections      int
	MaxConnectionsPerIP int

	// TLS: with TLSCertFile and TLSKeyFile (PEM), Serve speaks https and
	// wss; ReloadTLS reads the files again.
	TLSCertFile string
	TLSKeyFile  string

	// AllowedOrigins are browser origins ("https://app.example.com", or
	// "*" for any) whose pages may open the WebSocket, besides this
	// server's own host (the request's Host, or PublicURL's). Requests
	// without an Origin header (non-browser clients) are always allowed.
	AllowedOrigins []string
	// PublicURL is the URL browsers reach the server at, e.g.
	// https://call.example.com: the page's CSP allows WebSockets to it,
	// and its origin may open the WebSocket. Empty: CSP 'self' only.
	PublicURL string

	// --- limits: per user and per call ---
	// Each: 0 means the default (limits.go), negative means no limit.
	MaxDevicesPerUser     int     // logged-in devices of one user; default 10
	CallRate              float64 // call, groupCall, inviteUser per user per second; default 10
	CallBurst             int     // the call bucket's size; default 20
	MaxPendingInvitations int     // unanswered invitations per callee; default 20
	MaxInvitationBytes    int     // userData + offlinePushInfo per request; default 8 KiB

	// --- store durability ---

	// --- observability: logs and metrics ---

	// MetricsListen, if set, is a host:port where GET /metrics is served
	// instead of on the main listener (which then does not serve it).
	MetricsListen string

	// --- cluster mode (issue 10; clusternode.go) ---

	// NATS, if set, is the NATS URL (nats://host:4222, JetStream on) of a
	// cluster: New dials it, registers this node and heartbeats; a node
	// that cannot reach it refuses new calls and logins (6006). Empty:
	// single-node mode, no cluster code runs.
	NATS string
	// NodeID names this node in the cluster; default the host name (two
	// nodes on one host need their own).
	NodeID string
	// ClusterAddr is the signaling address this node announces (its
	// listen address or URL), informative for now.
	ClusterAddr string
	// Tuning, 0 for the defaults: heartbeat every 1 s, a node silent for
	// 3 s is dead, 5 s to connect at start, 1 replica per bucket (3 on a
	// 3-node NATS cluster).
	ClusterHeartbeat   time.Duration
	ClusterDeadAfter   time.Duration
	ClusterDialTimeout time.Duration
	ClusterReplicas    int

	// --- kit: offline push (push.go) ---
	Push PushConfig
	// MinInviteTimeout is the lowest invitation timeout accepted, in
	// seconds; 0 means the reference's 10 (its range is 10..600). Tests
	// set 1 to ring out fast.
	MinInviteTimeout int
	// --- perf: media at answer ---

	// ICELite makes the SFU an ICE-lite agent, as it was before: it then
	// only answers connectivity checks, so media goes only through the
	// address it announces (never a path it finds itself), but a call
	// answered at once waits ~200 ms for media (pion's device-side
	// nomination tick; docs/performance.md, "Media at answer"). Default:
	// a full, controlling agent.
	ICELite bool
	// NoDirectSockets keeps all inbound media on the shared socket of the
	// media port (sfu.Config.NoDirectSockets).
	NoDirectSockets bool
	// --- test: vnet ---

	// MediaNet is the network the SFU's media runs on (sfu.Config.Net);
	// nil means the host's. Tests give it a pion vnet Net, with MediaIP
	// one of its addresses; signaling still listens on the real network.
	MediaNet transport.Net
}

// Server is a termcall call server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store Store
	lock  *store.DirLock // the data directory's owner lock; nil without a DataDir
	sfu   *sfu.SFU
	lim   limits // limits.go

	mu      sync.Mutex
	users   map[string]*user
	groups  map[string]*group
	calls   map[string]*call
	rooms   map[string]*call
	closing bool

	conns sync.WaitGroup // live WebSocket handlers
	http  *http.Server
	mux   *http.ServeMux
	capLn *capListener // the capped listener of Serve; guarded by mu
	certs *certHolder  // nil without TLS

	closeOnce sync.Once
	closeErr  error

	// Observability (metrics.go, oplog.go).
	metrics     *metrics
	refusals    *lograte.Limiter // rate limit of the refusal log lines
	frameAt     time.Time        // when the frame being handled was read; guarded by mu
	metricsLn   net.Listener
	metricsHTTP *http.Server
	metricsDone chan struct{}

	cluster *clusterNode // nil in single-node mode
	route   *router      // calls across nodes (route.go); nil in single-node mode
	prep    *prepared    // the cluster claims of the handler running; guarded by mu

	push *pusher // offline push (push.go); nil when off
}

// New takes the data directory cfg.DataDir (a second server on the same
// directory fails with *store.LockedError), opens the store in it, or the
// PostgreSQL database cfg.Database, closes the records of calls that were
// live when a previous server stopped, and loads users and groups.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	setDefaults(&cfg)
	if err := edgeDefaults(&cfg); err != nil {
		return nil, err
	}
	certs, err := loadCerts(cfg)
	if err != nil {
		return nil, err
	}
	lock, st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		store:  st,
		lock:   lock,
		users:  make(map[string]*user),
		groups: make(map[string]*group),
		calls:  make(map[string]*call),
		rooms:  make(map[string]*call),
		certs:  certs,
		lim:    newLimits(cfg),
	}
	s.metrics, s.refusals = newMetrics(s), newRefusalLimiter(cfg.Logger)
	st.SetCommitObserver(s.metrics.storeCommitted)
	if err := s.start(ctx); err != nil {
		st.Close()
		_ = lock.Release()
		return nil, err
	}
	s.push = newPusher(s, cfg.Push) // --- kit: offline push ---
	return s, nil
}

// checkConfig refuses a Config a server cannot run with.
func checkConfig(cfg Config) error {
	if cfg.SDKAppID == 0 {
		return protocol.Errorf(protocol.CodeInvalidSDKAppID, "sdkappid is required")
	}
	if cfg.Secret == "" {
		return errors.New("server: a secret key is required to verify userSigs")
	}
	if cfg.Database != "" && !store.IsPostgresURL(cfg.Database) {
		return protocol.Errorf(protocol.CodeInvalidArgument, "server: database %q is not a postgres:// URL", store.RedactURL(cfg.Database))
	}
	if cfg.DataDir == "" && cfg.Database == "" {
		return errors.New("server: a data directory is required")
	}
	return nil
}

// setDefaults fills the durations and names a Config leaves zero.
func setDefaults(cfg *Config) {
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = 5 * time.Second
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = 15 * time.Second
	}
	if cfg.AdminUser == "" {
		cfg.AdminUser = "administrator"
	}
	if cfg.NATS != "" {
		setClusterDefaults(cfg)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
}

// setClusterDefaults fills the cluster settings a Config leaves zero.
func setClusterDefaults(cfg *Config) {
	if cfg.NodeID == "" {
		cfg.NodeID = defaultNodeID()
	}
	if cfg.ClusterHeartbeat <= 0 {
		cfg.ClusterHeartbeat = time.Second
	}
	if cfg.ClusterDeadAfter <= 0 {
		cfg.ClusterDeadAfter = 3 * time.Second
	}
	if cfg.ClusterDialTimeout <= 0 {
		cfg.ClusterDialTimeout = 5 * time.Second
	}
}

// loadCerts loads the TLS certificate, or returns nil without one.
func loadCerts(cfg Config) (*certHolder, error) {
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	certs := &certHolder{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile}
	if err := certs.load(); err != nil {
		return nil, err
	}
	return certs, nil
}

// openStore takes the data directory (lock is nil with PostgreSQL) and
// opens the store.
func openStore(ctx context.Context, cfg Config) (lock *store.DirLock, st *store.Store, err error) {
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("server: data directory: %w", err)
		}
		if lock, err = store.LockDir(cfg.DataDir); err != nil {
			return nil, nil, fmt.Errorf("server: %w", err)
		}
	}
	// Records and the heartbeat are written as this node (the owner of
	// its calls): "" in single-node mode unless --node-id is given.
	if cfg.Database != "" {
		st, err = store.OpenPostgres(ctx, cfg.Database, store.Options{NodeID: cfg.NodeID, Logger: cfg.Logger})
	} else {
		st, err = store.OpenWith(ctx, filepath.Join(cfg.DataDir, "termcall.db"), store.Options{NodeID: cfg.NodeID, Logger: cfg.Logger})
	}
	if err != nil {
		_ = lock.Release()
		return nil, nil, err
	}
	return lock, st, nil
}

// start brings up what New opens after the store: the records and users
// of the last run, the media relay, the routes, the metrics listener and
// the cluster. On an error it stops what it started; the store and its
// lock are New's to close.
func (s *Server) start(ctx context.Context) error {
	n, err := s.store.CloseLive(ctx, time.Now().Unix())
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("closed records of calls live at the last stop", "records", n)
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	if err := s.startMedia(); err != nil {
		return err
	}
	s.mux = http.NewServeMux()
	s.routes()
	if err := s.startMetricsListener(); err != nil {
		s.closeMedia()
		return err
	}
	if s.cfg.NATS == "" {
		return nil
	}
	if err := s.startCluster(ctx); err != nil {
		s.closeMetricsListener()
		s.refusals.Stop()
		s.closeMedia()
		return err
	}
	return nil
}

// startMedia starts the media relay unless the Config turns media off.
func (s *Server) startMedia() error {
	cfg := s.cfg
	if cfg.NoMedia {
		return nil
	}
	var err error
	s.sfu, err = sfu.New(sfu.Config{Net: cfg.MediaNet /* --- test: vnet --- */, UDPPort: cfg.MediaPort, ListenIP: cfg.MediaIP, PublicIP: cfg.PublicIP,
		Logger: cfg.Logger, IncludeLoopback: true, OnPeerFailed: s.mediaPeerFailed,
		ICELite: cfg.ICELite, NoDirectSockets: cfg.NoDirectSockets}) // --- perf: media at answer ---
	if err != nil {
		return fmt.Errorf("server: media relay: %w", err)
	}
	return nil
}

// closeMedia closes the media relay, if there is one, when New fails.
func (s *Server) closeMedia() {
	if s.sfu != nil {
		_ = s.sfu.Close()
	}
}

// startCluster joins the NATS cluster, registers its metrics and closes
// the records of dead nodes that no reaper closed.
func (s *Server) startCluster(ctx context.Context) error {
	cn, err := s.joinCluster(ctx)
	if err != nil {
		return err
	}
	s.cluster = cn
	if err := s.RegisterMetrics(cn.collectors()...); err != nil {
		s.cluster.close(ctx)
		return err
	}
	cn.sweepRecords(ctx)
	return nil
}

// endAll (Close) ends every live call with reason endByServer and closes
// every connection once its last frames are out. It returns the HTTP
// server to shut down, nil before Serve.
func (s *Server) endAll() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for _, c := range s.sortedCalls() {
		s.endCall(c, protocol.ReasonEndByServer, "")
	}
	for _, u := range s.users {
		for _, d := range u.devices {
			d.stopTimers()
			if d.conn != nil {
				d.conn.closeAfterFlush("server shutting down")
			}
		}
	}
	return s.http
}

// closeLinks (Close) closes the media relay, the router and the cluster
// membership.
func (s *Server) closeLinks(ctx context.Context) {
	if s.sfu != nil {
		if err := s.sfu.Close(); err != nil {
			s.log.Warn("closing the media relay", "err", err)
		}
	}
	if s.route != nil {
		s.route.close()
	}
	if s.cluster != nil {
		s.cluster.close(ctx)
	}
}

// MediaAddr is the UDP address of the media relay, or nil without one.
func (s *Server) MediaAddr() net.Addr {
	if s.sfu == nil {
		return nil
	}
	return s.sfu.Addr()
}

func (s *Server) load(ctx context.Context) error {
	ids, err := s.store.Users(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.users[id] = newUser(id)
	}
	profiles, err := s.store.Profiles(ctx)
	if err != nil {
		return err
	}
	for _, p := range profiles {
		u := s.userLocked(p.UserID)
		u.nickname, u.avatar = p.Nickname, p.Avatar
	}
	groups, err := s.store.Groups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		s.groups[g.GroupID] = newGroup(g)
	}
	return nil
}

// Handler returns the server's HTTP handler: /healthz, /v1/ws and the admin API.
func (s *Server) Handler() http.Handler { return s.rootHandler() }

// Serve accepts connections on ln until Close, with the HTTP timeouts and
// connection caps of the Config, over TLS when a certificate is
// configured. It returns http.ErrServerClosed after a Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.http == nil {
		s.http = &http.Server{Handler: s.rootHandler(),
			ReadHeaderTimeout: posOrZero(s.cfg.ReadHeaderTimeout), ReadTimeout: posOrZero(s.cfg.ReadTimeout),
			WriteTimeout: posOrZero(s.cfg.WriteTimeout), IdleTimeout: posOrZero(s.cfg.IdleTimeout),
			MaxHeaderBytes: s.cfg.MaxHeaderBytes,
			ErrorLog:       httpErrorLog(s.log),
		}
	}
	h := s.http
	global, perIP := connCaps(s.cfg.MaxConnections, s.cfg.MaxConnectionsPerIP)
	cl := newCapListener(ln, global, perIP, s.certs == nil, s.log)
	s.capLn = cl
	s.mu.Unlock()
	var l net.Listener = cl
	if s.certs != nil {
		l = tls.NewListener(cl, s.certs.tlsConfig())
	}
	return h.Serve(l)
}

// Close shuts the server down: it stops accepting, ends every live call with
// reason endByServer (participants are told), closes every connection,
// writes the records and closes the store. Safe to call more than once.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		h := s.endAll()
		if h != nil {
			h.SetKeepAlivesEnabled(false)
			_ = h.Shutdown(ctx)
		}
		done := make(chan struct{})
		go func() { s.conns.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
		s.closeLinks(ctx)
		s.closeMetricsListener()
		s.refusals.Stop()
		s.push.close() // --- kit: offline push ---
		s.closeErr = s.store.Close()
		if err := s.lock.Release(); err != nil {
			s.log.Warn("releasing the data directory lock", "err", err)
		}
	})
	return s.closeErr
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"status\":\"ok\",\"version\":%d}\n", protocol.Version)
	})
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.HandleFunc("GET /v1/ws", s.serveWS)
	s.metricsRoutes()
	s.adminRoutes()
	s.webRoutes()
}
