package engine

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/termcall/termcall/usersig"
)

// The error a user gets when the server is down carries the socket's own
// error: the code says "unreachable", errors.Is finds ECONNREFUSED.
func TestInitUnreachableKeepsCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the dial is refused

	e, err := New(Options{Server: "http://" + addr, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	sig, err := usersig.Gen(1400000001, "secret", "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = e.Init(ctx, 1400000001, "alice", sig)
	if !IsCode(err, 5002) {
		t.Fatalf("Init against a closed port: %v, want code 5002", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false: the socket's error is lost", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("errors.As(*net.OpError) = %v", op)
	}
}

// A server that accepts the connection and never answers: the caller's
// deadline is what the error says, and errors.Is finds it.
func TestInitSilentServerKeepsDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	e, err := New(Options{Server: "http://" + ln.Addr().String(), RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	sig, err := usersig.Gen(1400000001, "secret", "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = e.Init(ctx, 1400000001, "alice", sig)
	if err == nil {
		t.Fatal("Init against a silent server succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, DeadlineExceeded) = false", err)
	}
}
