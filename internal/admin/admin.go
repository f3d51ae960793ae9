// Package admin is a small client for the termcall server's admin REST API
// (users and groups). Every request carries an administrator userSig.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/termcall/termcall/protocol"
)

// Group is a group as the API returns it.
type Group struct {
	GroupID   string   `json:"groupId"`
	Name      string   `json:"name,omitempty"`
	Owner     string   `json:"owner,omitempty"`
	CreatedAt int64    `json:"createdAt,omitempty"`
	Members   []string `json:"members"`
}

// Client calls the admin API of one server.
type Client struct {
	// BaseURL is the server's HTTP base URL (config.HTTPURL).
	BaseURL string
	// UserSig is the administrator's userSig.
	UserSig string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, rd)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "%w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.UserSig)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return protocol.Errorf(protocol.CodeServerUnreachable, "cannot reach %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return protocol.Errorf(protocol.CodeConnectionLost, "%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error *protocol.Error `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != nil && e.Error.Code != 0 {
			return e.Error
		}
		return protocol.Errorf(protocol.CodeInternal, "%s %s: HTTP %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return protocol.Errorf(protocol.CodeMalformedMessage, "%s %s: bad reply: %w", method, path, err)
		}
	}
	return nil
}

// AddUsers registers users so they can be called before they ever log in.
func (c *Client) AddUsers(ctx context.Context, ids []string) error {
	return c.do(ctx, http.MethodPost, "/v1/users", map[string]any{"userIds": ids}, nil)
}

// CreateGroup creates a group.
func (c *Client) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if g.Members == nil {
		g.Members = []string{}
	}
	var out Group
	err := c.do(ctx, http.MethodPost, "/v1/groups", g, &out)
	return out, err
}

// Groups lists every group.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var out struct {
		Groups []Group `json:"groups"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/groups", nil, &out)
	return out.Groups, err
}

// Group returns one group.
func (c *Client) Group(ctx context.Context, id string) (Group, error) {
	var out Group
	err := c.do(ctx, http.MethodGet, "/v1/groups/"+url.PathEscape(id), nil, &out)
	return out, err
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/groups/"+url.PathEscape(id), nil, nil)
}

// AddMembers adds users to a group.
func (c *Client) AddMembers(ctx context.Context, id string, users []string) (Group, error) {
	var out Group
	err := c.do(ctx, http.MethodPost, "/v1/groups/"+url.PathEscape(id)+"/members", map[string]any{"userIds": users}, &out)
	return out, err
}

// RemoveMember removes one user from a group.
func (c *Client) RemoveMember(ctx context.Context, id, user string) (Group, error) {
	var out Group
	err := c.do(ctx, http.MethodDelete, "/v1/groups/"+url.PathEscape(id)+"/members/"+url.PathEscape(user), nil, &out)
	return out, err
}

// String describes a group in one line.
func (g Group) String() string {
	s := g.GroupID
	if g.Name != "" {
		s += fmt.Sprintf(" (%s)", g.Name)
	}
	return s + ": " + strings.Join(g.Members, ", ")
}
