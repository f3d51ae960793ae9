package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
)

type echo struct {
	Owner, CallID, From, Type, User, Device string
}

// TestRouterToOwner: three nodes own 50 calls; every node sends a request
// about every call at once (150 behind a barrier); each reaches the call's
// owner and its reply comes back to the sender. Protocol errors keep their
// codes; an unknown call is CodeNoSuchCall; a silent owner is ErrNoNode.
func TestRouterToOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		var states []*cluster.State
		for i := range 3 {
			s := f.state(f.node(), fmt.Sprintf("N%d", i))
			states = append(states, s)
			stop, err := s.Router.ServeCalls(func(req cluster.CallRequest) (json.RawMessage, error) {
				switch req.Msg.Type {
				case "refuse":
					return nil, protocol.Errorf(protocol.CodeWrongCallState, "not now")
				case "crash":
					return nil, errors.New("boom")
				}
				return json.Marshal(echo{Owner: s.Node, CallID: req.CallID, From: req.From, Type: req.Msg.Type, User: req.User, Device: req.Device})
			})
			must(t, "serve", err)
			t.Cleanup(stop)
		}
		const calls = 50
		for i := range calls {
			owner := states[i%3]
			_, err := owner.Calls.Claim(ctx, fmt.Sprintf("call%d", i), cluster.Owner{Node: owner.Node})
			must(t, "own", err)
		}

		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 3*calls)
		for _, s := range states {
			for i := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					id := fmt.Sprintf("call%d", i)
					out, err := s.Router.ToOwner(ctx, cluster.CallRequest{CallID: id, User: "u" + s.Node, Device: "d", Msg: protocol.Message{Type: "accept", ID: uint64(i)}})
					if err != nil {
						errs <- fmt.Errorf("%s -> %s: %w", s.Node, id, err)
						return
					}
					var got echo
					if err := json.Unmarshal(out, &got); err != nil {
						errs <- err
						return
					}
					want := echo{Owner: fmt.Sprintf("N%d", i%3), CallID: id, From: s.Node, Type: "accept", User: "u" + s.Node, Device: "d"}
					if got != want {
						errs <- fmt.Errorf("%s -> %s: reply %+v, want %+v", s.Node, id, got, want)
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		a := states[0]
		_, err := a.Router.ToOwner(ctx, cluster.CallRequest{CallID: "call1", Msg: protocol.Message{Type: "refuse"}})
		if protocol.CodeOf(err) != protocol.CodeWrongCallState {
			t.Errorf("refused: %v, want code %d", err, protocol.CodeWrongCallState)
		}
		_, err = a.Router.ToOwner(ctx, cluster.CallRequest{CallID: "call1", Msg: protocol.Message{Type: "crash"}})
		if protocol.CodeOf(err) != protocol.CodeInternal {
			t.Errorf("crashed: %v, want code %d", err, protocol.CodeInternal)
		}
		_, err = a.Router.ToOwner(ctx, cluster.CallRequest{CallID: "nosuch"})
		if protocol.CodeOf(err) != protocol.CodeNoSuchCall {
			t.Errorf("unknown call: %v, want code %d", err, protocol.CodeNoSuchCall)
		}
		// A call owned by a node nobody serves (dead, not reaped yet).
		_, err = a.Calls.Claim(ctx, "orphan", cluster.Owner{Node: "gone"})
		must(t, "claim", err)
		_, err = a.Router.ToOwner(ctx, cluster.CallRequest{CallID: "orphan"})
		mustErr(t, "dead owner", err, cluster.ErrNoNode)
	})
}

// TestRouterEvents: events reach the node holding the device, in the
// order sent, and nothing reaches other nodes.
func TestRouterEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b, c := f.state(f.node(), "A"), f.state(f.node(), "B"), f.state(f.node(), "C")
		var mu sync.Mutex
		got := map[string][]cluster.Delivery{}
		for _, s := range []*cluster.State{b, c} {
			stop, err := s.Router.ServeEvents(func(d cluster.Delivery) {
				mu.Lock()
				got[s.Node] = append(got[s.Node], d)
				mu.Unlock()
			})
			must(t, "serve", err)
			t.Cleanup(stop)
		}
		room := protocol.IntRoom(7)
		var want []cluster.Delivery
		for i := range 100 {
			d := cluster.Delivery{User: "bob", Devices: []string{"d1"}, Event: protocol.Event{
				Event: "onCallReceived", Seq: uint64(i + 1), CallID: "c1", RoomID: &room, Scene: protocol.SceneSingleCall,
			}}
			want = append(want, d)
			must(t, "send", a.Router.ToNode(ctx, "B", d))
		}
		testutil.Until(t, "100 events on B", 10*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got["B"]) == len(want)
		})
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff(want, got["B"]); diff != "" {
			t.Fatalf("events on B (-want +got):\n%s", diff)
		}
		if len(got["C"]) != 0 {
			t.Fatalf("C got %d events", len(got["C"]))
		}
	})
}
