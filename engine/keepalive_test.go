package engine

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/usersig"
)

// keepaliveServer logs every connection in, then sends an event every
// 50 ms while talk is set and nothing while it is not. It never reads
// after the login, so it never answers a ping (coder/websocket answers
// pings only inside a read).
type keepaliveServer struct {
	conns atomic.Int32
	talk  atomic.Bool
	done  chan struct{}
}

func (k *keepaliveServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	k.conns.Add(1)
	ctx := r.Context()
	if _, _, err := ws.Read(ctx); err != nil { // the login
		return
	}
	b, _ := protocol.Encode(protocol.TypeReply, 1, protocol.LoginReply{UserID: "alice", DeviceID: "d1"})
	if ws.Write(ctx, websocket.MessageText, b) != nil {
		return
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-k.done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if !k.talk.Load() {
				continue
			}
			// An event of no call (the engine ignores it).
			ev := protocol.Event{Event: protocol.EventUserAudioAvailable, UserID: "bob"}
			if ws.Write(ctx, websocket.MessageText, protocol.EncodeEvent(&ev)) != nil {
				return
			}
		}
	}
}

// TestKeepaliveCountsFrames: frames from the server show that it is
// alive, so the engine does not ping in an interval in which frames
// arrived (a server that sends but does not answer pings keeps its
// client); once the server falls silent, the unanswered ping drops the
// link and the engine reconnects.
func TestKeepaliveCountsFrames(t *testing.T) {
	k := &keepaliveServer{done: make(chan struct{})}
	k.talk.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: k, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		close(k.done)
		_ = hs.Close()
	}()

	const keepalive = 400 * time.Millisecond
	e, err := New(Options{Server: "http://" + ln.Addr().String(), Keepalive: keepalive, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	sig, err := usersig.Gen(1400000001, "secret", "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Init(ctx, 1400000001, "alice", sig); err != nil {
		t.Fatal(err)
	}

	// Six keepalive intervals of frames (one every 50 ms): an unanswered
	// ping would have dropped the link after three.
	time.Sleep(6 * keepalive)
	if n := k.conns.Load(); n != 1 {
		t.Fatalf("%d connections while the server was sending; want 1 (no ping, no reconnect)", n)
	}

	k.talk.Store(false)
	testutil.Until(t, "a reconnect from a silent server that does not answer pings", 8*time.Second,
		func() bool { return k.conns.Load() >= 2 })
}
