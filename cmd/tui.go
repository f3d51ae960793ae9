package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/tuiapp"
	"github.com/termcall/termcall/tui"
	"github.com/termcall/termcall/usersig"
)

// tuiFlags are the flags of tui (and of termcall without a command) and demo.
type tuiFlags struct {
	lang           string
	incomingBanner bool
	floatWindow    bool
	muteMode       bool
	contacts       []string

	mic, speaker, play, record string
	noAudioDevice              bool
	camera                     string

	// --- kit: control ---
	control string
	// --- kit: beauty, camera ---
	beauty     float64
	backCamera bool

	bg backgroundFlags // --- seg: blur, background ---
}

func (f *tuiFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.lang, "lang", "", "UI language: en, zh-cn or ja_JP (default from $LANG)")
	fl.BoolVar(&f.incomingBanner, "incoming-banner", false, "show incoming calls as a one-line banner first (e expands it)")
	fl.BoolVar(&f.floatWindow, "float-window", false, "allow the compact one-line call view (f toggles it; off by default, as the reference)")
	fl.BoolVar(&f.muteMode, "mute-mode", false, "ring without the bell or the ringtone (default: audio.mute_mode)")
	fl.StringSliceVar(&f.contacts, "contact", nil, "add a contact (user ID, or \"group:G a b\"); config key contacts")
	fl.StringVar(&f.mic, "mic", "", "microphone to use (default: audio.mic, else the system default)")
	fl.StringVar(&f.speaker, "speaker", "", "speaker to use (default: audio.speakerphone, else the system default)")
	fl.StringVar(&f.play, "play", "", "send this instead of the microphone: a .wav or .ogg file, or tone:HZ[:DURATION]")
	fl.StringVar(&f.record, "record", "", "record what you hear during calls to this .wav or .ogg file")
	fl.StringVar(&f.camera, "camera", "", "video source for video calls: camera:[DEVICE], pattern:[WxH], a .y4m/.ivf file (default: the first camera, else pattern:)")
	fl.BoolVar(&f.noAudioDevice, "no-audio-device", false, "open no sound device (you hear nothing; only --play is sent)")
	// --- kit: control ---
	fl.StringVar(&f.control, "control", "", controlFlagHelp)
	// --- kit: beauty, camera ---
	fl.Float64Var(&f.beauty, "beauty", 0, beautyFlagHelp)
	fl.BoolVar(&f.backCamera, "back-camera", false, backCameraFlagHelp)
	f.bg.add(fl) // --- seg: blur, background ---
}

// tuiSetup is what demo changes about the TUI's session.
type tuiSetup struct {
	apply        func(*config.Config)
	defaultGroup string
	notice       string
	contacts     []string // more contacts, after the configured ones
}

// addTUICommands registers tui and demo, and makes the TUI what termcall
// runs without a command.
func addTUICommands(g *globals, root *cobra.Command) {
	var f tuiFlags
	f.add(root.Flags())
	root.RunE = runE(func(cmd *cobra.Command, args []string) error {
		if !isTerminal() {
			return cmd.Help() // scripts and pipes get the usage, as before
		}
		return g.runTUI(cmd, &f, tuiSetup{})
	})
	root.AddCommand(newTUICmd(g), newDemoCmd(g))
}

func newTUICmd(g *globals) *cobra.Command {
	var f tuiFlags
	c := &cobra.Command{
		Use:   "tui",
		Short: "Open the full-screen softphone (also what termcall runs without a command)",
		Long: joinLines(
			"Log in as --user and open the full-screen softphone: contacts and recent",
			"callers, a dial box (one user for a 1v1 call; \"group:G a b\" for a group",
			"call), incoming calls, the call screen and the call history. Press ? for",
			"the keys of each screen.",
			"",
			"The UI draws on the terminal (stderr); logs go only to --log-file.",
			"Without a sound card the null device is used and the status line says so.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runTUI(cmd, &f, tuiSetup{}) }),
	}
	f.add(c.Flags())
	return c
}

// runTUI logs in and runs the TUI until the user quits.
func (g *globals) runTUI(cmd *cobra.Command, f *tuiFlags, setup tuiSetup) error {
	cfg, saved, err := g.tuiConfig(cmd, f, setup)
	if err != nil {
		return err
	}
	sig, err := userSigFor(cfg, cfg.User, cfg.UserSig)
	if err != nil {
		return err
	}
	if !isTerminal() {
		return exit.Usagef("the TUI needs a terminal; for scripts use termcall call, groupcall or bot")
	}
	log, closeLog, err := g.tuiLogger(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	au, notice, err := openTUIAudio(cmd, f, &cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := au.Close(); err != nil {
			log.Warn("finishing the recording", "err", err)
		}
	}()
	notice = joinNotices(setup.notice, notice, saved.Notice)
	sess, err := newSession(cfg, log)
	if err != nil {
		return err
	}
	defer sess.close()
	return g.runTUISession(cmd, f, setup, tuiRun{cfg: cfg, saved: saved, sig: sig, log: log, au: au, notice: notice, sess: sess})
}

// openTUIAudio opens the TUI's audio (a device problem is a notice, not
// an error, unless a device was named) with its mute mode: --mute-mode,
// else audio.mute_mode.
func openTUIAudio(cmd *cobra.Command, f *tuiFlags, cfg *config.Config, log *slog.Logger) (*tuiapp.Audio, string, error) {
	au, notice, err := tuiapp.OpenAudio(audioOptions(*cfg, f.mic, f.speaker, f.play, f.record, f.noAudioDevice, log),
		f.mic != "" || f.speaker != "", log)
	if err != nil {
		return nil, "", err
	}
	if cmd.Flags().Changed("mute-mode") {
		cfg.Audio.MuteMode = f.muteMode
	}
	au.EnableMuteMode(cfg.Audio.MuteMode)
	return au, notice, nil
}

// joinNotices is the first-run setup's notice, the audio's, then the saved
// state's, joined (the empty ones left out).
func joinNotices(setup, audio, saved string) string {
	notice := audio
	if setup != "" {
		notice = tuiapp.JoinNotice(setup, notice)
	}
	if saved != "" {
		notice = tuiapp.JoinNotice(notice, saved)
	}
	return notice
}

// tuiRun is what runTUI has opened for runTUISession.
type tuiRun struct {
	cfg    config.Config
	saved  tuiapp.Saved
	sig    string
	log    *slog.Logger
	au     *tuiapp.Audio
	notice string
	sess   *session
}

// runTUISession wires the control socket, the audio and the video to the
// logged-out engine, then runs the program.
func (g *globals) runTUISession(cmd *cobra.Command, f *tuiFlags, setup tuiSetup, r tuiRun) error {
	// --- kit: control --- (a command tells the UI to read the engine back)
	var prog atomic.Pointer[tea.Program]
	stopControl, err := startControl(f.control, r.sess.eng, r.log, control.Options{OnCommand: func(c string) {
		if p := prog.Load(); p != nil {
			go p.Send(tui.ExternalChange(c))
		}
	}})
	if err != nil {
		return err
	}
	defer stopControl()
	r.au.Attach(r.sess.eng)
	f.fromConfig(cmd, r.cfg)
	vid, err := tuiapp.OpenVideo(f.camera, r.cfg.Video.Back, r.cfg.Video.Render, r.log)
	if err != nil {
		return exit.With(exit.Usage, fmt.Errorf("--camera: %w", err))
	}
	defer vid.Close()
	vid.Attach(r.sess.eng)
	if err := f.startCamera(cmd.Context(), r.sess.eng, r.cfg); err != nil {
		return err
	}
	p := tea.NewProgram(tui.New(f.options(setup, r, vid)), tea.WithOutput(os.Stderr), tea.WithContext(cmd.Context()))
	prog.Store(p) // --- kit: control ---
	if _, err := p.Run(); err != nil && cmd.Context().Err() == nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

// tuiConfig is the TUI's configuration: the config file, the demo's
// changes, the settings saved last time, then --beauty; valid, with a user.
func (g *globals) tuiConfig(cmd *cobra.Command, f *tuiFlags, setup tuiSetup) (config.Config, tuiapp.Saved, error) {
	cfg, err := g.config(cmd)
	if err != nil {
		return cfg, tuiapp.Saved{}, err
	}
	if setup.apply != nil {
		setup.apply(&cfg)
	}
	saved := tuiapp.LoadSaved(&cfg, os.Getenv) // --- kit: settings that persist ---
	if cmd.Flags().Changed("beauty") {
		cfg.Video.Beauty = f.beauty
	}
	if err := f.bg.resolve(cmd.Flags(), &cfg); err != nil { // --- seg ---
		return cfg, saved, err
	}
	if err := validate(cfg); err != nil {
		return cfg, saved, err
	}
	return cfg, saved, requireUser(cfg)
}

// tuiLogger logs to --log-file only (never to the screen), else nowhere.
func (g *globals) tuiLogger(cfg config.Config) (*slog.Logger, func(), error) {
	if cfg.LogFile == "" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	return g.logger(cfg, slog.LevelDebug)
}

// fromConfig fills the TUI flags not given from the configuration.
func (f *tuiFlags) fromConfig(cmd *cobra.Command, cfg config.Config) {
	fl := cmd.Flags()
	if !fl.Changed("lang") {
		f.lang = cfg.TUI.Lang
	}
	if !fl.Changed("incoming-banner") {
		f.incomingBanner = cfg.TUI.IncomingBanner
	}
	if !fl.Changed("float-window") {
		f.floatWindow = cfg.TUI.FloatWindow
	}
	if !fl.Changed("camera") {
		f.camera = cfg.Video.Front
	}
}

// startCamera sets the beauty level and, with --back-camera, the camera.
func (f *tuiFlags) startCamera(ctx context.Context, eng *engine.Engine, cfg config.Config) error {
	// --- kit: beauty, camera ---
	if err := eng.SetBeautyLevel(cfg.Video.Beauty); err != nil {
		return exit.With(exit.Usage, err)
	}
	if err := applyBackground(eng, cfg); err != nil { // --- seg ---
		return err
	}
	if f.backCamera {
		if err := eng.SwitchCamera(ctx, engine.CameraBack); err != nil {
			return exit.With(exit.Usage, fmt.Errorf("--back-camera: %w", err))
		}
	}
	return nil
}

// login logs in (renewing a self-signed userSig each time), then restores
// the nickname the settings screen set last time.
func (r tuiRun) login(canRenew bool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		s := r.sig
		if canRenew {
			var err error
			if s, err = usersig.Gen(r.cfg.SDKAppID, r.cfg.Secret, r.cfg.User, selfSignExpire); err != nil {
				return err
			}
		}
		if err := r.sess.init(ctx, r.cfg, s); err != nil {
			return err
		}
		// --- kit: settings that persist: the nickname set last time ---
		if nick, avatar := r.saved.State.Profile(r.cfg.User); nick != "" || avatar != "" {
			if err := r.sess.eng.SetSelfInfo(ctx, nick, avatar); err != nil {
				r.log.Warn("restoring the nickname", "err", err)
			}
		}
		return nil
	}
}

// options are the TUI's options.
func (f *tuiFlags) options(setup tuiSetup, r tuiRun, vid *tuiapp.Video) tui.Options {
	cfg := r.cfg
	canRenew := cfg.UserSig == "" && cfg.Secret != ""
	nick, avatar := r.saved.State.Profile(cfg.User)
	return tui.Options{
		Engine: r.sess.eng, Events: r.sess.events, User: cfg.User, Login: r.login(canRenew), CanRenewSig: canRenew,
		Contacts:     tuiapp.Contacts(cfg.Contacts, f.contacts, setup.contacts),
		DefaultGroup: setup.defaultGroup, Lang: tuiapp.Lang(f.lang, os.Getenv),
		IncomingBanner: f.incomingBanner, FloatWindow: f.floatWindow, MuteMode: cfg.Audio.MuteMode,
		Notice: r.notice, Ringer: r.au, Ringback: r.au, Audio: r.au, Devices: tuiapp.Devices,
		AudioDevices: r.au.Devices(), Ringtone: cfg.Audio.Ringtone, NoMicrophone: !r.au.Sending(),
		Video: vid, Camera: f.camera, Notify: tuiapp.DesktopNotifier(os.Getenv),
		// --- kit: settings that persist, beauty ---
		SaveSettings: r.saved.Saver(cfg.User).Save, Beauty: cfg.Video.Beauty, Nickname: nick, Avatar: avatar,
	}
}

// isTerminal says whether the TUI can run: stdin and stderr are a terminal.
func isTerminal() bool { return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stderr.Fd()) }
