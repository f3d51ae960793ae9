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
	"github.com/termcall/termcall/internal/exit"
)

// botFlags are the flags of bot.
type botFlags struct {
	mode        string
	answerDelay time.Duration
	maxDuration time.Duration
	allow       []string
	echo        bool
	play        string
	recordDir   string
	controlAddr string // --- kit: control ---
}

func newBotCmd(g *globals) *cobra.Command {
	var f botFlags
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
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runBot(cmd, &f) }),
	}
	fl := c.Flags()
	fl.StringVar(&f.mode, "mode", config.DefaultBotMode, "answer, reject, busy or no-answer (default from the config file)")
	fl.DurationVar(&f.answerDelay, "answer-delay", 0, "how long to let a call ring before answering")
	fl.DurationVar(&f.maxDuration, "max-duration", 0, "hang up this long after a call connects (0: never)")
	fl.StringSliceVar(&f.allow, "allow", nil, "only handle calls from these users; reject the rest")
	fl.BoolVar(&f.echo, "echo", false, "send back what the bot hears")
	addAIVoiceFlag(fl)
	fl.StringVar(&f.play, "play", "", "send this file (.wav, .ogg) or tone:HZ[:DURATION], looped")
	fl.StringVar(&f.controlAddr, "control", "", controlFlagHelp) // --- kit: control ---
	fl.StringVar(&f.recordDir, "record-dir", "", "record each call to DIR/<callId>-<userId>.wav (and .ivf for video) and DIR/<callId>.json")
	return c
}

// runBot wires bot: flags and config, then the audio, video and engine,
// then bot.Bot runs until a signal.
func (g *globals) runBot(cmd *cobra.Command, f *botFlags) error {
	cfg, err := g.botConfig(cmd, f)
	if err != nil {
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
	m, err := g.openBotMedia(f, cfg, log)
	defer m.close()
	if err != nil {
		return err
	}
	return g.runBotSession(ctx, m.sess, cfg, sig)
}

// openBotMedia opens the bot's audio and video and its session with the
// control socket, and gives the engine the media.
func (g *globals) openBotMedia(f *botFlags, cfg config.Config, log *slog.Logger) (*callMedia, error) {
	m := &callMedia{}
	au, err := f.openAudio(log)
	if err != nil {
		return m, err
	}
	m.au = au
	m.onClose(func() { g.closeBotAudio(au) })
	vid, err := f.openVideo(log)
	if err != nil {
		return m, err
	}
	if err := m.openSession(cfg, log, vid, f.controlAddr); err != nil {
		return m, err
	}
	m.onClose(g.attachBotMedia(m.sess.eng, au, vid))
	return m, nil
}

// runBotSession logs in (waiting for the server) and handles calls until
// ctx ends.
func (g *globals) runBotSession(ctx context.Context, sess *session, cfg config.Config, sig string) error {
	emit := g.emitter()
	b := &bot.Bot{Policy: cfg.Bot, Engine: sess.eng, Emit: emit, Say: g.say}
	login := func(ctx context.Context) error { return sess.init(ctx, cfg, sig) }
	if err := bot.LoginWithRetry(ctx, login, sess.events, emit, g.say); err != nil {
		return exit.Wrap(err)
	}
	if ctx.Err() != nil {
		return nil
	}
	g.say(fmt.Sprintf("bot %s ready (mode %s)", cfg.User, cfg.Bot.Mode))
	return b.Run(ctx, sess.events)
}

// botConfig is the bot's configuration: the bot section, with the flags
// given, valid, with a user.
func (g *globals) botConfig(cmd *cobra.Command, f *botFlags) (config.Config, error) {
	cfg, err := g.config(cmd)
	if err != nil {
		return cfg, err
	}
	fl := cmd.Flags()
	if fl.Changed("mode") {
		cfg.Bot.Mode = f.mode
	}
	if fl.Changed("answer-delay") {
		cfg.Bot.AnswerDelay = f.answerDelay
	}
	if fl.Changed("max-duration") {
		cfg.Bot.MaxDuration = f.maxDuration
	}
	if fl.Changed("allow") {
		cfg.Bot.Allow = f.allow
	}
	if err := validate(cfg); err != nil {
		return cfg, err
	}
	return cfg, requireUser(cfg)
}

// openAudio opens the bot's audio: nil without --echo, --play or
// --record-dir (the bot then sends and receives none).
func (f *botFlags) openAudio(log *slog.Logger) (*callaudio.Audio, error) {
	if !f.echo && f.play == "" && f.recordDir == "" {
		return nil, nil
	}
	au, err := callaudio.Open(callaudio.Options{Echo: f.echo, Play: f.play, Loop: true,
		RecordDir: f.recordDir, NoAudioDevice: true, LightEncoder: true, Logger: log})
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return au, nil
}

// openVideo opens the bot's video: with --record-dir it views everyone
// and records what they send; nil otherwise.
func (f *botFlags) openVideo(log *slog.Logger) (*callvideo.Video, error) {
	if f.recordDir == "" {
		return nil, nil
	}
	vid, err := callvideo.Open(callvideo.Options{ViewAll: true, RecordDir: f.recordDir, Logger: log})
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return vid, nil
}

func (g *globals) closeBotAudio(au *callaudio.Audio) {
	if au == nil {
		return
	}
	if err := au.Close(); err != nil {
		g.warn("termcall: finishing the recordings: " + err.Error())
	}
}

// attachBotMedia gives the engine the bot's audio and video (either may
// be nil); the returned function closes the video.
func (g *globals) attachBotMedia(eng *engine.Engine, au *callaudio.Audio, vid *callvideo.Video) (closeVideo func()) {
	if au != nil {
		au.Attach(eng)
	}
	if vid == nil {
		return func() {}
	}
	vid.Attach(eng)
	return func() {
		if err := vid.Close(); err != nil {
			g.warn("termcall: finishing the video recordings: " + err.Error())
		}
	}
}
