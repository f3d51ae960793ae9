package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

// Example runs a real server on loopback, logs two users in, and has alice
// call bob, who answers; alice hangs up.
func Example() {
	const appID, secret = 1400000001, "example-secret"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir, _ := os.MkdirTemp("", "termcall-example")
	defer os.RemoveAll(dir)
	srv, err := server.New(ctx, server.Config{SDKAppID: appID, Secret: secret, DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(ctx)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln) //nolint:errcheck
	url := "http://" + ln.Addr().String()

	login := func(user string) (*engine.Engine, chan engine.Event) {
		e, _ := engine.New(engine.Options{Server: url})
		events := make(chan engine.Event, 16)
		e.AddObserver(engine.NewObserver(func(ev engine.Event) {
			switch ev.(type) {
			case engine.ConnectionChanged, engine.UserAudioAvailable, engine.UserVideoAvailable,
				engine.UserVoiceVolumeChanged, engine.UserNetworkQualityChanged:
				// link and media reports: not part of this example
			default:
				events <- ev
			}
		}))
		sig, _ := usersig.Gen(appID, secret, user, time.Hour)
		if err := e.Init(ctx, appID, user, sig); err != nil {
			fmt.Println(err)
		}
		return e, events
	}
	alice, aliceEvents := login("alice")
	defer alice.Destroy()
	bob, bobEvents := login("bob")
	defer bob.Destroy()

	if _, err := alice.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{UserData: "lunch?"}); err != nil {
		fmt.Println(err)
		return
	}
	rcv := (<-bobEvents).(engine.CallReceived)
	fmt.Println(rcv.Name(), "from", rcv.CallerID, "with", rcv.UserData)
	_ = bob.Accept(ctx)
	fmt.Println((<-bobEvents).Name(), "as", (<-aliceEvents).(engine.CallBegin).Role)
	<-bobEvents // onUserJoin(alice)
	<-aliceEvents
	_ = alice.Hangup(ctx)
	<-bobEvents // onUserLeave(alice)
	end := (<-bobEvents).(engine.CallEnd)
	fmt.Println(end.Name(), end.Reason, "by", end.UserID)
	// Output:
	// onCallReceived from alice with lunch?
	// onCallBegin as caller
	// onCallEnd hangup by alice
}
