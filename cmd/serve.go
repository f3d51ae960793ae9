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

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/server"
)

// shutdownTimeout bounds the graceful shutdown after the first signal.
const shutdownTimeout = 10 * time.Second

func newServeCmd(g *globals) *cobra.Command {
	var (
		listen, data     string
		grace, keepalive time.Duration
		udpPort          int
		mediaIP          string
		publicIP         string
		noMedia          bool
		devLogin         bool
		lim              config.Serve // limits flags
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the termcall call server",
		Long: joinLines(
			"Run the termcall call server: WebSocket signaling, the call state machine,",
			"the SQLite store and the admin REST API.",
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
			"The first SIGINT/SIGTERM shuts down gracefully (ending live calls, at most",
			"10 s); a second one exits at once.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			if f.Changed("listen") {
				cfg.Serve.Listen = listen
			}
			if f.Changed("data") {
				cfg.Serve.Data = data
			}
			if f.Changed("grace-period") {
				cfg.Serve.GracePeriod = grace
			}
			if f.Changed("keepalive") {
				cfg.Serve.Keepalive = keepalive
			}
			// limits
			if f.Changed("max-devices-per-user") {
				cfg.Serve.MaxDevicesPerUser = lim.MaxDevicesPerUser
			}
			if f.Changed("call-rate") {
				cfg.Serve.CallRate = lim.CallRate
			}
			if f.Changed("call-burst") {
				cfg.Serve.CallBurst = lim.CallBurst
			}
			if f.Changed("max-pending-invitations") {
				cfg.Serve.MaxPendingInvitations = lim.MaxPendingInvitations
			}
			if f.Changed("max-invitation-bytes") {
				cfg.Serve.MaxInvitationBytes = lim.MaxInvitationBytes
			}
			if err := validate(cfg); err != nil {
				return err
			}
			if udpPort < 0 || udpPort > 65535 {
				return exit.Usagef("--udp-port %d: must be 0..65535", udpPort)
			}
			for _, ip := range []struct{ flag, v string }{{"--media-ip", mediaIP}, {"--public-ip", publicIP}} {
				if ip.v != "" && net.ParseIP(ip.v).To4() == nil {
					return exit.Usagef("%s %q: not an IPv4 address", ip.flag, ip.v)
				}
			}
			if cfg.Secret == "" {
				return exit.Usagef("serve needs the application's secret key to verify userSigs: set --secret or TERMCALL_SECRET")
			}
			log, closeLog, err := g.logger(cfg, slog.LevelInfo)
			if err != nil {
				return err
			}
			defer closeLog()

			srv, err := server.New(cmd.Context(), server.Config{
				SDKAppID: cfg.SDKAppID, Secret: cfg.Secret, DataDir: cfg.Serve.Data,
				Keepalive: cfg.Serve.Keepalive, GracePeriod: cfg.Serve.GracePeriod,
				AdminUser: cfg.Serve.AdminUser, Logger: log,
				MediaPort: udpPort, MediaIP: mediaIP, PublicIP: publicIP, NoMedia: noMedia,
				DevLogin: devLogin,
				// limits: 0 in the configuration is no limit, a negative value here
				MaxDevicesPerUser: noLimit(cfg.Serve.MaxDevicesPerUser), CallRate: noLimit(cfg.Serve.CallRate),
				CallBurst: cfg.Serve.CallBurst, MaxPendingInvitations: noLimit(cfg.Serve.MaxPendingInvitations),
				MaxInvitationBytes: noLimit(cfg.Serve.MaxInvitationBytes),
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Serve.Listen)
			if err != nil {
				_ = srv.Close(context.Background())
				return exit.With(exit.Failure, fmt.Errorf("listen: %w", err))
			}
			g.warn(fmt.Sprintf("termcall serve listening on %s", ln.Addr()))
			if a := srv.MediaAddr(); a != nil {
				g.warn(fmt.Sprintf("termcall serve media on udp %s", a))
			}

			if devLogin {
				g.warn("termcall serve: WARNING: --dev-login is on: anyone who reaches this server can log in as any user (POST /v1/dev/usersig); use it only for development")
			}

			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
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
		}),
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "", "host:port to listen on (default 127.0.0.1:7480; $TERMCALL_LISTEN)")
	f.StringVar(&data, "data", "", "directory for the server's database (default termcall-data; $TERMCALL_DATA)")
	f.DurationVar(&grace, "grace-period", 0, "how long a dropped device may reconnect and resume its calls (default 15s)")
	f.DurationVar(&keepalive, "keepalive", 0, "keepalive ping interval (default 5s)")
	f.IntVar(&udpPort, "udp-port", 0, "UDP port for all media (0: any free port)")
	f.StringVar(&mediaIP, "media-ip", "", "IPv4 address to bind the media port to (default all)")
	f.StringVar(&publicIP, "public-ip", "", "IPv4 address announced to clients for media (behind a 1:1 NAT)")
	f.BoolVar(&noMedia, "no-media", false, "signaling only: relay no audio")
	f.BoolVar(&devLogin, "dev-login", false, "development only: serve POST /v1/dev/usersig, letting anyone log in as anyone")
	// limits
	f.IntVar(&lim.MaxDevicesPerUser, "max-devices-per-user", 0, "devices one user may have logged in at once; 0: no limit (default 10)")
	f.Float64Var(&lim.CallRate, "call-rate", 0, "call/groupCall/inviteUser requests per user per second; 0: no limit (default 10)")
	f.IntVar(&lim.CallBurst, "call-burst", 0, "how many of those requests may come at once (default 20)")
	f.IntVar(&lim.MaxPendingInvitations, "max-pending-invitations", 0, "unanswered invitations per callee; 0: no limit (default 20)")
	f.IntVar(&lim.MaxInvitationBytes, "max-invitation-bytes", 0, "bytes of userData + offlinePushInfo per invitation; 0: no limit (default 8192)")
	return c
}

// noLimit maps a configured limit, where 0 means none, to server.Config,
// where 0 means the default and a negative value none.
func noLimit[T int | float64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}
