package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/usersig"
)

// admin makes the admin REST calls a run needs: the users, and with
// groups of more than two the groups, created up front (a known user logs
// in without a store write, and a group call needs its group).
type admin struct {
	o  *Options
	hc *http.Client
}

func (a *admin) prepare(ctx context.Context, run string) error {
	var ids []string
	for i := range a.o.Calls {
		for k := range a.o.GroupSize {
			ids = append(ids, userID(run, i, k))
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		if err := a.call(ctx, "POST", "/v1/users", map[string]any{"userIds": ids[:n]}); err != nil {
			return fmt.Errorf("loadtest: adding the users: %w", err)
		}
		ids = ids[n:]
	}
	if a.o.GroupSize > 2 {
		for i := range a.o.Calls {
			var members []string
			for k := range a.o.GroupSize {
				members = append(members, userID(run, i, k))
			}
			g := map[string]any{"groupId": groupID(run, i), "name": "load test", "owner": members[0], "members": members}
			if err := a.call(ctx, "POST", "/v1/groups", g); err != nil {
				return fmt.Errorf("loadtest: creating the groups: %w", err)
			}
		}
	}
	return nil
}

func (a *admin) call(ctx context.Context, method, path string, body any) error {
	sig, err := usersig.Gen(a.o.SDKAppID, a.o.Secret, "administrator", time.Hour)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, httpOrigin(a.o.Server)+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// httpOrigin maps a server URL (http, https, ws, wss) to its http(s) origin.
func httpOrigin(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	return u.Scheme + "://" + u.Host
}

func tlsFromCAFile(file string) (*tls.Config, error) { return engine.TLSConfigFromCAFile(file) }
