// Package demo is what termcall demo runs besides the TUI: a call server
// on 127.0.0.1 in a temporary directory, with the development secret, and
// four bots logged in to it (echo, alice, bob, carol), all in group demo
// with the user "me".
package demo

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

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/admin"
	"github.com/termcall/termcall/internal/bot"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

// Secret is the development secret of the embedded demo server.
const Secret = "termcall-dev-secret"

// User is the demo's human user; Group the group of everyone.
const (
	User  = "me"
	Group = "demo"
)

// sigExpire is the lifetime of the userSigs the demo signs.
const sigExpire = 24 * time.Hour

// Bot is one bot of the demo.
type Bot struct {
	User  string
	Mode  string // config.BotAnswer, BotReject, BotBusy
	Delay time.Duration
	Echo  bool // send back what it hears
}

// Bots are the demo's bots.
var Bots = []Bot{
	{User: "echo", Mode: config.BotAnswer, Delay: 500 * time.Millisecond, Echo: true},
	{User: "alice", Mode: config.BotAnswer, Delay: 2 * time.Second},
	{User: "bob", Mode: config.BotReject},
	{User: "carol", Mode: config.BotBusy},
}

// cleanups run in reverse order.
type cleanups []func()

func (c cleanups) run() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// Start runs the embedded server and the bots; stop ends them all.
func Start(ctx context.Context, sdkAppID uint64, secret string, log *slog.Logger) (url string, stop func(), err error) {
	var done cleanups
	defer func() {
		if err != nil {
			done.run()
		}
	}()
	url, err = startServer(ctx, sdkAppID, secret, log, &done)
	if err != nil {
		return "", nil, err
	}
	if err := addUsers(ctx, url, sdkAppID, secret); err != nil {
		return "", nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	done = append(done, func() { cancel(); wg.Wait() })
	for _, b := range Bots {
		run, err := startBot(bctx, url, sdkAppID, secret, b, log)
		if err != nil {
			return "", nil, exit.Wrap(fmt.Errorf("demo bot %s: %w", b.User, err))
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	return url, done.run, nil
}

// startServer runs the server in a temporary directory on 127.0.0.1; its
// stops are added to done.
func startServer(ctx context.Context, sdkAppID uint64, secret string, log *slog.Logger, done *cleanups) (string, error) {
	dir, err := os.MkdirTemp("", "termcall-demo-*")
	if err != nil {
		return "", err
	}
	*done = append(*done, func() { os.RemoveAll(dir) })
	srv, err := server.New(ctx, server.Config{SDKAppID: sdkAppID, Secret: secret, DataDir: dir, Logger: log, MediaIP: "127.0.0.1"})
	if err != nil {
		return "", fmt.Errorf("demo server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close(context.Background())
		return "", fmt.Errorf("demo server: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	*done = append(*done, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Close(cctx)
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("demo server", "err", err)
		}
	})
	return "http://" + ln.Addr().String(), nil
}

// addUsers registers me and the bots, and group demo of them all.
func addUsers(ctx context.Context, url string, sdkAppID uint64, secret string) error {
	adminSig, err := usersig.Gen(sdkAppID, secret, config.DefaultAdminUser, sigExpire)
	if err != nil {
		return err
	}
	ac := &admin.Client{BaseURL: url, UserSig: adminSig}
	members := []string{User}
	for _, b := range Bots {
		members = append(members, b.User)
	}
	if err := ac.AddUsers(ctx, members); err != nil {
		return fmt.Errorf("demo users: %w", err)
	}
	if _, err := ac.CreateGroup(ctx, admin.Group{GroupID: Group, Name: "termcall demo", Members: members}); err != nil {
		return fmt.Errorf("demo group: %w", err)
	}
	return nil
}

// startBot logs a bot in; run handles its calls until ctx ends, then logs
// it out.
func startBot(ctx context.Context, url string, sdkAppID uint64, secret string, b Bot, log *slog.Logger) (run func(), err error) {
	eng, err := engine.New(engine.Options{Server: url, Logger: log.With("bot", b.User)})
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
	au := echoAudio(b, eng, log)
	end := func() {
		close(done)
		eng.Destroy()
		if au != nil {
			au.Close()
		}
	}
	sig, err := usersig.Gen(sdkAppID, secret, b.User, sigExpire)
	if err == nil {
		err = eng.Init(ctx, sdkAppID, b.User, sig)
	}
	if err != nil {
		end()
		return nil, err
	}
	bt := &bot.Bot{Policy: config.Bot{Mode: b.Mode, AnswerDelay: b.Delay}, Engine: eng}
	return func() {
		if err := bt.Run(ctx, events); err != nil {
			log.Warn("demo bot stopped", "bot", b.User, "err", err)
		}
		end()
	}, nil
}

// echoAudio gives an echo bot its audio (nil for the others, or when it
// cannot be opened: the bot then answers in silence).
func echoAudio(b Bot, eng *engine.Engine, log *slog.Logger) *callaudio.Audio {
	if !b.Echo {
		return nil
	}
	au, err := callaudio.Open(callaudio.Options{Echo: true, NoAudioDevice: true, Logger: log})
	if err != nil {
		log.Warn("echo bot without audio", "err", err)
		return nil
	}
	au.Attach(eng)
	return au
}
