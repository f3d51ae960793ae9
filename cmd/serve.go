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

	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/server"
)

// shutdownTimeout bounds the graceful shutdown after the first signal.
const shutdownTimeout = 10 * time.Second

func newServeCmd(g *globals) *cobra.Command {
	var (
		listen, data     string
		grace, keepalive time.Duration
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
			"(with --listen 127.0.0.1:0 the port is the one picked by the system).",
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

			srv, err := server.New(cmd.Context(), server.Config{
				SDKAppID: cfg.SDKAppID, Secret: cfg.Secret, DataDir: cfg.Serve.Data,
				Keepalive: cfg.Serve.Keepalive, GracePeriod: cfg.Serve.GracePeriod,
				AdminUser: cfg.Serve.AdminUser, Logger: log,
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
	return c
}
