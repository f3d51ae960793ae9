package cmd

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
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
			return g.runBench(cmd, bench.Options{Calls: calls, CallDuration: duration, AnswerDelay: answer})
		}),
	}
	fl := c.Flags()
	fl.IntVar(&calls, "calls", 5, "number of calls")
	fl.DurationVar(&duration, "call-duration", 3*time.Second, "connected time of each call")
	fl.DurationVar(&answer, "answer-delay", 0, "let each call ring this long before the callee answers (0: at once)")
	return c
}

// runBench wires bench: the options from the flags and config, then
// bench.Run and its report.
func (g *globals) runBench(cmd *cobra.Command, o bench.Options) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	if err := validate(cfg); err != nil {
		return err
	}
	if err := checkBenchRanges(o); err != nil {
		return err
	}
	o.SDKAppID, o.Secret, o.Say = cfg.SDKAppID, cfg.Secret, g.say
	if err := benchServer(cmd, cfg, &o); err != nil {
		return err
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
}

// checkBenchRanges checks the sizes of a bench run.
func checkBenchRanges(o bench.Options) error {
	switch {
	case o.AnswerDelay < 0 || o.AnswerDelay > time.Minute:
		return exit.Usagef("--answer-delay %s: must be 0..1m", o.AnswerDelay)
	case o.Calls < 1 || o.Calls > 1000:
		return exit.Usagef("--calls %d: must be 1..1000", o.Calls)
	case o.CallDuration < time.Second || o.CallDuration > 10*time.Minute:
		return exit.Usagef("--call-duration %s: must be 1s..10m", o.CallDuration)
	}
	return nil
}

// benchServer sets the server of the run: --server (with --secret to sign
// the bench users' userSigs), else a child termcall serve of this binary.
func benchServer(cmd *cobra.Command, cfg config.Config, o *bench.Options) error {
	var err error
	if cmd.Flags().Changed("server") {
		o.Server = cfg.Server
		if o.TLSConfig, err = clientTLS(cfg); err != nil {
			return err
		}
		if cfg.Secret == "" {
			return exit.Usagef("bench with --server needs --secret (or TERMCALL_SECRET) to sign the bench users' userSigs")
		}
		return nil
	}
	if o.Secret == "" {
		o.Secret = "termcall-bench-secret"
	}
	if o.Exe, err = os.Executable(); err != nil {
		return exit.With(exit.Failure, err)
	}
	return nil
}
