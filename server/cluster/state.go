package cluster

import (
	"context"
	"errors"
)

// State is every primitive on one backend, for one node.
type State struct {
	Node     string
	Nodes    *Nodes
	Presence *Presence
	Busy     *Claims // user ID -> (node, call)
	Rooms    *Claims // room key (protocol.RoomID.Key) -> (node, call)
	Calls    *Claims // call ID -> (node)
	Router   *Router
}

// Open opens (creating if needed) the buckets on b for node.
func Open(ctx context.Context, b Backend, node string) (*State, error) {
	var kvs [6]KV
	for i, name := range []string{BucketNodes, BucketPres, BucketBusy, BucketRooms, BucketCalls, BucketLogins} {
		kv, err := b.Bucket(ctx, name)
		if err != nil {
			return nil, err
		}
		kvs[i] = kv
	}
	calls := NewClaims(kvs[4])
	return &State{
		Node:     node,
		Nodes:    NewNodes(kvs[0]),
		Presence: NewPresence(kvs[1], kvs[5]),
		Busy:     NewClaims(kvs[2]),
		Rooms:    NewClaims(kvs[3]),
		Calls:    calls,
		Router:   NewRouter(node, b.Bus(), calls),
	}, nil
}

// Released is what ReleaseNode freed.
type Released struct {
	Calls   []Claim // calls the dead node owned: end them (endByServer), close their records
	Busy    []Claim
	Rooms   []Claim
	Devices []Device
}

// ReleaseNode frees everything a dead node held: its busy locks, rooms,
// presence and call ownerships. It is the Reap hook of Nodes.Watch, and a
// node starting under an ID runs it first for its previous incarnation's
// leftovers. Every part is tried even if one fails; the errors are joined.
func (s *State) ReleaseNode(ctx context.Context, node string) (Released, error) {
	var r Released
	var errs []error
	var err error
	r.Calls, err = s.Calls.ReleaseNode(ctx, node)
	errs = append(errs, err)
	r.Busy, err = s.Busy.ReleaseNode(ctx, node)
	errs = append(errs, err)
	r.Rooms, err = s.Rooms.ReleaseNode(ctx, node)
	errs = append(errs, err)
	r.Devices, err = s.Presence.ReleaseNode(ctx, node)
	errs = append(errs, err)
	return r, errors.Join(errs...)
}
