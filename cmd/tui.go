package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/selftest"
	"github.com/termcall/termcall/internal/state"
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
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	if setup.apply != nil {
		setup.apply(&cfg)
	}
	// --- kit: settings that persist ---
	// What the settings screen changed last time overrides the config
	// file; the flags below still win.
	statePath, stateNotice := cfg.StateFile, ""
	if statePath == "" {
		if statePath, err = state.DefaultPath(os.Getenv); err != nil {
			statePath, stateNotice = state.Off, err.Error()
		}
	}
	saved, err := state.Load(statePath)
	if err != nil {
		stateNotice = err.Error()
	}
	saved.ApplyTo(&cfg)
	if cmd.Flags().Changed("beauty") {
		cfg.Video.Beauty = f.beauty
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
	if !isTerminal() {
		return exit.Usagef("the TUI needs a terminal; for scripts use termcall call, groupcall or bot")
	}
	log, closeLog := slog.New(slog.DiscardHandler), func() {}
	if cfg.LogFile != "" {
		if log, closeLog, err = g.logger(cfg, slog.LevelDebug); err != nil {
			return err
		}
	}
	defer closeLog()

	au, notice, err := openTUIAudio(cfg, f, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := au.Close(); err != nil {
			log.Warn("finishing the recording", "err", err)
		}
	}()
	muteMode := cfg.Audio.MuteMode
	if cmd.Flags().Changed("mute-mode") {
		muteMode = f.muteMode
	}
	au.EnableMuteMode(muteMode)
	if setup.notice != "" {
		notice = joinNotice(setup.notice, notice)
	}
	if stateNotice != "" {
		notice = joinNotice(notice, stateNotice)
	}
	sess, err := newSession(cfg, log)
	if err != nil {
		return err
	}
	defer sess.close()
	// --- kit: control --- (a command tells the UI to read the engine back)
	var prog atomic.Pointer[tea.Program]
	stopControl, err := startControl(f.control, sess.eng, log, control.Options{OnCommand: func(c string) {
		if p := prog.Load(); p != nil {
			go p.Send(tui.ExternalChange(c))
		}
	}})
	if err != nil {
		return err
	}
	defer stopControl()
	au.Attach(sess.eng)

	canRenew := cfg.UserSig == "" && cfg.Secret != ""
	login := func(ctx context.Context) error {
		s := sig
		if canRenew {
			if s, err = usersig.Gen(cfg.SDKAppID, cfg.Secret, cfg.User, selfSignExpire); err != nil {
				return err
			}
		}
		if err := sess.init(ctx, cfg, s); err != nil {
			return err
		}
		// --- kit: settings that persist: the nickname set last time ---
		if nick, avatar := saved.Profile(cfg.User); nick != "" || avatar != "" {
			if err := sess.eng.SetSelfInfo(ctx, nick, avatar); err != nil {
				log.Warn("restoring the nickname", "err", err)
			}
		}
		return nil
	}
	contacts := slices.Clone(cfg.Contacts)
	for _, c := range append(slices.Clone(f.contacts), setup.contacts...) {
		if !slices.Contains(contacts, c) {
			contacts = append(contacts, c)
		}
	}
	if !cmd.Flags().Changed("lang") {
		f.lang = cfg.TUI.Lang
	}
	if !cmd.Flags().Changed("incoming-banner") {
		f.incomingBanner = cfg.TUI.IncomingBanner
	}
	if !cmd.Flags().Changed("float-window") {
		f.floatWindow = cfg.TUI.FloatWindow
	}
	if !cmd.Flags().Changed("camera") {
		f.camera = cfg.Video.Front
	}
	lang := f.lang
	if lang == "" {
		lang = firstEnv("TERMCALL_LANG", "LC_ALL", "LC_MESSAGES", "LANG")
	}
	vid, err := openTUIVideo(f.camera, cfg.Video.Back, cfg.Video.Render, log)
	if err != nil {
		return exit.With(exit.Usage, fmt.Errorf("--camera: %w", err))
	}
	defer vid.close()
	vid.attach(sess.eng)
	// --- kit: beauty, camera ---
	if err := sess.eng.SetBeautyLevel(cfg.Video.Beauty); err != nil {
		return exit.With(exit.Usage, err)
	}
	if f.backCamera {
		if err := sess.eng.SwitchCamera(cmd.Context(), engine.CameraBack); err != nil {
			return exit.With(exit.Usage, fmt.Errorf("--back-camera: %w", err))
		}
	}
	nick, avatar := saved.Profile(cfg.User)
	saver := &state.Saver{Path: statePath, User: cfg.User}
	m := tui.New(tui.Options{
		Engine: sess.eng, Events: sess.events, User: cfg.User, Login: login, CanRenewSig: canRenew,
		Contacts: contacts, DefaultGroup: setup.defaultGroup, Lang: lang,
		IncomingBanner: f.incomingBanner, FloatWindow: f.floatWindow, MuteMode: muteMode,
		Notice: notice, Ringer: au, Ringback: au, Audio: au, Devices: tuiDevices,
		AudioDevices: au.devices(), Ringtone: cfg.Audio.Ringtone, NoMicrophone: !au.sending(),
		Video: vid, Camera: f.camera, Notify: desktopNotifier(os.Getenv),
		// --- kit: settings that persist, beauty ---
		SaveSettings: saver.Save, Beauty: cfg.Video.Beauty, Nickname: nick, Avatar: avatar,
	})
	p := tea.NewProgram(m, tea.WithOutput(os.Stderr), tea.WithContext(cmd.Context()))
	prog.Store(p) // --- kit: control ---
	if _, err := p.Run(); err != nil && cmd.Context().Err() == nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

// openTUIAudio opens the call audio. Without a sound card, or when the
// devices cannot be opened, it falls back to no device at all and says so
// in the returned notice.
func openTUIAudio(cfg config.Config, f *tuiFlags, log *slog.Logger) (*tuiAudio, string, error) {
	opts := callaudio.Options{
		Mic: f.mic, Speaker: f.speaker, Play: f.play, Record: f.record,
		NoAudioDevice: f.noAudioDevice, AEC: cfg.Audio.EchoCancellation, Logger: log,
		Earpiece: cfg.Audio.Earpiece, Ringtone: cfg.Audio.Ringtone, MuteMode: cfg.Audio.MuteMode,
		// --- kit: aec ---
		EchoCanceller: cfg.Audio.EchoCanceller,
	}
	if opts.Mic == "" && opts.Play == "" && !opts.NoAudioDevice {
		opts.Mic = cfg.Audio.Mic
	}
	if opts.Speaker == "" && !opts.NoAudioDevice {
		opts.Speaker = cfg.Audio.Speakerphone
	}
	notice := ""
	if f.noAudioDevice {
		notice = "no audio device (--no-audio-device): you hear nothing"
	} else if ok, err := selftest.HasSoundCard(); err != nil || !ok {
		opts.Mic, opts.Speaker, opts.NoAudioDevice = "", "", true
		notice = "no sound card: calls connect, but you hear nothing and send silence"
	}
	au, err := callaudio.Open(opts)
	if err != nil && !opts.NoAudioDevice && f.mic == "" && f.speaker == "" {
		log.Warn("opening the sound devices; going on without", "err", err)
		opts.Mic, opts.Speaker, opts.NoAudioDevice = "", "", true
		notice = "sound device failed (" + err.Error() + "): no audio"
		au, err = callaudio.Open(opts)
	}
	if err != nil {
		return nil, "", exit.With(exit.Usage, err)
	}
	return &tuiAudio{au: au, opts: opts, log: log}, notice, nil
}

// tuiAudio is the TUI's call audio (tui.Ringer, tui.Ringbacker and
// tui.AudioControl): a callaudio.Audio that the settings screen reopens on
// other devices between calls. The ringtone and the mute mode carry over.
type tuiAudio struct {
	mu   sync.Mutex
	au   *callaudio.Audio
	opts callaudio.Options
	eng  *engine.Engine
	log  *slog.Logger
}

func (t *tuiAudio) cur() *callaudio.Audio {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.au
}

// Attach gives the engine the audio; a reopened audio is attached in turn.
func (t *tuiAudio) Attach(eng *engine.Engine) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eng = eng
	t.au.Attach(eng)
}

func (t *tuiAudio) Close() error { return t.cur().Close() }

func (t *tuiAudio) Ring(on bool)     { t.cur().Ring(on) }
func (t *tuiAudio) Ringback(on bool) { t.cur().Ringback(on) }

func (t *tuiAudio) SetCallingBell(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.au.SetCallingBell(path); err != nil {
		return err
	}
	t.opts.Ringtone = path
	return nil
}

func (t *tuiAudio) EnableMuteMode(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.au.EnableMuteMode(on)
	t.opts.MuteMode = on
}

// devices are the sound devices in use.
func (t *tuiAudio) devices() tui.AudioDevices {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tui.AudioDevices{Mic: t.opts.Mic, Speaker: t.opts.Speaker, Earpiece: t.opts.Earpiece}
}

// sending says whether anything is sent (a microphone or --play).
func (t *tuiAudio) sending() bool { return t.cur().Source() != nil }

func isNullDevice(name string) bool { return name == "" || name == "default" || name == "null" }

// SetDevices reopens the audio on other devices (the TUI calls it between
// calls). When they cannot be opened it goes back to the old ones.
func (t *tuiAudio) SetDevices(d tui.AudioDevices) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.opts
	switch {
	case o.Record != "":
		return false, errors.New("--record is on: restart termcall to change the sound devices (reopening would overwrite the recording)")
	case o.Play != "" && d.Mic != "" && d.Mic != o.Mic:
		return false, errors.New("--play replaces the microphone: restart without it to pick one")
	}
	o.Mic, o.Speaker, o.Earpiece = d.Mic, d.Speaker, d.Earpiece
	if o.Play != "" {
		o.Mic = ""
	}
	// Started without a sound device (none found, or --no-audio-device):
	// stay so unless a real device is picked.
	o.NoAudioDevice = t.opts.NoAudioDevice && isNullDevice(o.Mic) && isNullDevice(o.Speaker) && isNullDevice(o.Earpiece)
	if o.NoAudioDevice {
		o.Mic, o.Speaker, o.Earpiece = "", "", ""
	}
	if err := t.au.Close(); err != nil {
		t.log.Warn("closing the audio", "err", err)
	}
	au, err := callaudio.Open(o)
	if err != nil {
		back, berr := callaudio.Open(t.opts)
		if berr != nil {
			t.log.Warn("reopening the old sound devices; going on without", "err", berr)
			fallback := t.opts
			fallback.Mic, fallback.Speaker, fallback.Earpiece, fallback.NoAudioDevice = "", "", "", true
			if back, berr = callaudio.Open(fallback); berr != nil {
				return false, errors.Join(err, berr)
			}
			t.opts = fallback
		}
		t.au = back
		if t.eng != nil {
			back.Attach(t.eng)
		}
		return back.Source() != nil, err
	}
	t.au, t.opts = au, o
	if t.eng != nil {
		au.Attach(t.eng)
	}
	return au.Source() != nil, nil
}

// tuiDevices lists the sound devices for the settings screen.
func tuiDevices() ([]tui.DeviceInfo, error) {
	devs, err := audio.Devices()
	out := make([]tui.DeviceInfo, 0, len(devs))
	for _, d := range devs {
		out = append(out, tui.DeviceInfo{Name: d.Name, Capture: d.Capture, Default: d.Default})
	}
	return out, err
}

func joinNotice(a, b string) string {
	if b == "" {
		return a
	}
	return a + " · " + b
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// isTerminal says whether the TUI can run: stdin and stderr are a terminal.
func isTerminal() bool { return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stderr.Fd()) }
