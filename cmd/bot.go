package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/bot"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

func newBotCmd(g *globals) *cobra.Command {
	var (
		mode        string
		answerDelay time.Duration
		maxDuration time.Duration
		allow       []string
		echo        bool
		play        string
		recordDir   string
		controlAddr string // --- kit: control ---
	)
	c := &cobra.Command{
		Use:   "bot [--mode answer|reject|busy|no-answer]",
		Short: "Log in and handle every incoming call automatically",
		Long: joinLines(
			"Log in as --user and handle every incoming call, one at a time:",
			"",
			"  answer     accept it after --answer-delay",
			"  reject     reject it (the caller exits 3)",
			"  busy       reply line busy (the caller exits 4)",
			"  no-answer  let it ring until the caller's timeout (the caller exits 5)",
			"",
			"Callers not in --allow (when set) are rejected. --max-duration hangs up that",
			"long after a call connects. Defaults come from the config file's bot section.",
			"With --json every engine event goes to stdout as one JSON line; the first",
			`{"event":"onConnectionChanged","state":"connected"} says the bot is ready.`,
			"",
			"The bot runs until SIGINT/SIGTERM. If the server is not up yet it retries,",
			"and it reconnects on its own when the server restarts. It exits 7 when the",
			"server refuses its userSig or it is kicked offline.",
			"",
			"Audio (bots never open a sound device): --echo sends back what the bot",
			"hears; --play sends a file or tone:HZ, looped; --record-dir DIR writes, per",
			"call, what each other user sent as DIR/<callId>-<userId>.wav and the call's",
			"events as DIR/<callId>.json (NDJSON). Without these the bot sends and",
			"receives no audio. With --record-dir the bot also views everyone whose",
			"camera is on and writes their video, as received (VP8), to",
			"DIR/<callId>-<userId>.ivf (only for users who send video). The bot sends",
			"no video.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			if f.Changed("mode") {
				cfg.Bot.Mode = mode
			}
			if f.Changed("answer-delay") {
				cfg.Bot.AnswerDelay = answerDelay
			}
			if f.Changed("max-duration") {
				cfg.Bot.MaxDuration = maxDuration
			}
			if f.Changed("allow") {
				cfg.Bot.Allow = allow
			}
			if err := validate(cfg); err != nil {
				return err
			}
			if err := requireUser(cfg); err != nil {
				return err
			}
			sig, err := userSigFor(cfg, cfg.User, cfg.UserSig)
			if err != nil {
				return err
			}
			log, closeLog, err := g.logger(cfg, slog.LevelWarn)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			bot.LightRuntime() // --- perf: one P for a bot ---

			var au *callaudio.Audio
			if echo || play != "" || recordDir != "" {
				au, err = callaudio.Open(callaudio.Options{Echo: echo, Play: play, Loop: true,
					RecordDir: recordDir, NoAudioDevice: true, LightEncoder: true, Logger: log})
				if err != nil {
					return exit.With(exit.Usage, err)
				}
				defer func() {
					if err := au.Close(); err != nil {
						g.warn("termcall: finishing the recordings: " + err.Error())
					}
				}()
			}
			var vid *callvideo.Video
			if recordDir != "" {
				vid, err = callvideo.Open(callvideo.Options{ViewAll: true, RecordDir: recordDir, Logger: log})
				if err != nil {
					return exit.With(exit.Usage, err)
				}
			}
			sess, err := newSession(cfg, log)
			if err != nil {
				if vid != nil {
					vid.Close()
				}
				return err
			}
			defer sess.close()
			// --- kit: control ---
			stopControl, err := startControl(controlAddr, sess.eng, log, control.Options{})
			if err != nil {
				return err
			}
			defer stopControl()
			if au != nil {
				au.Attach(sess.eng)
			}
			if vid != nil {
				vid.Attach(sess.eng)
				defer func() {
					if err := vid.Close(); err != nil {
						g.warn("termcall: finishing the video recordings: " + err.Error())
					}
				}()
			}

			emit := g.emitter()
			b := &bot.Bot{Policy: cfg.Bot, Engine: sess.eng, Emit: emit, Say: g.say}
			if err := g.initWithRetry(ctx, sess, cfg, sig, emit); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			g.say(fmt.Sprintf("bot %s ready (mode %s)", cfg.User, cfg.Bot.Mode))
			return b.Run(ctx, sess.events)
		}),
	}
	fl := c.Flags()
	fl.StringVar(&mode, "mode", config.DefaultBotMode, "answer, reject, busy or no-answer (default from the config file)")
	fl.DurationVar(&answerDelay, "answer-delay", 0, "how long to let a call ring before answering")
	fl.DurationVar(&maxDuration, "max-duration", 0, "hang up this long after a call connects (0: never)")
	fl.StringSliceVar(&allow, "allow", nil, "only handle calls from these users; reject the rest")
	fl.BoolVar(&echo, "echo", false, "send back what the bot hears")
	addAIVoiceFlag(fl)
	fl.StringVar(&play, "play", "", "send this file (.wav, .ogg) or tone:HZ[:DURATION], looped")
	fl.StringVar(&controlAddr, "control", "", controlFlagHelp) // --- kit: control ---
	fl.StringVar(&recordDir, "record-dir", "", "record each call to DIR/<callId>-<userId>.wav (and .ivf for video) and DIR/<callId>.json")
	return c
}

// initWithRetry logs in, retrying with backoff while the server cannot be
// reached. It returns nil when ctx ends first.
func (g *globals) initWithRetry(ctx context.Context, sess *session, cfg config.Config, sig string, emit func(engine.Event)) error {
	backoff := 200 * time.Millisecond
	for {
		err := sess.init(ctx, cfg, sig)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		switch protocol.CodeOf(err) {
		case protocol.CodeServerUnreachable, protocol.CodeRequestTimeout, protocol.CodeConnectionLost, protocol.CodeShuttingDown:
		default:
			return exit.Wrap(err)
		}
		g.say(fmt.Sprintf("%v; retrying in %s", err, backoff))
		// Wait, streaming the connection events meanwhile.
		timer := time.NewTimer(backoff)
	wait:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case ev := <-sess.events:
				emit(ev)
			case <-timer.C:
				break wait
			}
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
