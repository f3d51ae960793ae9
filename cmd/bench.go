package cmd

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/internal/bench"
	"github.com/termcall/termcall/internal/exit"
)

func newBenchCmd(g *globals) *cobra.Command {
	var (
		calls    int
		duration time.Duration
		answer   time.Duration
	)
	c := &cobra.Command{
		Use:   "bench [--calls N] [--server URL] [--json]",
		Short: "Measure call setup, audio latency and CPU on this machine",
		Long: joinLines(
			"Run N 1v1 audio calls between two engines in this process, through a",
			"server started for the purpose (a child 'termcall serve' on 127.0.0.1) or",
			"--server, and measure per call:",
			"",
			"  invite -> CallReceived, dial -> established (the callee answers at once,",
			"    or after --answer-delay, which is then subtracted)",
			"  accept -> first RTP packet and first decoded audio, on each side",
			"  mouth-to-ear latency both ways: a speech-like signal sent through the",
			"    real pipeline (Opus, SFU, jitter buffer, decoder) and found in the",
			"    other side's playout by cross-correlation; device buffers excluded",
			"  CPU seconds per call second, per side (the process's CPU over the",
			"    connected time, halved: both sides run here) and of the server",
			"",
			"No sound device is used. With an external --server the users",
			"bench-caller-* and bench-callee-* log in with userSigs signed with",
			"--secret. --json prints the whole report as one JSON object; otherwise a",
			"table goes to stdout. See docs/audio.md.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if err := validate(cfg); err != nil {
				return err
			}
			if answer < 0 || answer > time.Minute {
				return exit.Usagef("--answer-delay %s: must be 0..1m", answer)
			}
			if calls < 1 || calls > 1000 {
				return exit.Usagef("--calls %d: must be 1..1000", calls)
			}
			if duration < time.Second || duration > 10*time.Minute {
				return exit.Usagef("--call-duration %s: must be 1s..10m", duration)
			}
			o := bench.Options{Calls: calls, CallDuration: duration, AnswerDelay: answer, SDKAppID: cfg.SDKAppID,
				Secret: cfg.Secret, Say: g.say}
			if cmd.Flags().Changed("server") {
				o.Server = cfg.Server
				if o.TLSConfig, err = clientTLS(cfg); err != nil {
					return err
				}
				if cfg.Secret == "" {
					return exit.Usagef("bench with --server needs --secret (or TERMCALL_SECRET) to sign the bench users' userSigs")
				}
			} else {
				if o.Secret == "" {
					o.Secret = "termcall-bench-secret"
				}
				if o.Exe, err = os.Executable(); err != nil {
					return exit.With(exit.Failure, err)
				}
			}
			log, closeLog, err := g.logger(cfg, slog.LevelError)
			if err != nil {
				return err
			}
			defer closeLog()
			o.Logger = log
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.Run(ctx, o)
			if err != nil {
				return exit.With(exit.Failure, err)
			}
			if g.json {
				b, _ := json.Marshal(rep)
				g.line(b)
				return nil
			}
			rep.WriteTable(g.stdout)
			return nil
		}),
	}
	fl := c.Flags()
	fl.IntVar(&calls, "calls", 5, "number of calls")
	fl.DurationVar(&duration, "call-duration", 3*time.Second, "connected time of each call")
	fl.DurationVar(&answer, "answer-delay", 0, "let each call ring this long before the callee answers (0: at once)")
	return c
}
