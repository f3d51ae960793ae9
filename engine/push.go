package engine

import (
	"context"

	"github.com/termcall/termcall/protocol"
)

// PushEndpoint is a registered offline push endpoint.
type PushEndpoint = protocol.PushEndpoint

// Push endpoint kinds for RegisterPush.
const (
	PushWebhook     = protocol.PushWebhook
	PushNtfy        = protocol.PushNtfy
	PushUnifiedPush = protocol.PushUnifiedPush
)

// RegisterPush registers where the server pushes this user's invitations
// while no device of the user is online: url receives a signed JSON
// webhook (kind PushWebhook or ""), an ntfy message (PushNtfy) or the JSON
// as a UnifiedPush message (PushUnifiedPush). Registering a URL again
// updates it; a user keeps at most 5 (the oldest go). It returns the
// user's endpoints, newest first. A bad URL or kind is 3015.
func (e *Engine) RegisterPush(ctx context.Context, url, kind string) ([]PushEndpoint, error) {
	if _, err := protocol.ValidatePushEndpoint(url, kind); err != nil {
		return nil, err
	}
	return e.pushRequest(ctx, protocol.TypeRegisterPush, protocol.RegisterPushRequest{URL: url, Kind: kind})
}

// UnregisterPush removes one endpoint, or all of this user's when url is
// empty, and returns those left.
func (e *Engine) UnregisterPush(ctx context.Context, url string) ([]PushEndpoint, error) {
	return e.pushRequest(ctx, protocol.TypeUnregisterPush, protocol.UnregisterPushRequest{URL: url})
}

// PushEndpoints lists this user's endpoints, newest first.
func (e *Engine) PushEndpoints(ctx context.Context) ([]PushEndpoint, error) {
	return e.pushRequest(ctx, protocol.TypeListPush, nil)
}

func (e *Engine) pushRequest(ctx context.Context, typ string, req any) ([]PushEndpoint, error) {
	var rep protocol.PushEndpointsReply
	if err := e.request(ctx, typ, req, &rep, nil); err != nil {
		return nil, err
	}
	return rep.Endpoints, nil
}
