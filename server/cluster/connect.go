package cluster

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dial connects a node to NATS for cluster mode and checks that JetStream
// is there. It fails with a clear error when NATS is unreachable or has no
// JetStream, so that a node refuses to start. Once connected, the client
// reconnects forever; Ready reports whether it is connected now.
func Dial(ctx context.Context, url, node string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("termcall " + node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.Timeout(2 * time.Second),
	}
	if d, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(d)))
	}
	nc, err := nats.Connect(url, opts...)
	shown := RedactURL(url)
	if err != nil {
		return nil, fmt.Errorf("cluster: NATS at %s is unreachable: %w", shown, err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		_, err = js.AccountInfo(ctx)
	}
	if err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("cluster: NATS at %s has no JetStream (run nats-server with -js): %w", shown, err)
		}
		return nil, fmt.Errorf("cluster: NATS at %s: JetStream: %w", shown, err)
	}
	return nc, nil
}

// RedactURL hides the password (or token) of each URL in a NATS URL list,
// for logs and errors.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := neturl.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = neturl.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = neturl.User("xxxxx") // a token
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// Ready is nil while the connection is up, else why not (for /readyz: a
// node that lost NATS refuses new calls and logins).
func (n *NATS) Ready() error {
	if n.nc.IsConnected() {
		return nil
	}
	return fmt.Errorf("cluster: NATS connection is %v", n.nc.Status())
}

// Ready is always nil in process.
func (m *Memory) Ready() error { return nil }
