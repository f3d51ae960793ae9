package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/loadtest"
)

func newLoadtestCmd(g *globals) *cobra.Command {
	var (
		o            loadtest.Options
		audio, video bool
		metricsURL   string
	)
	c := &cobra.Command{
		Use:   "loadtest --server URL --secret KEY [--calls N] [--group-size K] [--rate R] [--duration D]",
		Short: "Load a termcall server with many concurrent calls and measure it",
		Long: joinLines(
			"Keep --calls calls up at once against --server (any server or cluster",
			"node), placed at --rate calls per second: 1v1, or groups of --group-size.",
			"Each participant is a light client: a real WebSocket and a real",
			"PeerConnection to the SFU, sending pre-encoded Opus (--audio, the default)",
			"and VP8 (--video) and counting what it receives without decoding it.",
			"Once every call has media on every leg, the test measures for --duration,",
			"then hangs up.",
			"",
			"The users lt<run>-<call>-<n> (and with groups, the groups lt<run>-g<call>)",
			"are created with the admin API; --secret signs their userSigs and the",
			"administrator's. Reported: calls connected, setup latency p50/p99 (to",
			"the caller's onCallBegin and to media at everyone), packets sent and",
			"received, loss, jitter, interarrival, the server's CPU per call-second",
			"and forwarded packets per server CPU-second (from /proc when the server",
			"runs on this machine - --server-pid, or found by its port -, else from",
			"its /metrics), and its RSS. --workers splits the clients over several",
			"processes so that the generator's CPU is not the bottleneck. --json",
			"prints the report as one JSON object. See docs/performance.md.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return g.runLoadtest(cmd, loadtestFlags{o: o, audio: audio, video: video, metricsURL: metricsURL})
		}),
	}
	fl := c.Flags()
	fl.IntVar(&o.Calls, "calls", 10, "concurrent calls")
	fl.IntVar(&o.GroupSize, "group-size", 2, "participants per call (2: 1v1; more: group calls)")
	fl.BoolVar(&audio, "audio", true, "send Opus audio")
	fl.BoolVar(&video, "video", false, "send VP8 video (640x360, 15 fps)")
	fl.Float64Var(&o.Rate, "rate", 10, "calls placed per second while ramping up")
	fl.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to measure once every call is up")
	fl.IntVar(&o.Workers, "workers", 1, "generator processes to spread the clients over")
	fl.IntVar(&o.ServerPID, "server-pid", 0, "the server's process ID on this machine, for its CPU and RSS from /proc (default: found by the server's port; -1: use /metrics)")
	fl.StringVar(&metricsURL, "metrics-url", "", "the server's Prometheus endpoint (default: --server's origin + /metrics)")
	fl.DurationVar(&o.SetupTimeout, "setup-timeout", 0, "bound on the ramp plus the wait for media on every call (default calls/rate + 30s)")
	return c
}

// loadtestFlags are the flags of loadtest.
type loadtestFlags struct {
	o            loadtest.Options
	audio, video bool
	metricsURL   string
}

// runLoadtest wires loadtest: a worker process serves its parent; else
// the options from the flags and config, then loadtest.Run and its report.
func (g *globals) runLoadtest(cmd *cobra.Command, f loadtestFlags) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv(loadtest.WorkerEnv) != "" {
		// A worker process of a load test started by another.
		if err := loadtest.RunWorker(ctx, os.Stdin, g.stdout); err != nil {
			return exit.With(exit.Failure, err)
		}
		return nil
	}
	o, err := g.loadtestOptions(cmd, f)
	if err != nil {
		return err
	}
	rep, err := loadtest.Run(ctx, o)
	if err != nil {
		return exit.With(exit.Failure, err)
	}
	if g.json {
		b, _ := json.Marshal(rep)
		g.line(b)
	} else {
		rep.WriteTable(g.stdout)
	}
	if rep.CallsConnected < rep.Calls {
		return exit.With(exit.Failure, fmt.Errorf("%d of %d calls did not connect", rep.Calls-rep.CallsConnected, rep.Calls))
	}
	return nil
}

// loadtestOptions are loadtest.Options from the flags and config; values
// out of range are usage errors.
func (g *globals) loadtestOptions(cmd *cobra.Command, f loadtestFlags) (loadtest.Options, error) {
	o := f.o
	cfg, err := g.config(cmd)
	if err != nil {
		return o, err
	}
	if err := validate(cfg); err != nil {
		return o, err
	}
	if cfg.Secret == "" {
		return o, exit.Usagef("loadtest needs --secret (or TERMCALL_SECRET): it signs the load-test users' userSigs")
	}
	o.Server, o.SDKAppID, o.Secret, o.CAFile = cfg.Server, cfg.SDKAppID, cfg.Secret, cfg.CAFile
	if o.TLSConfig, err = clientTLS(cfg); err != nil {
		return o, err
	}
	if o.Audio, o.Video, err = f.media(cmd); err != nil {
		return o, err
	}
	o.MetricsURL = f.metricsURL
	if err := checkLoadtestRanges(o); err != nil {
		return o, err
	}
	if o.Workers > 1 {
		if o.Exe, err = os.Executable(); err != nil {
			return o, exit.With(exit.Failure, err)
		}
		o.ExeArgs = []string{"loadtest"}
	}
	o.Say = g.say
	return o, nil
}

// media is what the load test sends: --audio and --video (--video alone:
// video only); not nothing.
func (f loadtestFlags) media(cmd *cobra.Command) (audio, video bool, err error) {
	audio, video = f.audio, f.video
	if !cmd.Flags().Changed("audio") && f.video {
		audio = false // --video alone: video only
	}
	if !audio && !video {
		return audio, video, exit.Usagef("--audio=false needs --video")
	}
	return audio, video, nil
}

// checkLoadtestRanges checks the sizes of a load test.
func checkLoadtestRanges(o loadtest.Options) error {
	switch {
	case o.Calls < 1 || o.Calls > 10000:
		return exit.Usagef("--calls %d: must be 1..10000", o.Calls)
	case o.GroupSize < 2 || o.GroupSize > 16:
		return exit.Usagef("--group-size %d: must be 2..16", o.GroupSize)
	case o.Rate <= 0 || o.Rate > 10000:
		return exit.Usagef("--rate %g: must be above 0 and at most 10000", o.Rate)
	case o.Duration < time.Second || o.Duration > 24*time.Hour:
		return exit.Usagef("--duration %s: must be 1s..24h", o.Duration)
	case o.Workers < 1 || o.Workers > 64 || o.Workers > o.Calls:
		return exit.Usagef("--workers %d: must be 1..64 and at most --calls", o.Workers)
	}
	return nil
}
