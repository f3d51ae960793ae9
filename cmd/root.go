// Package cmd is termcall's command line: cobra wiring only (flags ->
// config -> objects -> run). Logic lives in internal/... packages.
package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callrun"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/prof"
	"github.com/termcall/termcall/usersig"
)

// selfSignExpire is the lifetime of userSigs the CLI signs itself with
// --secret (development only).
const selfSignExpire = 24 * time.Hour

// globals holds the persistent flags and the process's streams.
type globals struct {
	configPath  string
	server      string
	sdkAppID    uint64
	user        string
	userSig     string
	secret      string
	json        bool
	logFile     string
	logLevel    string
	logFormat   string
	multiDevice bool
	caFile      string
	volEvents   bool // --volume-events

	// --- perf: profiling ---
	prof    prof.Options
	profRun *prof.Session

	stdout, stderr io.Writer
	outMu          sync.Mutex
}

// Execute runs termcall with os.Args and returns the process exit code.
func Execute() int {
	return run(os.Args[1:], os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if perr := g.profRun.Stop(); perr != nil { // --- perf: profiling ---
		fmt.Fprintf(stderr, "termcall: %v\n", perr)
	}
	if err == nil {
		return exit.OK
	}
	var e *exit.Error
	if !errors.As(err, &e) {
		// Errors cobra found before running the command: unknown
		// commands and flags, wrong arguments.
		fmt.Fprintf(stderr, "termcall: %v\n", err)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exit.Usage
	}
	if !e.Silent && e.Err != nil {
		fmt.Fprintf(stderr, "termcall: %v\n", e.Err)
		if e.Code == exit.Usage {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return e.Code
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "termcall",
		Short: "A terminal softphone for the TUICallKit/TUICallEngine call model",
		Long: `termcall is a terminal softphone implementing the TUICallKit/TUICallEngine
call model (1v1 and group audio/video calls), with its own call server.

Settings come from flags, then TERMCALL_* environment variables, then the
config file (--config, $TERMCALL_CONFIG or ~/.config/termcall/config.yaml),
then defaults.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Version:           Version,
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exit.Error{Code: exit.Usage, Err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", "", "config file (default $TERMCALL_CONFIG or ~/.config/termcall/config.yaml)")
	pf.StringVar(&g.server, "server", "", "server URL, http(s):// or ws(s):// (host:port means http://host:port); several, comma-separated, to fail over between cluster nodes (default "+config.DefaultServer+"; $TERMCALL_SERVER)")
	pf.Uint64Var(&g.sdkAppID, "sdkappid", 0, fmt.Sprintf("application ID (default %d; $TERMCALL_SDKAPPID)", config.DefaultSDKAppID))
	pf.StringVar(&g.user, "user", "", "userId to log in as ($TERMCALL_USER)")
	pf.StringVar(&g.userSig, "usersig", "", "userSig for --user ($TERMCALL_USERSIG)")
	pf.StringVar(&g.secret, "secret", "", "application secret key; without --usersig, sign a 24h userSig with it (development only; $TERMCALL_SECRET)")
	pf.BoolVar(&g.json, "json", false, "write machine-readable JSON (NDJSON for event streams) to stdout")
	pf.BoolVar(&g.volEvents, "volume-events", false, "with --json, also write the voice volume events (onUserVoiceVolumeChanged, about 3 a second per speaker)")
	pf.StringVar(&g.logFile, "log-file", "", "write the debug log to this file ($TERMCALL_LOG_FILE)")
	pf.StringVar(&g.logLevel, "log-level", "", "lowest level logged: debug, info, warn, error (default: info for serve, warn otherwise, debug into --log-file; $TERMCALL_LOG_LEVEL)")
	pf.StringVar(&g.logFormat, "log-format", "", "log format: text or json (default text; $TERMCALL_LOG_FORMAT)")
	pf.BoolVar(&g.multiDevice, "multi-device", false, "allow this user on several devices at once ($TERMCALL_MULTI_DEVICE)")
	pf.StringVar(&g.caFile, "ca-file", "", "PEM CA certificates to trust for wss:// and https:// servers, besides the system's ($TERMCALL_CA_FILE)")
	// --- perf: profiling ---
	pf.StringVar(&g.prof.CPUFile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	pf.StringVar(&g.prof.MemFile, "memprofile", "", "write a heap profile to this file when the command ends")
	pf.StringVar(&g.prof.Addr, "pprof", "", "serve net/http/pprof on this address while running (\":6060\" means 127.0.0.1:6060)")
	root.PersistentPreRunE = g.startProfiling
	addCommands(g, root)
	return root
}

// startProfiling starts the --cpuprofile, --memprofile and --pprof
// profiling of the run (the root's PersistentPreRunE).
func (g *globals) startProfiling(*cobra.Command, []string) error {
	s, err := prof.Start(g.prof)
	if err != nil {
		return exit.With(exit.Usage, err)
	}
	g.profRun = s
	if a := s.Addr(); a != nil {
		fmt.Fprintf(g.stderr, "pprof on http://%s/debug/pprof/\n", a)
	}
	return nil
}

// addCommands adds every command to root, with their completions and
// examples.
func addCommands(g *globals, root *cobra.Command) {
	root.AddCommand(
		newServeCmd(g),
		newUserSigCmd(g),
		newCallCmd(g),
		newGroupCallCmd(g),
		newJoinCmd(g),
		newBotCmd(g),
		newHistoryCmd(g),
		newGroupCmd(g),
		newUserCmd(g),
		newDevicesCmd(g),
		newSelftestCmd(g),
		newBenchCmd(g),
		newLoadtestCmd(g), // --- perf ---
		newVersionCmd(g),
		// --- kit: control, push ---
		newCtlCmd(g),
		newPushCmd(g),
	)
	addTUICommands(g, root) // cmd/tui.go: tui, demo, and the TUI without a command
	root.AddCommand(newCompletionCmd(g), newManCmd(g))
	g.addCompletions(root) // cmd/completion.go
	addExamples(root)      // cmd/examples.go
}

// runE wraps a command's function so that every error it returns carries
// an exit code.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error { return exit.Wrap(f(cmd, args)) }
}

// config loads the configuration and applies the global flags that were
// set. The caller applies its own flags and then calls validate.
func (g *globals) config(cmd *cobra.Command) (config.Config, error) {
	cfg, err := config.Load(g.configPath, nil)
	if err != nil {
		return config.Config{}, exit.With(exit.Usage, err)
	}
	f := cmd.Flags()
	applyAIVoiceFlag(f, &cfg) // --- kit: audio ---
	for _, s := range g.globalSetters(&cfg) {
		if f.Changed(s.flag) {
			s.set()
		}
	}
	return cfg, nil
}

// globalSetters are, per global flag, what it sets in cfg.
func (g *globals) globalSetters(cfg *config.Config) []struct {
	flag string
	set  func()
} {
	return []struct {
		flag string
		set  func()
	}{
		{"server", func() { cfg.Server = g.server }},
		{"sdkappid", func() { cfg.SDKAppID = g.sdkAppID }},
		{"user", func() { cfg.User = g.user }},
		{"usersig", func() { cfg.UserSig = g.userSig }},
		{"secret", func() { cfg.Secret = g.secret }},
		{"log-file", func() { cfg.LogFile = g.logFile }},
		{"log-level", func() { cfg.LogLevel = g.logLevel }},
		{"log-format", func() { cfg.LogFormat = g.logFormat }},
		{"multi-device", func() { cfg.MultiDevice = g.multiDevice }},
		{"ca-file", func() { cfg.CAFile = g.caFile }},
	}
}

// validate checks the configuration; problems are usage errors.
func validate(cfg config.Config) error {
	if err := cfg.Validate(); err != nil {
		return exit.With(exit.Usage, fmt.Errorf("bad configuration: %w", err))
	}
	return nil
}

// userSigFor returns the userSig to log in as id: --usersig, else one
// signed with --secret.
func userSigFor(cfg config.Config, id string, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if cfg.Secret == "" {
		return "", exit.Usagef("no userSig for %q: set --usersig (or TERMCALL_USERSIG), or --secret to sign one (development only)", id)
	}
	sig, err := usersig.Gen(cfg.SDKAppID, cfg.Secret, id, selfSignExpire)
	if err != nil {
		return "", exit.With(exit.Usage, err)
	}
	return sig, nil
}

// logger returns the logger for a command: into the log file when one is
// set (at debug level), else to stderr at level and above. log_level
// (--log-level) replaces either level; log_format (--log-format) picks text
// or JSON lines.
func (g *globals) logger(cfg config.Config, level slog.Level) (*slog.Logger, func(), error) {
	w := g.stderr
	closeLog := func() {}
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, exit.With(exit.Usage, fmt.Errorf("log file: %w", err))
		}
		w, closeLog, level = f, func() { f.Close() }, slog.LevelDebug
	}
	if cfg.LogLevel != "" {
		if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
			closeLog()
			return nil, nil, exit.Usagef("log level %q: want debug, info, warn or error", cfg.LogLevel)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), closeLog, nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), closeLog, nil
}

// say prints a human line to stderr unless --json is set.
func (g *globals) say(s string) {
	if g.json || s == "" {
		return
	}
	g.outMu.Lock()
	defer g.outMu.Unlock()
	fmt.Fprintln(g.stderr, s)
}

// warn prints a line to stderr even with --json.
func (g *globals) warn(s string) {
	g.outMu.Lock()
	defer g.outMu.Unlock()
	fmt.Fprintln(g.stderr, s)
}

// line writes one line to stdout.
func (g *globals) line(b []byte) {
	g.outMu.Lock()
	defer g.outMu.Unlock()
	_, _ = g.stdout.Write(append(b, '\n'))
}

// emitter returns the function that reports an event: an NDJSON line with
// --json, else a human line.
func (g *globals) emitter() func(engine.Event) {
	return func(ev engine.Event) {
		if g.json {
			if _, vol := ev.(engine.UserVoiceVolumeChanged); vol && !g.volEvents {
				return // the bulk of a call's lines; only when asked
			}
			if b, err := callrun.EventLine(ev, time.Now()); err == nil {
				g.line(b)
			}
			return
		}
		g.say(callrun.Describe(ev))
	}
}

// session is a logged-in engine and the channel of its events.
type session struct {
	eng    *engine.Engine
	events chan engine.Event
	done   chan struct{}
	once   sync.Once
	// closeLog, if set, runs after the engine is destroyed.
	closeLog func()
}

// newSession makes an engine for cfg with an observer feeding a channel.
// Init is left to the caller.
func newSession(cfg config.Config, log *slog.Logger) (*session, error) {
	tc, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	eng, err := engine.New(engine.Options{Server: cfg.Server, Logger: log, TLSConfig: tc})
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	s := &session{eng: eng, events: make(chan engine.Event, 256), done: make(chan struct{})}
	_ = eng.EnableAIVoice(cfg.Audio.AIVoice) // --- kit: audio --- (no source yet: remembered)
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		select {
		case s.events <- ev:
		case <-s.done:
		}
	}))
	return s, nil
}

// init logs in, with multi-device as configured.
func (s *session) init(ctx context.Context, cfg config.Config, sig string) error {
	if cfg.MultiDevice {
		if err := s.eng.EnableMultiDeviceAbility(ctx, true); err != nil {
			return err
		}
	}
	return s.eng.Init(ctx, cfg.SDKAppID, cfg.User, sig)
}

// close stops delivering events and destroys the engine (logging out).
func (s *session) close() {
	s.once.Do(func() {
		close(s.done)
		s.eng.Destroy()
		if s.closeLog != nil {
			s.closeLog()
		}
	})
}

// clientTLS is the TLS configuration of clients: the system's roots plus
// ca_file (--ca-file, TERMCALL_CA_FILE); nil without a CA file.
func clientTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.CAFile == "" {
		return nil, nil
	}
	tc, err := engine.TLSConfigFromCAFile(cfg.CAFile)
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return tc, nil
}

// requireUser checks that a user to log in as is configured.
func requireUser(cfg config.Config) error {
	if cfg.User == "" {
		return exit.Usagef("no user: set --user (or TERMCALL_USER, or user: in the config file)")
	}
	return nil
}

func joinLines(lines ...string) string { return strings.Join(lines, "\n") }
