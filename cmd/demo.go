package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/admin"
	"github.com/termcall/termcall/internal/bot"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

// demoSecret is the development secret of the embedded demo server.
const demoSecret = "termcall-dev-secret"

// demoBot is one bot of the demo.
type demoBot struct {
	user  string
	mode  string
	delay time.Duration
	echo  bool
}

var demoBots = []demoBot{
	{user: "echo", mode: config.BotAnswer, delay: 500 * time.Millisecond, echo: true},
	{user: "alice", mode: config.BotAnswer, delay: 2 * time.Second},
	{user: "bob", mode: config.BotReject},
	{user: "carol", mode: config.BotBusy},
}

func newDemoCmd(g *globals) *cobra.Command {
	var f tuiFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Try termcall: an embedded server, four bots and the TUI",
		Long: joinLines(
			"Start a call server on 127.0.0.1 (in a temporary directory, with the",
			"development secret), log in four bots and open the TUI as \"me\":",
			"",
			"  echo   answers and sends back what it hears",
			"  alice  answers after 2 s",
			"  bob    rejects",
			"  carol  is busy (ignores the call)",
			"",
			"All five are in group \"demo\": dial \"group:demo alice bob carol\", or",
			"several names at once. Everything stops when you quit. Without a sound",
			"card it still works; the status line says you will hear nothing.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			log := slog.New(slog.DiscardHandler)
			if cfg.LogFile != "" {
				var closeLog func()
				if log, closeLog, err = g.logger(cfg, slog.LevelDebug); err != nil {
					return err
				}
				defer closeLog()
			}
			secret := demoSecret
			url, stop, err := startDemo(ctx, cfg.SDKAppID, secret, log)
			if err != nil {
				return err
			}
			defer stop()
			return g.runTUI(cmd, &f, tuiSetup{
				apply: func(c *config.Config) {
					c.Server, c.User, c.UserSig, c.Secret, c.MultiDevice = url, "me", "", secret, false
					c.Contacts = []string{"echo", "alice", "bob", "carol"}
				},
				contacts:     []string{"group:demo alice bob carol"},
				defaultGroup: "demo",
				notice:       "demo server at " + url,
			})
		}),
	}
	f.add(c.Flags())
	return c
}

// startDemo runs the embedded server and the bots; stop ends them all.
func startDemo(ctx context.Context, sdkAppID uint64, secret string, log *slog.Logger) (url string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "termcall-demo-*")
	if err != nil {
		return "", nil, err
	}
	var cleanups []func()
	stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	srv, err := server.New(ctx, server.Config{SDKAppID: sdkAppID, Secret: secret, DataDir: dir, Logger: log, MediaIP: "127.0.0.1"})
	if err != nil {
		return "", nil, fmt.Errorf("demo server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close(context.Background())
		return "", nil, fmt.Errorf("demo server: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cleanups = append(cleanups, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Close(cctx)
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("demo server", "err", err)
		}
	})
	url = "http://" + ln.Addr().String()

	adminSig, err := usersig.Gen(sdkAppID, secret, config.DefaultAdminUser, selfSignExpire)
	if err != nil {
		return "", nil, err
	}
	ac := &admin.Client{BaseURL: url, UserSig: adminSig}
	members := []string{"me"}
	for _, b := range demoBots {
		members = append(members, b.user)
	}
	if err := ac.AddUsers(ctx, members); err != nil {
		return "", nil, fmt.Errorf("demo users: %w", err)
	}
	if _, err := ac.CreateGroup(ctx, admin.Group{GroupID: "demo", Name: "termcall demo", Members: members}); err != nil {
		return "", nil, fmt.Errorf("demo group: %w", err)
	}

	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	cleanups = append(cleanups, func() { cancel(); wg.Wait() })
	for _, b := range demoBots {
		run, err := startDemoBot(bctx, url, sdkAppID, secret, b, log)
		if err != nil {
			return "", nil, exit.Wrap(fmt.Errorf("demo bot %s: %w", b.user, err))
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	return url, stop, nil
}

// startDemoBot logs a bot in; run handles its calls until ctx ends, then
// logs it out.
func startDemoBot(ctx context.Context, url string, sdkAppID uint64, secret string, b demoBot, log *slog.Logger) (run func(), err error) {
	eng, err := engine.New(engine.Options{Server: url, Logger: log.With("bot", b.user)})
	if err != nil {
		return nil, err
	}
	events := make(chan engine.Event, 256)
	done := make(chan struct{})
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		select {
		case events <- ev:
		case <-done:
		}
	}))
	var au *callaudio.Audio
	if b.echo {
		if au, err = callaudio.Open(callaudio.Options{Echo: true, NoAudioDevice: true, Logger: log}); err != nil {
			log.Warn("echo bot without audio", "err", err)
			au = nil
		} else {
			au.Attach(eng)
		}
	}
	sig, err := usersig.Gen(sdkAppID, secret, b.user, selfSignExpire)
	if err == nil {
		err = eng.Init(ctx, sdkAppID, b.user, sig)
	}
	if err != nil {
		close(done)
		eng.Destroy()
		if au != nil {
			au.Close()
		}
		return nil, err
	}
	bt := &bot.Bot{Policy: config.Bot{Mode: b.mode, AnswerDelay: b.delay}, Engine: eng}
	return func() {
		if err := bt.Run(ctx, events); err != nil {
			log.Warn("demo bot stopped", "bot", b.user, "err", err)
		}
		close(done)
		eng.Destroy()
		if au != nil {
			au.Close()
		}
	}, nil
}
