package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/termcall/termcall/protocol"
)

// CallRequest is a client's request about a call, forwarded by the node
// holding the client's WebSocket (From) to the call's owner node.
type CallRequest struct {
	CallID string           `json:"callId"`
	User   string           `json:"user"`
	Device string           `json:"device"`
	From   string           `json:"from"` // the forwarding node
	Msg    protocol.Message `json:"msg"`
}

// CallReply is the owner's answer: data, or a protocol error with its
// stable code.
type CallReply struct {
	Data  json.RawMessage `json:"data,omitempty"`
	Error *protocol.Error `json:"error,omitempty"`
	// Deliveries are what the owner sent, while handling the request, to
	// devices on the requesting node: carried in the reply so that the
	// requester gets its reply before the events the request caused, as
	// on one node.
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// Delivery is an event for some of a user's devices (all of them if
// Devices is empty) held by the node it is sent to.
type Delivery struct {
	User    string         `json:"user"`
	Devices []string       `json:"devices,omitempty"`
	Event   protocol.Event `json:"event"`

	// From is the sending node. Kind says what this is: "" (an event for
	// the devices), DeliverMedia (a media signal from the owner's SFU),
	// DeliverKick (a login elsewhere displaced the devices), DeliverGone
	// (sent to a call's owner: the devices left their node, with Reason).
	From   string                `json:"from,omitempty"`
	Kind   string                `json:"kind,omitempty"`
	Media  *protocol.MediaSignal `json:"media,omitempty"`
	Reason protocol.EndReason    `json:"reason,omitempty"`
}

// Kinds of Delivery.
const (
	DeliverMedia = "media"
	DeliverKick  = "kick"
	DeliverGone  = "gone"
	// DeliverAttach, sent to a call's owner: the device just logged in
	// on the sending node; ring it if the call rings for its user.
	DeliverAttach = "attach"
)

// Router sends call requests to a call's owner node (found in the call
// ownership claims) and events to a device's node, as JSON on the bus.
type Router struct {
	node  string
	bus   Bus
	calls *Claims
}

// NewRouter routes for this node.
func NewRouter(node string, bus Bus, calls *Claims) *Router {
	return &Router{node: node, bus: bus, calls: calls}
}

// ServeCalls answers the call requests sent to this node with h until stop.
// A *protocol.Error from h reaches the requester with its code; any other
// error becomes CodeInternal.
func (r *Router) ServeCalls(h func(CallRequest) (json.RawMessage, error)) (stop func(), err error) {
	return r.ServeCallsWith(func(req CallRequest) (json.RawMessage, []Delivery, error) {
		out, err := h(req)
		return out, nil, err
	})
}

// ServeCallsWith is ServeCalls whose handler also returns the deliveries
// for the requesting node, sent back in the reply (CallReply.Deliveries),
// with an error as well as with data.
func (r *Router) ServeCallsWith(h func(CallRequest) (json.RawMessage, []Delivery, error)) (stop func(), err error) {
	return r.bus.Serve(r.node, KindCall, func(data []byte) []byte {
		var req CallRequest
		var rep CallReply
		if err := json.Unmarshal(data, &req); err != nil {
			rep.Error = protocol.Errorf(protocol.CodeMalformedMessage, "cluster: bad call request: %w", err)
		} else if out, dels, err := h(req); err != nil {
			rep.Deliveries = dels
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				pe = protocol.Errorf(protocol.CodeInternal, "%w", err)
			}
			rep.Error = pe
		} else {
			rep.Data, rep.Deliveries = out, dels
		}
		b, _ := json.Marshal(rep)
		return b
	})
}

// ServeEvents hands the deliveries sent to this node to h until stop.
func (r *Router) ServeEvents(h func(Delivery)) (stop func(), err error) {
	return r.bus.Serve(r.node, KindEvent, func(data []byte) []byte {
		var d Delivery
		if json.Unmarshal(data, &d) == nil {
			h(d)
		}
		return nil
	})
}

// ToOwner sends req to the node owning req.CallID and returns its reply
// data. Errors: a *protocol.Error from the owner (CodeNoSuchCall if no
// node owns the call), ErrNoNode (wrapped) if the owner does not answer
// (it died and is not reaped yet), or ctx's.
func (r *Router) ToOwner(ctx context.Context, req CallRequest) (json.RawMessage, error) {
	rep, err := r.ToOwnerWith(ctx, req)
	if err != nil {
		return nil, err
	}
	if rep.Error != nil {
		return nil, rep.Error
	}
	return rep.Data, nil
}

// ToOwnerWith is ToOwner returning the whole reply: the owner's error (a
// protocol error) is in CallReply.Error, err is the routing's.
func (r *Router) ToOwnerWith(ctx context.Context, req CallRequest) (CallReply, error) {
	owner, err := r.calls.Get(ctx, req.CallID)
	if errors.Is(err, ErrNotFound) {
		return CallReply{Error: protocol.Errorf(protocol.CodeNoSuchCall, "no call %q (it may have ended)", req.CallID)}, nil
	}
	if err != nil {
		return CallReply{}, err
	}
	return r.ToNodeCall(ctx, owner.Owner.Node, req)
}

// ToNodeCall sends a call request to a given node (the owner found
// otherwise, e.g. by a room claim) and returns its reply.
func (r *Router) ToNodeCall(ctx context.Context, node string, req CallRequest) (CallReply, error) {
	req.From = r.node
	b, err := json.Marshal(req)
	if err != nil {
		return CallReply{}, err
	}
	out, err := r.bus.Request(ctx, node, KindCall, b)
	if err != nil {
		return CallReply{}, fmt.Errorf("cluster: call %s on node %s: %w", req.CallID, node, err)
	}
	var rep CallReply
	if err := json.Unmarshal(out, &rep); err != nil {
		return CallReply{}, fmt.Errorf("cluster: bad reply from node %s: %w", node, err)
	}
	return rep, nil
}

// ToNode sends an event to the node holding the devices (at most once).
func (r *Router) ToNode(ctx context.Context, node string, d Delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return r.bus.Publish(ctx, node, KindEvent, b)
}
