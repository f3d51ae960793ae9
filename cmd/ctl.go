package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/internal/exit"
)

// Help texts of the --beauty and --back-camera flags.
const (
	beautyFlagHelp     = "beauty (smoothing) level of the video you send, 0 (off) to 9 (default: video.beauty)"
	backCameraFlagHelp = "start on the back camera (video.back) instead of the front one"
)

// controlFlagHelp is the --control flag's help text.
const controlFlagHelp = "listen for control commands (termcall ctl, docs/control.md) on unix:PATH or tcp:127.0.0.1:PORT"

// startControl serves the control socket at addr for eng ("" does
// nothing); stop closes it (and removes a unix socket file).
func startControl(addr string, eng *engine.Engine, log *slog.Logger, opts control.Options) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := control.Listen(addr)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--control: %w", err))
	}
	opts.Engine, opts.Logger = eng, log
	s := control.New(opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ln); err != nil {
			log.Warn("control socket", "err", err)
		}
	}()
	return func() {
		s.Close()
		<-done
	}, nil
}

func newCtlCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "ctl ADDRESS COMMAND [ARGS...]",
		Short: "Control a running call, bot or TUI through its --control socket",
		Long: joinLines(
			"Send one command to a termcall started with --control ADDRESS (unix:PATH, a",
			"bare PATH, or tcp:127.0.0.1:PORT) and print its answer. Commands:",
			"",
			"  status                     the call and media state (JSON)",
			"  mute | unmute              close or open the microphone",
			"  camera on|off              open or close the camera",
			"  switch-camera [front|back] switch cameras (default: the other one)",
			"  media audio|video          switch the call's media type",
			"  invite USER...             invite more users into the group call",
			"  accept | reject | hangup   answer, refuse or end the call",
			"  speaker | earpiece         pick the playback route",
			"  nickname NAME              set your nickname",
			"  beauty 0..9                set the beauty (smoothing) level",
			"  ai-voice on|off            AI noise suppression",
			"  blur LEVEL                 background blur",
			"  events                     subscribe and print every event (NDJSON) until",
			"                             the process ends or Ctrl-C",
			"",
			"A result is printed to stdout as JSON; a failure prints its error code and",
			"message to stderr and exits 1 (2 for bad arguments, 1 with code 5015 when",
			"nothing listens at ADDRESS). The protocol is in docs/control.md.",
		),
		Example: "  termcall groupcall --group team bob --control unix:/tmp/call.sock &\n" +
			"  termcall ctl /tmp/call.sock mute\n" +
			"  termcall ctl /tmp/call.sock invite carol dave\n" +
			"  termcall ctl /tmp/call.sock events    # NDJSON until the call ends\n" +
			"  termcall ctl tcp:127.0.0.1:7481 hangup",
		Args: cobra.MinimumNArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runCtl(cmd, args, timeout) }),
	}
	c.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "how long to wait for the answer")
	return c
}

// runCtl sends one command (args[1:]) to the control socket at args[0]
// and prints its result; "events" prints the events instead.
func (g *globals) runCtl(cmd *cobra.Command, args []string, timeout time.Duration) error {
	ctx := cmd.Context()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, err := control.Dial(dctx, args[0])
	if err != nil {
		return err
	}
	defer cl.Close()
	if args[1] == "events" {
		return g.ctlEvents(ctx, cl)
	}
	rep, err := cl.Do(dctx, args[1], args[2:]...)
	if err != nil {
		return err
	}
	if rep.Result != nil {
		b, _ := json.Marshal(rep.Result)
		g.line(b)
	}
	return nil
}

// ctlEvents subscribes and prints the events until the connection ends or
// a signal comes.
func (g *globals) ctlEvents(ctx context.Context, cl *control.Client) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := cl.Do(ctx, "subscribe"); err != nil {
		return err
	}
	for {
		select {
		case ev, ok := <-cl.Events():
			if !ok {
				return nil
			}
			g.line([]byte(strings.TrimSpace(string(ev))))
		case <-ctx.Done():
			return nil
		}
	}
}
