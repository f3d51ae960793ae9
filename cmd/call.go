package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/callrun"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/video"
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
}

// openVideo opens the call's video as the flags say: nil when no video
// flag is set. A bad source is a usage error.
func (f *callFlags) openVideo(cfg config.Config, log *slog.Logger) (*callvideo.Video, error) {
	if !f.video && f.camera == "" && !f.render && f.saveFrame == "" && f.recordVideo == "" {
		return nil, nil
	}
	if f.saveFrame != "" && !strings.HasSuffix(strings.ToLower(f.saveFrame), ".png") {
		return nil, exit.Usagef("--save-frame %s: the file name must end in .png", f.saveFrame)
	}
	name := f.camera
	if name == "" && f.video {
		name = cfg.Video.Front
	}
	if name == "" && f.video {
		name = callvideo.DefaultCamera()
	}
	if f.recordVideo != "" && !strings.HasSuffix(strings.ToLower(f.recordVideo), ".ivf") {
		return nil, exit.Usagef("--record-video %s: the file name must end in .ivf", f.recordVideo)
	}
	if cfg.Video.Render != "" {
		os.Setenv(video.RenderModeEnv, cfg.Video.Render) // what callvideo.Render detects
	}
	v, err := callvideo.Open(callvideo.Options{Camera: name, Back: cfg.Video.Back, Loop: true, ViewAll: true, Logger: log,
		RecordVideo: f.recordVideo, RecordPerUser: f.perUserVideo})
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return v, nil
}

// openAudio opens the call's audio as the flags say; bad files and
// devices are usage errors, reported before the call starts.
func (f *callFlags) openAudio(cfg config.Config, log *slog.Logger) (*callaudio.Audio, error) {
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
	au, err := callaudio.Open(opts)
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return au, nil
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
			return g.runCall(cmd, &f, callTarget{callee: args[0]})
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
			return g.runCall(cmd, &f, callTarget{group: f.group, invitees: args})
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
			return g.runCall(cmd, &f, callTarget{join: true, group: f.group})
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

// callTarget says what runCall places or joins.
type callTarget struct {
	callee   string   // call
	group    string   // groupcall, join
	invitees []string // groupcall
	join     bool
}

// runCall logs in, places or joins the call, follows it and reports the
// outcome as the exit code.
func (g *globals) runCall(cmd *cobra.Command, f *callFlags, tgt callTarget) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	if err := validate(cfg); err != nil {
		return err
	}
	if err := requireUser(cfg); err != nil {
		return err
	}
	ids := tgt.invitees
	if !tgt.join && tgt.group == "" {
		ids = []string{tgt.callee}
	}
	for _, id := range ids {
		if err := protocol.ValidateUserID(id); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	if tgt.group != "" {
		if err := protocol.ValidateGroupID(tgt.group); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	if tgt.join && f.callID != "" {
		if err := protocol.ValidateCallID(f.callID); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	params, err := f.params()
	if err != nil {
		return err
	}
	if f.beauty < 0 || f.beauty > 9 { // --- kit: beauty ---
		return exit.Usagef("--beauty %v: must be 0..9", f.beauty)
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
	au, err := f.openAudio(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := au.Close(); err != nil {
			g.warn("termcall: finishing the recording: " + err.Error())
		}
	}()
	vid, err := f.openVideo(cfg, log)
	if err != nil {
		return err
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
	stopControl, err := startControl(f.control, sess.eng, log, control.Options{})
	if err != nil {
		return err
	}
	defer stopControl()
	au.Attach(sess.eng)
	if vid != nil {
		defer func() {
			if f.saveFrame != "" {
				if err := vid.SaveFrame(f.saveFrame); err != nil {
					g.warn("termcall: --save-frame: " + err.Error())
				}
			}
			if err := vid.Close(); err != nil && f.recordVideo != "" {
				g.warn("termcall: finishing the video recording: " + err.Error())
			}
		}()
		vid.Attach(sess.eng)
		// --- kit: beauty, camera ---
		beauty, camera := cfg.Video.Beauty, engine.CameraFront
		if cmd.Flags().Changed("beauty") {
			beauty = f.beauty
		}
		if err := sess.eng.SetBeautyLevel(beauty); err != nil {
			return exit.With(exit.Usage, fmt.Errorf("--beauty: %w", err))
		}
		if f.backCamera {
			camera = engine.CameraBack
		}
		if vid.Source() != nil {
			if err := sess.eng.OpenCamera(cmd.Context(), camera); err != nil {
				g.warn("termcall: camera: " + err.Error())
			}
		}
		if f.render && term.IsTerminal(os.Stderr.Fd()) {
			rctx, stopRender := context.WithCancel(cmd.Context())
			defer stopRender()
			go vid.Render(rctx, os.Stderr, func() (int, int) {
				w, h, err := term.GetSize(os.Stderr.Fd())
				if err != nil {
					return 0, 0
				}
				return w, h
			}, 10)
		}
	}

	// Signals: during setup the first one cancels the setup; afterwards
	// callrun.Wait handles them.
	setupCtx, cancelSetup := context.WithCancel(cmd.Context())
	defer cancelSetup()
	var waiting atomic.Bool
	var interruptedSetup atomic.Bool
	interrupt := make(chan struct{}, 2)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			if !waiting.Load() {
				interruptedSetup.Store(true)
				cancelSetup()
			}
			select {
			case interrupt <- struct{}{}:
			default:
			}
		}
	}()

	emit := g.emitter()
	tr := callrun.NewTracker("")
	finish := func() error {
		// Drain what has already arrived, for the JSON stream.
		for drained := false; !drained; {
			select {
			case ev := <-sess.events:
				emit(ev)
				tr.Observe(ev, time.Now())
			default:
				drained = true
			}
		}
		sum := tr.Summary(time.Now())
		if g.json {
			g.line(callrun.SummaryLine(sum))
		} else if sum.Result == callrun.Error {
			g.say(sum.Error)
		}
		return exit.Silently(sum.ExitCode)
	}
	setupFailed := func(err error) error {
		if interruptedSetup.Load() || errors.Is(err, context.Canceled) {
			tr.Observe(engine.CallCancelled{Reason: engine.ReasonCanceled}, time.Now())
			return finish()
		}
		tr.Fail(err)
		return finish()
	}

	g.say(fmt.Sprintf("logging in to %s as %s...", cfg.Server, cfg.User))
	if err := sess.init(setupCtx, cfg, sig); err != nil {
		return setupFailed(err)
	}
	var info engine.CallInfo
	switch {
	case tgt.join && f.callID != "":
		info, err = sess.eng.Join(setupCtx, f.callID)
	case tgt.join:
		room, rerr := f.roomID()
		if rerr != nil {
			return rerr
		}
		info, err = sess.eng.JoinInGroupCall(setupCtx, room, tgt.group, engine.MediaTypeUnknown)
	case tgt.group != "":
		info, err = sess.eng.GroupCall(setupCtx, tgt.group, tgt.invitees, f.media(), params)
	default:
		info, err = sess.eng.Call(setupCtx, tgt.callee, f.media(), params)
	}
	if err != nil {
		return setupFailed(err)
	}
	tr.CallID = info.CallID
	waiting.Store(true)
	if !tgt.join {
		// The caller hears ringback until the call begins or ends; the
		// status check after starting closes the race with an answer that
		// came before it.
		au.Ringback(true)
		if sess.eng.Status() != engine.StatusWaiting {
			au.Ringback(false)
		}
	}
	switch {
	case tgt.join:
		g.say(fmt.Sprintf("joining call %s (room %s)...", info.CallID, info.RoomID))
	case tgt.group != "":
		g.say(fmt.Sprintf("ringing %s in group %s...", strings.Join(tgt.invitees, ", "), tgt.group))
	default:
		g.say(fmt.Sprintf("ringing %s...", tgt.callee))
	}
	callrun.Wait(cmd.Context(), sess.eng, tr, sess.events, callrun.Options{
		Duration:  f.duration,
		Interrupt: interrupt,
		Emit:      emit,
		Say:       g.say,
	})
	return finish()
}
