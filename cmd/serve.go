package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/store"
)

// shutdownTimeout bounds the graceful shutdown after the first signal.
const shutdownTimeout = 10 * time.Second

// serveFlags are the flags of serve; each overrides its config key when
// given.
type serveFlags struct {
	listen, data     string
	database         string
	natsURL          string
	nodeID           string
	grace, keepalive time.Duration
	udpPort          int
	mediaIP          string
	publicIP         string
	noMedia          bool
	devLogin         bool

	metricsListen string
	edge          edgeFlags
	lim           config.Serve // limits flags
}

func newServeCmd(g *globals) *cobra.Command {
	var sf serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the termcall call server",
		Long: joinLines(
			"Run the termcall call server: WebSocket signaling, the call state machine,",
			"the SQLite store and the admin REST API.",
			"",
			"With --database postgres://USER:PASSWORD@HOST:5432/DB (store.database,",
			"TERMCALL_DATABASE) users, groups and call records live in that PostgreSQL",
			"database instead of SQLite; --data then holds only the lock file. The server",
			"exits 1 when PostgreSQL cannot be reached at start (docs/cluster.md).",
			"",
			"With --nats nats://HOST:4222 (cluster.nats, TERMCALL_NATS) the server runs as a",
			"cluster node named --node-id (default the host name): it registers in NATS",
			"JetStream, heartbeats, and watches the other nodes; it exits 1 when NATS cannot",
			"be reached at start, and refuses new calls and logins (6006) while cut off.",
			"Users on different nodes call each other: the caller's node owns the call and",
			"its media (docs/cluster.md, \"Calls across nodes\").",
			"",
			"The secret key (--secret or TERMCALL_SECRET) is required: it verifies userSigs.",
			"Once listening, one line goes to stderr:",
			"",
			"  termcall serve listening on HOST:PORT",
			"",
			"(with --listen 127.0.0.1:0 the port is the one picked by the system), then,",
			"unless --no-media,",
			"",
			"  termcall serve media on udp HOST:PORT",
			"",
			"and, with --metrics-listen, \"termcall serve metrics on HOST:PORT\".",
			"Prometheus metrics are at GET /metrics: on the main listener, or with",
			"--metrics-listen on that address only (docs/operations.md lists them).",
			"Logs go to stderr (--log-file: to a file) at --log-level, as --log-format",
			"text or json lines: logins, logouts, call starts and ends, refused requests.",
			"",
			"Media (the SFU relaying audio between the participants of a call) uses one",
			"UDP port, --udp-port (0: any free port), bound to --media-ip (default all",
			"IPv4 addresses). Behind a 1:1 NAT, --public-ip is the address announced to",
			"clients.",
			"",
			"The browser client is served too: the call page at / and the JavaScript",
			"SDK at /sdk/ (docs/web.md). --dev-login adds POST /v1/dev/usersig, which signs",
			"a userSig for any user ID: anyone who reaches the server can log in as anyone.",
			"Use it only for development.",
			"",
			"With --tls-cert and --tls-key the listener speaks https and wss; SIGHUP",
			"reloads the certificate. Browsers' WebSockets must come from this host,",
			"--public-url or an --allowed-origin. HTTP timeouts and connection caps",
			"(over a cap: HTTP 503, code 7001) are in docs/operations.md.",
			"",
			"The first SIGINT/SIGTERM shuts down gracefully (ending live calls, at most",
			"10 s); a second one exits at once.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runServe(cmd, &sf) }),
	}
	f := c.Flags()
	f.StringVar(&sf.listen, "listen", "", "host:port to listen on (default 127.0.0.1:7480; $TERMCALL_LISTEN)")
	f.StringVar(&sf.data, "data", "", "directory for the server's database (default termcall-data; $TERMCALL_DATA)")
	f.StringVar(&sf.database, "database", "", "PostgreSQL URL (postgres://user:pass@host:5432/db) for users, groups and records instead of SQLite in --data (store.database; $TERMCALL_DATABASE)")
	f.StringVar(&sf.natsURL, "nats", "", "NATS URL (nats://host:4222, JetStream on): run as a cluster node (cluster.nats; $TERMCALL_NATS)")
	f.StringVar(&sf.nodeID, "node-id", "", "this node's name in the cluster (default the host name; cluster.node_id; $TERMCALL_NODE_ID)")
	f.DurationVar(&sf.grace, "grace-period", 0, "how long a dropped device may reconnect and resume its calls (default 15s)")
	f.DurationVar(&sf.keepalive, "keepalive", 0, "keepalive ping interval (default 5s)")
	f.IntVar(&sf.udpPort, "udp-port", 0, "UDP port for all media (0: any free port; serve.udp_port)")
	f.StringVar(&sf.mediaIP, "media-ip", "", "IPv4 address to bind the media port to (default all; serve.media_ip)")
	f.StringVar(&sf.publicIP, "public-ip", "", "IPv4 address announced to clients for media (behind a 1:1 NAT; serve.public_ip)")
	f.BoolVar(&sf.noMedia, "no-media", false, "signaling only: relay no audio (serve.no_media)")
	f.BoolVar(&sf.devLogin, "dev-login", false, "development only: serve POST /v1/dev/usersig, letting anyone log in as anyone")

	f.StringVar(&sf.metricsListen, "metrics-listen", "", "serve the Prometheus metrics (GET /metrics) on this host:port only, not on --listen ($TERMCALL_METRICS_LISTEN)")
	sf.edge.register(f)
	// limits
	f.IntVar(&sf.lim.MaxDevicesPerUser, "max-devices-per-user", 0, "devices one user may have logged in at once; 0: no limit (default 10)")
	f.Float64Var(&sf.lim.CallRate, "call-rate", 0, "call/groupCall/inviteUser requests per user per second; 0: no limit (default 10)")
	f.IntVar(&sf.lim.CallBurst, "call-burst", 0, "how many of those requests may come at once (default 20)")
	f.IntVar(&sf.lim.MaxPendingInvitations, "max-pending-invitations", 0, "unanswered invitations per callee; 0: no limit (default 20)")
	f.IntVar(&sf.lim.MaxInvitationBytes, "max-invitation-bytes", 0, "bytes of userData + offlinePushInfo per invitation; 0: no limit (default 8192)")
	return c
}

// runServe wires serve: flags and config, the server, its listener, then
// serves until a signal.
func (g *globals) runServe(cmd *cobra.Command, sf *serveFlags) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	sf.apply(cmd.Flags(), &cfg)
	if err := validate(cfg); err != nil {
		return err
	}
	if cfg.Secret == "" {
		return exit.Usagef("serve needs the application's secret key to verify userSigs: set --secret or TERMCALL_SECRET")
	}
	log, closeLog, err := g.logger(cfg, slog.LevelInfo)
	if err != nil {
		return err
	}
	defer closeLog()
	srv, err := server.New(cmd.Context(), serverConfig(cfg, sf.devLogin, log))
	if err != nil {
		return exit.With(exit.Failure, err) // e.g. the data directory is another server's (its pid), PostgreSQL or NATS unreachable
	}
	if cfg.Store.Database != "" {
		log.Info("store: PostgreSQL", "database", store.RedactURL(cfg.Store.Database))
	}
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		_ = srv.Close(context.Background())
		return exit.With(exit.Failure, fmt.Errorf("listen: %w", err))
	}
	g.announce(srv, ln, sf.devLogin)
	return g.serve(srv, ln, log)
}

// apply sets the configuration keys of the flags given.
func (sf *serveFlags) apply(f *pflag.FlagSet, cfg *config.Config) {
	set := changed(f)
	set("listen", func() { cfg.Serve.Listen = sf.listen })
	set("data", func() { cfg.Serve.Data = sf.data })
	set("database", func() { cfg.Store.Database = sf.database })
	set("nats", func() { cfg.Cluster.NATS = sf.natsURL })
	set("node-id", func() { cfg.Cluster.NodeID = sf.nodeID })
	set("grace-period", func() { cfg.Serve.GracePeriod = sf.grace })
	set("keepalive", func() { cfg.Serve.Keepalive = sf.keepalive })
	set("metrics-listen", func() { cfg.Serve.MetricsListen = sf.metricsListen })
	// Media flags over the serve.udp_port, media_ip, public_ip and
	// no_media keys.
	set("udp-port", func() { cfg.Serve.UDPPort = sf.udpPort })
	set("media-ip", func() { cfg.Serve.MediaIP = sf.mediaIP })
	set("public-ip", func() { cfg.Serve.PublicIP = sf.publicIP })
	set("no-media", func() { cfg.Serve.NoMedia = sf.noMedia })
	sf.edge.apply(f, &cfg.Serve)
	// limits
	set("max-devices-per-user", func() { cfg.Serve.MaxDevicesPerUser = sf.lim.MaxDevicesPerUser })
	set("call-rate", func() { cfg.Serve.CallRate = sf.lim.CallRate })
	set("call-burst", func() { cfg.Serve.CallBurst = sf.lim.CallBurst })
	set("max-pending-invitations", func() { cfg.Serve.MaxPendingInvitations = sf.lim.MaxPendingInvitations })
	set("max-invitation-bytes", func() { cfg.Serve.MaxInvitationBytes = sf.lim.MaxInvitationBytes })
}

// serverConfig is the server's configuration.
func serverConfig(cfg config.Config, devLogin bool, log *slog.Logger) server.Config {
	return server.Config{
		SDKAppID: cfg.SDKAppID, Secret: cfg.Secret, DataDir: cfg.Serve.Data, Database: cfg.Store.Database,
		Keepalive: cfg.Serve.Keepalive, GracePeriod: cfg.Serve.GracePeriod,
		AdminUser: cfg.Serve.AdminUser, Logger: log,
		MediaPort: cfg.Serve.UDPPort, MediaIP: cfg.Serve.MediaIP, PublicIP: cfg.Serve.PublicIP, NoMedia: cfg.Serve.NoMedia,
		NoDirectSockets: cfg.Serve.NoDirectSockets,
		DevLogin:        devLogin,
		// edge
		ReadHeaderTimeout: cfg.Serve.ReadHeaderTimeout, ReadTimeout: cfg.Serve.ReadTimeout,
		WriteTimeout: cfg.Serve.WriteTimeout, IdleTimeout: cfg.Serve.IdleTimeout, MaxHeaderBytes: cfg.Serve.MaxHeaderBytes,
		MaxConnections: cfg.Serve.MaxConnections, MaxConnectionsPerIP: cfg.Serve.MaxConnectionsPerIP,
		TLSCertFile: cfg.Serve.TLSCert, TLSKeyFile: cfg.Serve.TLSKey,
		PublicURL: cfg.Serve.PublicURL, AllowedOrigins: cfg.Serve.AllowedOrigins,
		MetricsListen: cfg.Serve.MetricsListen,
		// cluster mode
		NATS: cfg.Cluster.NATS, NodeID: cfg.Cluster.NodeID, ClusterAddr: clusterAddr(cfg),
		ClusterReplicas: cfg.Cluster.Replicas,
		// limits: 0 in the configuration is no limit, a negative value here
		MaxDevicesPerUser: noLimit(cfg.Serve.MaxDevicesPerUser), CallRate: noLimit(cfg.Serve.CallRate),
		CallBurst: cfg.Serve.CallBurst, MaxPendingInvitations: noLimit(cfg.Serve.MaxPendingInvitations),
		MaxInvitationBytes: noLimit(cfg.Serve.MaxInvitationBytes),
		// --- kit: offline push ---
		Push: server.PushConfig{Webhook: cfg.Serve.PushWebhook, Secret: cfg.Serve.PushSecret, Timeout: cfg.Serve.PushTimeout,
			Retries: cfg.Serve.PushRetries, Queue: cfg.Serve.PushQueue, AllowPrivate: cfg.Serve.PushAllowPrivate},
		MinInviteTimeout: int(cfg.Serve.MinInviteTimeout / time.Second),
	}
}

// announce says, on stderr, where the server listens (scripts wait for
// these lines) and warns of --dev-login.
func (g *globals) announce(srv *server.Server, ln net.Listener, devLogin bool) {
	g.warn(fmt.Sprintf("termcall serve listening on %s", ln.Addr()))
	if a := srv.MediaAddr(); a != nil {
		g.warn(fmt.Sprintf("termcall serve media on udp %s", a))
	}
	if a := srv.MetricsAddr(); a != nil {
		g.warn(fmt.Sprintf("termcall serve metrics on %s", a))
	}
	if devLogin {
		g.warn("termcall serve: WARNING: --dev-login is on: anyone who reaches this server can log in as any user (POST /v1/dev/usersig); use it only for development")
	}
}

// serve serves on ln until the server fails or a signal comes; the first
// SIGINT/SIGTERM shuts down gracefully (at most shutdownTimeout), a second
// exits at once.
func (g *globals) serve(srv *server.Server, ln net.Listener, log *slog.Logger) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stopHUP := reloadOnHUP(srv, log)
	defer stopHUP()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		_ = srv.Close(context.Background())
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return exit.With(exit.Failure, fmt.Errorf("serve: %w", err))
		}
		return nil
	case s := <-sigs:
		log.Info("shutting down", "signal", s.String())
	}
	return g.shutdown(srv, sigs)
}

// shutdown closes the server gracefully unless a second signal comes.
func (g *globals) shutdown(srv *server.Server, sigs <-chan os.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(ctx) }()
	select {
	case err := <-closed:
		if err != nil {
			return exit.With(exit.Failure, fmt.Errorf("shutdown: %w", err))
		}
		return nil
	case <-sigs:
		g.warn("termcall serve: second signal; exiting now")
		return exit.Silently(exit.Failure)
	}
}

// edgeFlags are serve's flags for the listener: timeouts, connection caps,
// TLS and origins. Each overrides its serve.* key when given.
type edgeFlags struct {
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	maxHeaderBytes, maxConns, maxConnsPerIP                   int
	tlsCert, tlsKey, publicURL                                string
	allowedOrigins                                            []string
}

func (e *edgeFlags) register(f *pflag.FlagSet) {
	f.DurationVar(&e.readHeaderTimeout, "read-header-timeout", 0, "time to read a request's header (default 10s; serve.read_header_timeout)")
	f.DurationVar(&e.readTimeout, "read-timeout", 0, "time to read a whole HTTP request (default 30s; serve.read_timeout)")
	f.DurationVar(&e.writeTimeout, "write-timeout", 0, "time to write an HTTP answer (default 30s; serve.write_timeout)")
	f.DurationVar(&e.idleTimeout, "idle-timeout", 0, "idle keep-alive connections are closed after this (default 30s; serve.idle_timeout)")
	f.IntVar(&e.maxHeaderBytes, "max-header-bytes", 0, "largest request header (default 16384; serve.max_header_bytes)")
	f.IntVar(&e.maxConns, "max-connections", 0, "cap on open connections; 0: open-file limit minus 128, -1: none (serve.max_connections)")
	f.IntVar(&e.maxConnsPerIP, "max-connections-per-ip", 0, "cap on open connections per source IP; 0: max-connections/8, -1: none (serve.max_connections_per_ip)")
	f.StringVar(&e.tlsCert, "tls-cert", "", "PEM certificate chain: serve https and wss, reloaded on SIGHUP (serve.tls_cert)")
	f.StringVar(&e.tlsKey, "tls-key", "", "PEM private key for --tls-cert (serve.tls_key)")
	f.StringVar(&e.publicURL, "public-url", "", "URL browsers use, e.g. https://call.example.com: the page's CSP and allowed origin (serve.public_url; $TERMCALL_PUBLIC_URL)")
	f.StringArrayVar(&e.allowedOrigins, "allowed-origin", nil, "browser origin allowed to open the WebSocket besides the server's own (repeatable; * for any; serve.allowed_origins)")
}

func (e *edgeFlags) apply(f *pflag.FlagSet, s *config.Serve) {
	set := changed(f)
	set("read-header-timeout", func() { s.ReadHeaderTimeout = e.readHeaderTimeout })
	set("read-timeout", func() { s.ReadTimeout = e.readTimeout })
	set("write-timeout", func() { s.WriteTimeout = e.writeTimeout })
	set("idle-timeout", func() { s.IdleTimeout = e.idleTimeout })
	set("max-header-bytes", func() { s.MaxHeaderBytes = e.maxHeaderBytes })
	set("max-connections", func() { s.MaxConnections = e.maxConns })
	set("max-connections-per-ip", func() { s.MaxConnectionsPerIP = e.maxConnsPerIP })
	set("tls-cert", func() { s.TLSCert = e.tlsCert })
	set("tls-key", func() { s.TLSKey = e.tlsKey })
	set("public-url", func() { s.PublicURL = e.publicURL })
	set("allowed-origin", func() { s.AllowedOrigins = e.allowedOrigins })
}

// changed returns set(name, apply): apply runs when flag name was given.
func changed(f *pflag.FlagSet) func(name string, apply func()) {
	return func(name string, apply func()) {
		if f.Changed(name) {
			apply()
		}
	}
}

// reloadOnHUP reloads the TLS certificate on every SIGHUP (a failed reload
// keeps the old one; ReloadTLS logs it). It returns the function that
// stops it.
func reloadOnHUP(srv *server.Server, log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				if !srv.TLS() {
					log.Info("SIGHUP: nothing to reload (no TLS certificate configured)")
					continue
				}
				_ = srv.ReloadTLS()
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// noLimit maps a configured limit, where 0 means none, to server.Config,
// where 0 means the default and a negative value none.
func noLimit[T int | float64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// clusterAddr is the signaling address a cluster node announces: the
// public URL if set, else the listen address.
func clusterAddr(cfg config.Config) string {
	if cfg.Serve.PublicURL != "" {
		return cfg.Serve.PublicURL
	}
	return cfg.Serve.Listen
}
