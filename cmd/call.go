package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/callrun"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

// callFlags are the flags of call, groupcall and join.
type callFlags struct {
	video    bool
	timeout  time.Duration
	room     uint64
	strRoom  string
	userData string
	duration time.Duration
	group    string
	callID   string

	mic, speaker, play, record string
	noAudioDevice              bool

	camera, saveFrame, recordVideo string
	render                         bool
	perUserVideo                   bool // --record-video writes FILE-<user>.ivf (groupcall, join)

	// --- kit: control, beauty, camera ---
	control    string
	beauty     float64
	backCamera bool

	bg backgroundFlags // --- seg: blur, background ---
}

func (f *callFlags) addCommon(c *cobra.Command) {
	fl := c.Flags()
	fl.DurationVar(&f.duration, "duration", 0, "hang up this long after the call connects (default: wait for the other side or Ctrl-C)")
	fl.StringVar(&f.mic, "mic", "", "microphone to use (see 'termcall devices'; default: the system default)")
	fl.StringVar(&f.speaker, "speaker", "", "speaker to use (see 'termcall devices'; default: the system default)")
	fl.StringVar(&f.play, "play", "", "send this instead of the microphone: a .wav or .ogg file, or tone:HZ[:DURATION]")
	fl.StringVar(&f.record, "record", "", "record what you hear during the call (all others mixed) to this .wav or .ogg file")
	fl.BoolVar(&f.noAudioDevice, "no-audio-device", false, "open no sound device: play out on a timer, only to --record; send only --play")
	addAIVoiceFlag(fl)
	fl.StringVar(&f.camera, "camera", "", "video source: camera:[DEVICE], pattern:[WxH[@FPS]], a .y4m/.ivf file (default with --video: the first camera, else pattern:)")
	fl.BoolVar(&f.render, "render", false, "draw the others' video in the terminal (stderr, about 10 fps; only when stderr is a terminal)")
	fl.BoolVar(&f.render, "show-video", false, "same as --render")
	fl.StringVar(&f.recordVideo, "record-video", "", "record the video you receive, as received (VP8), to this .ivf file (groupcall, join: FILE-<user>.ivf per user)")
	fl.StringVar(&f.saveFrame, "save-frame", "", "at the end, save the last remote video picture decoded to this .png file")
	// --- kit: control, beauty, camera ---
	fl.StringVar(&f.control, "control", "", controlFlagHelp)
	fl.Float64Var(&f.beauty, "beauty", 0, beautyFlagHelp)
	fl.BoolVar(&f.backCamera, "back-camera", false, backCameraFlagHelp)
	f.bg.add(fl) // --- seg: blur, background ---
}

// openVideo opens the call's video as the flags say: nil when no video
// flag is set. A bad source is a usage error.
func (f *callFlags) openVideo(cfg config.Config, log *slog.Logger) (*callvideo.Video, error) {
	if !f.video && f.camera == "" && !f.render && f.saveFrame == "" && f.recordVideo == "" {
		return nil, nil
	}
	if err := f.checkVideoFiles(); err != nil {
		return nil, err
	}
	v, err := callvideo.Open(callvideo.Options{Camera: f.cameraName(cfg), Back: cfg.Video.Back, Loop: true, ViewAll: true,
		Logger: log, RecordVideo: f.recordVideo, RecordPerUser: f.perUserVideo, RenderMode: cfg.Video.Render})
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return v, nil
}

// checkVideoFiles checks the names of the video files to write.
func (f *callFlags) checkVideoFiles() error {
	if f.saveFrame != "" && !strings.HasSuffix(strings.ToLower(f.saveFrame), ".png") {
		return exit.Usagef("--save-frame %s: the file name must end in .png", f.saveFrame)
	}
	if f.recordVideo != "" && !strings.HasSuffix(strings.ToLower(f.recordVideo), ".ivf") {
		return exit.Usagef("--record-video %s: the file name must end in .ivf", f.recordVideo)
	}
	return nil
}

// cameraName is the video source to send: --camera, else with --video
// video.front, else the first camera (else the pattern); "" sends none.
func (f *callFlags) cameraName(cfg config.Config) string {
	switch {
	case f.camera != "" || !f.video:
		return f.camera
	case cfg.Video.Front != "":
		return cfg.Video.Front
	}
	return callvideo.DefaultCamera()
}

// openAudio opens the call's audio as the flags say; bad files and
// devices are usage errors, reported before the call starts.
func (f *callFlags) openAudio(cfg config.Config, log *slog.Logger) (*callaudio.Audio, error) {
	au, err := callaudio.Open(audioOptions(cfg, f.mic, f.speaker, f.play, f.record, f.noAudioDevice, log))
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return au, nil
}

// audioOptions are the call audio's options: the flags, else the config
// file's devices.
func audioOptions(cfg config.Config, mic, speaker, play, record string, noAudioDevice bool, log *slog.Logger) callaudio.Options {
	opts := callaudio.Options{
		Mic: mic, Speaker: speaker, Play: play, Record: record,
		NoAudioDevice: noAudioDevice, AEC: cfg.Audio.EchoCancellation, Logger: log,
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
	return opts
}

func (f *callFlags) addPlace(c *cobra.Command) {
	fl := c.Flags()
	fl.BoolVar(&f.video, "video", false, "make a video call (default audio)")
	fl.DurationVar(&f.timeout, "timeout", 0, "invitation timeout, whole seconds: 10s to 600s as the reference (a server with a lower serve.min_invite_timeout accepts less; default 30s)")
	fl.Uint64Var(&f.room, "room", 0, "integer room ID (1..2147483647; default: the server picks one)")
	fl.StringVar(&f.strRoom, "str-room", "", "string room ID")
	fl.StringVar(&f.userData, "user-data", "", "extra data for the callees (at most 4096 bytes)")
	c.MarkFlagsMutuallyExclusive("room", "str-room")
	f.addCommon(c)
}

// roomID returns the room named by --room / --str-room (zero for none).
func (f *callFlags) roomID() (engine.RoomID, error) {
	switch {
	case f.room != 0:
		if f.room > protocol.MaxIntRoomID {
			return engine.RoomID{}, exit.Usagef("--room %d: must be 1..%d", f.room, protocol.MaxIntRoomID)
		}
		return engine.IntRoom(uint32(f.room)), nil
	case f.strRoom != "":
		r := engine.StrRoom(f.strRoom)
		if err := r.Validate(false); err != nil {
			return engine.RoomID{}, exit.With(exit.Usage, err)
		}
		return r, nil
	}
	return engine.RoomID{}, nil
}

// params builds CallParams from the flags.
func (f *callFlags) params() (engine.CallParams, error) {
	var p engine.CallParams
	if f.timeout != 0 {
		if f.timeout%time.Second != 0 || f.timeout < time.Second || f.timeout > protocol.MaxTimeoutSeconds*time.Second {
			return p, exit.Usagef("--timeout %s: must be whole seconds from 1s to %ds", f.timeout, protocol.MaxTimeoutSeconds)
		}
		p.Timeout = int(f.timeout / time.Second)
	}
	room, err := f.roomID()
	if err != nil {
		return p, err
	}
	p.RoomID = room
	if len(f.userData) > protocol.MaxUserDataLen {
		return p, exit.Usagef("--user-data is %d bytes; at most %d", len(f.userData), protocol.MaxUserDataLen)
	}
	p.UserData = f.userData
	if f.duration < 0 {
		return p, exit.Usagef("--duration must not be negative")
	}
	return p, nil
}

func (f *callFlags) media() engine.MediaType {
	if f.video {
		return engine.MediaTypeVideo
	}
	return engine.MediaTypeAudio
}

var callExitHelp = `
With --json, stdout carries one JSON object per line: every engine event as
{"ts":<unix ms>,"event":"onCallBegin",...}, then a final
{"event":"summary","result":"connected|rejected|busy|no_response|cancelled|error",
 "callId":...,"durationSeconds":...,"exitCode":N}.
Without --json, short progress lines go to stderr.

Ctrl-C hangs up (or cancels the ringing call) and exits; a second Ctrl-C
exits at once.

Audio: the microphone and speaker are the system defaults unless --mic and
--speaker name others (termcall devices lists them; without a sound card
the null device is used). --play sends a file or tone instead of the
microphone; --record writes what you hear during the connected call.
--no-audio-device opens no sound device at all (for scripts and CI). A bad
file or device exits 2 before the call is placed.

Video (docs/video.md): --video or --camera sends video (--camera names the
source; with --video alone the first camera, else the test pattern) and
views every other user whose camera is on. --render (or --show-video) draws
their video on stderr when it is a terminal; --save-frame writes the last
picture to a .png; --record-video FILE.ivf records the video received, as
received (VP8, no re-encoding): call writes FILE.ivf, groupcall and join write
FILE-<user>.ivf per other user.

` + exit.Table

func newCallCmd(g *globals) *cobra.Command {
	var f callFlags
	c := &cobra.Command{
		Use:   "call USER",
		Short: "Place a 1v1 call and wait for it to end",
		Long: "Place a 1v1 audio (or --video) call to USER. With --duration, hang up that long\n" +
			"after it connects; otherwise wait until the other side ends it or Ctrl-C.\n" + callExitHelp,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return g.runCall(cmd, &f, callrun.Target{Callee: args[0]})
		}),
	}
	f.addPlace(c)
	return c
}

func newGroupCallCmd(g *globals) *cobra.Command {
	var f callFlags
	c := &cobra.Command{
		Use:   "groupcall --group G USER...",
		Short: "Place a group call to members of a group",
		Long: "Place a group call in group G to the given members. The exit code is 0 if\n" +
			"anyone connected, else the most common outcome among the invitees, else 6.\n" + callExitHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if f.group == "" {
				return exit.Usagef("groupcall needs --group")
			}
			f.perUserVideo = true
			return g.runCall(cmd, &f, callrun.Target{Group: f.group, Invitees: args})
		}),
	}
	c.Flags().StringVar(&f.group, "group", "", "the group to call in (required)")
	f.addPlace(c)
	return c
}

func newJoinCmd(g *globals) *cobra.Command {
	var f callFlags
	c := &cobra.Command{
		Use:   "join --group G (--room N | --str-room S | --call-id ID)",
		Short: "Join a running group call",
		Long: "Join the running call of group G by its room, or any group call by its call ID.\n" +
			"Exits 0 when it connected.\n" + callExitHelp,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, set := range []bool{f.room != 0, f.strRoom != "", f.callID != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return exit.Usagef("join needs exactly one of --room, --str-room or --call-id")
			}
			if f.callID == "" && f.group == "" {
				return exit.Usagef("join by room needs --group")
			}
			f.perUserVideo = true
			return g.runCall(cmd, &f, callrun.Target{Join: true, Group: f.group})
		}),
	}
	fl := c.Flags()
	fl.StringVar(&f.group, "group", "", "the group whose call to join")
	fl.Uint64Var(&f.room, "room", 0, "integer room ID of the call")
	fl.StringVar(&f.strRoom, "str-room", "", "string room ID of the call")
	fl.StringVar(&f.callID, "call-id", "", "call ID of the call")
	f.addCommon(c)
	return c
}

// target completes the call's target from the flags and checks it; bad
// values are usage errors.
func (f *callFlags) target(tgt *callrun.Target) error {
	tgt.CallID = f.callID
	if err := tgt.Validate(); err != nil {
		return err
	}
	params, err := f.params()
	if err != nil {
		return err
	}
	if f.beauty < 0 || f.beauty > 9 { // --- kit: beauty ---
		return exit.Usagef("--beauty %v: must be 0..9", f.beauty)
	}
	tgt.Params, tgt.Room, tgt.Media = params, params.RoomID, f.media()
	return nil
}

// runCall wires call, groupcall and join: flags and config, then the
// audio, video and engine, then callrun.Call runs the call.
func (g *globals) runCall(cmd *cobra.Command, f *callFlags, tgt callrun.Target) error {
	cfg, sig, err := g.callConfig(cmd, f, &tgt)
	if err != nil {
		return err
	}
	log, closeLog, err := g.logger(cfg, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	m, err := g.openCallMedia(cmd, f, cfg, log)
	defer m.close()
	if err != nil {
		return err
	}
	return g.newCall(f, tgt, cfg, sig, m.sess, m.au).Run(cmd.Context())
}

// callConfig is the call's configuration, its target completed from the
// flags, and the userSig to log in with.
func (g *globals) callConfig(cmd *cobra.Command, f *callFlags, tgt *callrun.Target) (config.Config, string, error) {
	cfg, err := g.loginConfig(cmd)
	if err != nil {
		return cfg, "", err
	}
	if err := f.target(tgt); err != nil {
		return cfg, "", err
	}
	if err := f.bg.resolve(cmd.Flags(), &cfg); err != nil { // --- seg ---
		return cfg, "", err
	}
	sig, err := userSigFor(cfg, cfg.User, cfg.UserSig)
	return cfg, sig, err
}

// openCallMedia opens the call's audio and video and its session with the
// control socket, and gives the engine the media.
func (g *globals) openCallMedia(cmd *cobra.Command, f *callFlags, cfg config.Config, log *slog.Logger) (*callMedia, error) {
	m := &callMedia{}
	au, err := f.openAudio(cfg, log)
	if err != nil {
		return m, err
	}
	m.au = au
	m.onClose(func() { g.closeAudio(au) })
	vid, err := f.openVideo(cfg, log)
	if err != nil {
		return m, err
	}
	if err := m.openSession(cfg, log, vid, f.control); err != nil {
		return m, err
	}
	au.Attach(m.sess.eng)
	stopVideo, err := g.startVideo(cmd, f, cfg, m.sess.eng, vid)
	m.onClose(stopVideo)
	return m, err
}

// newCall is the run of the call on the session.
func (g *globals) newCall(f *callFlags, tgt callrun.Target, cfg config.Config, sig string, sess *session, au *callaudio.Audio) *callrun.Call {
	call := &callrun.Call{Engine: sess.eng, Events: sess.events, Target: tgt, Server: cfg.Server, User: cfg.User,
		Login:    func(ctx context.Context) error { return sess.init(ctx, cfg, sig) },
		Ringback: au.Ringback, Duration: f.duration, Emit: g.emitter(), Say: g.say}
	if g.json {
		call.Summary = g.line
	}
	return call
}

// loginConfig is the configuration of a command that logs in: loaded,
// valid, with a user.
func (g *globals) loginConfig(cmd *cobra.Command) (config.Config, error) {
	cfg, err := g.config(cmd)
	if err != nil {
		return cfg, err
	}
	if err := validate(cfg); err != nil {
		return cfg, err
	}
	return cfg, requireUser(cfg)
}

func (g *globals) closeAudio(au *callaudio.Audio) {
	if err := au.Close(); err != nil {
		g.warn("termcall: finishing the recording: " + err.Error())
	}
}

// startVideo attaches the call's video (nil: none) to the engine: the
// beauty level and camera of the flags, and the terminal rendering of
// --render. stop (never nil) saves --save-frame and closes the video.
func (g *globals) startVideo(cmd *cobra.Command, f *callFlags, cfg config.Config, eng *engine.Engine, vid *callvideo.Video) (stop func(), err error) {
	if vid == nil {
		return func() {}, nil
	}
	stopRender := func() {}
	stop = func() {
		stopRender()
		g.finishVideo(f, vid)
	}
	vid.Attach(eng)
	if err := setVideoEffects(cmd, f, cfg, eng); err != nil {
		return stop, err
	}
	if vid.Source() != nil {
		camera := engine.CameraFront // --- kit: camera ---
		if f.backCamera {
			camera = engine.CameraBack
		}
		if err := eng.OpenCamera(cmd.Context(), camera); err != nil {
			g.warn("termcall: camera: " + err.Error())
		}
	}
	if f.render && term.IsTerminal(os.Stderr.Fd()) {
		stopRender = renderOnStderr(cmd.Context(), vid)
	}
	return stop, nil
}

// setVideoEffects sets the beauty level (--beauty, else video.beauty) and
// the background effect of the config.
func setVideoEffects(cmd *cobra.Command, f *callFlags, cfg config.Config, eng *engine.Engine) error {
	// --- kit: beauty ---
	beauty := cfg.Video.Beauty
	if cmd.Flags().Changed("beauty") {
		beauty = f.beauty
	}
	if err := eng.SetBeautyLevel(beauty); err != nil {
		return exit.With(exit.Usage, fmt.Errorf("--beauty: %w", err))
	}
	return applyBackground(eng, cfg) // --- seg ---
}

// finishVideo saves --save-frame and closes the video (finishing
// --record-video).
func (g *globals) finishVideo(f *callFlags, vid *callvideo.Video) {
	if f.saveFrame != "" {
		if err := vid.SaveFrame(f.saveFrame); err != nil {
			g.warn("termcall: --save-frame: " + err.Error())
		}
	}
	if err := vid.Close(); err != nil && f.recordVideo != "" {
		g.warn("termcall: finishing the video recording: " + err.Error())
	}
}

// renderOnStderr draws the others' video on stderr, 10 times a second,
// until stop.
func renderOnStderr(ctx context.Context, vid *callvideo.Video) (stop func()) {
	ctx, stop = context.WithCancel(ctx)
	go vid.Render(ctx, os.Stderr, stderrSize, 10)
	return stop
}

// stderrSize is the size of the terminal on stderr (0, 0 when unknown).
func stderrSize() (cols, rows int) {
	w, h, err := term.GetSize(os.Stderr.Fd())
	if err != nil {
		return 0, 0
	}
	return w, h
}
