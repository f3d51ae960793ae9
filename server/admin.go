package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/store"
	"github.com/termcall/termcall/usersig"
)

// group is an IM group held in memory; the store has the durable copy.
type group struct {
	id      string
	name    string
	owner   string
	created int64
	members map[string]bool
}

func newGroup(g store.Group) *group {
	gr := &group{id: g.GroupID, name: g.Name, owner: g.Owner, created: g.CreatedAt, members: make(map[string]bool)}
	for _, m := range g.Members {
		gr.members[m] = true
	}
	return gr
}

func (g *group) view() store.Group {
	out := store.Group{GroupID: g.id, Name: g.name, Owner: g.owner, CreatedAt: g.created, Members: []string{}}
	for m := range g.members {
		out.Members = append(out.Members, m)
	}
	slices.Sort(out.Members)
	return out
}

// The admin REST API. Every call carries an administrator userSig, as
// "Authorization: Bearer <userSig>" or the vendor-style query parameters
// sdkappid, identifier and usersig.
func (s *Server) adminRoutes() {
	s.mux.HandleFunc("POST /v1/users", s.admin(s.apiAddUsers))
	s.mux.HandleFunc("GET /v1/groups", s.admin(s.apiListGroups))
	s.mux.HandleFunc("POST /v1/groups", s.admin(s.apiCreateGroup))
	s.mux.HandleFunc("GET /v1/groups/{id}", s.admin(s.apiGetGroup))
	s.mux.HandleFunc("DELETE /v1/groups/{id}", s.admin(s.apiDeleteGroup))
	s.mux.HandleFunc("POST /v1/groups/{id}/members", s.admin(s.apiAddMembers))
	s.mux.HandleFunc("DELETE /v1/groups/{id}/members/{user}", s.admin(s.apiRemoveMember))
	s.mux.HandleFunc("GET /v1/calls", s.admin(s.apiCalls))
}

type apiFunc func(r *http.Request) (any, error)

func (s *Server) admin(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out any
		err := s.checkAdmin(r)
		if err == nil {
			out, err = f(r)
		}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			pe := asProtoErr(err)
			s.RefusedHTTP(pe.Code)
			w.WriteHeader(httpStatus(pe.Code))
			_ = json.NewEncoder(w).Encode(map[string]any{"error": pe})
			return
		}
		if out == nil {
			out = map[string]string{"status": "ok"}
		}
		_ = json.NewEncoder(w).Encode(out)
	}
}

func httpStatus(c protocol.Code) int {
	switch {
	case c == protocol.CodeNotAdministrator:
		return http.StatusForbidden
	case c >= 2000 && c < 3000:
		return http.StatusUnauthorized
	case c == protocol.CodeGroupNotFound || c == protocol.CodeNoSuchCall || c == protocol.CodeUnknownUser:
		return http.StatusNotFound
	case c == protocol.CodeGroupExists:
		return http.StatusConflict
	case c >= 1000 && c < 5000:
		return http.StatusBadRequest
	case c == protocol.CodeShuttingDown, c == protocol.CodeStoreUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) checkAdmin(r *http.Request) error {
	q := r.URL.Query()
	sig := q.Get("usersig")
	ident := q.Get("identifier")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		sig = strings.TrimPrefix(h, "Bearer ")
	}
	if ident == "" {
		ident = s.cfg.AdminUser
	}
	if a := q.Get("sdkappid"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil || n != s.cfg.SDKAppID {
			return protocol.Errorf(protocol.CodeSDKAppIDMismatch, "sdkappid %q is not this server's app", a)
		}
	}
	if sig == "" {
		return protocol.Errorf(protocol.CodeInvalidUserSig, "an administrator userSig is required")
	}
	if ident != s.cfg.AdminUser {
		return protocol.Errorf(protocol.CodeNotAdministrator, "%q is not the administrator", ident)
	}
	_, err := usersig.Verify(sig, s.cfg.SDKAppID, s.cfg.Secret, ident, time.Now())
	if errors.Is(err, &protocol.Error{Code: protocol.CodeUserSigMismatch}) {
		return protocol.Errorf(protocol.CodeNotAdministrator, "the userSig is not the administrator's")
	}
	return err
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return protocol.Errorf(protocol.CodeMalformedMessage, "bad request body: %w", err)
	}
	return nil
}

type userIDs struct {
	UserIDs []string `json:"userIds"`
}

func validUserIDs(ids []string) error {
	if len(ids) == 0 || len(ids) > 1000 {
		return protocol.Errorf(protocol.CodeInvalidArgument, "give 1 to 1000 userIds")
	}
	for _, id := range ids {
		if err := protocol.ValidateUserID(id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) apiAddUsers(r *http.Request) (any, error) {
	var req userIDs
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := validUserIDs(req.UserIDs); err != nil {
		return nil, err
	}
	if err := s.store.AddUsers(r.Context(), req.UserIDs); err != nil {
		return nil, storageError("add users", err)
	}
	s.mu.Lock()
	for _, id := range req.UserIDs {
		s.userLocked(id)
	}
	s.usersAdded(req.UserIDs)
	s.mu.Unlock()
	return req, nil
}

func (s *Server) apiListGroups(r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []store.Group{}
	for _, g := range s.groups {
		out = append(out, g.view())
	}
	slices.SortFunc(out, func(a, b store.Group) int { return strings.Compare(a.GroupID, b.GroupID) })
	return map[string]any{"groups": out}, nil
}

func (s *Server) apiGetGroup(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := protocol.ValidateGroupID(id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeGroupNotFound, "group %q does not exist", id)
	}
	return g.view(), nil
}

func (s *Server) apiCreateGroup(r *http.Request) (any, error) {
	var g store.Group
	if err := decodeBody(r, &g); err != nil {
		return nil, err
	}
	if err := checkNewGroup(&g); err != nil {
		return nil, err
	}
	g.CreatedAt = time.Now().Unix()
	s.mu.Lock()
	exists := s.groups[g.GroupID] != nil
	s.mu.Unlock()
	if exists {
		return nil, protocol.Errorf(protocol.CodeGroupExists, "group %q exists", g.GroupID)
	}
	if err := s.store.CreateGroup(r.Context(), g); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range g.Members {
		s.userLocked(m)
	}
	gr := newGroup(g)
	s.groups[g.GroupID] = gr
	s.groupChanged(g.GroupID)
	return gr.view(), nil
}

// checkNewGroup checks a group to create; the owner becomes a member.
func checkNewGroup(g *store.Group) error {
	if err := protocol.ValidateGroupID(g.GroupID); err != nil {
		return err
	}
	if len(g.Name) > 256 {
		return protocol.Errorf(protocol.CodeInvalidArgument, "group name is longer than 256 bytes")
	}
	if g.Owner != "" {
		if err := protocol.ValidateUserID(g.Owner); err != nil {
			return err
		}
		if !slices.Contains(g.Members, g.Owner) {
			g.Members = append(g.Members, g.Owner)
		}
	}
	if len(g.Members) > 0 {
		return validUserIDs(g.Members)
	}
	return nil
}

func (s *Server) apiDeleteGroup(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := protocol.ValidateGroupID(id); err != nil {
		return nil, err
	}
	if err := s.store.DeleteGroup(r.Context(), id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.groups, id)
	s.groupChanged(id)
	s.mu.Unlock()
	return nil, nil
}

func (s *Server) apiAddMembers(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := protocol.ValidateGroupID(id); err != nil {
		return nil, err
	}
	var req userIDs
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := validUserIDs(req.UserIDs); err != nil {
		return nil, err
	}
	if err := s.store.AddMembers(r.Context(), id, req.UserIDs); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeGroupNotFound, "group %q does not exist", id)
	}
	for _, m := range req.UserIDs {
		g.members[m] = true
		s.userLocked(m)
	}
	s.groupChanged(id)
	return g.view(), nil
}

func (s *Server) apiRemoveMember(r *http.Request) (any, error) {
	id, uid := r.PathValue("id"), r.PathValue("user")
	if err := protocol.ValidateGroupID(id); err != nil {
		return nil, err
	}
	if err := protocol.ValidateUserID(uid); err != nil {
		return nil, err
	}
	if err := s.store.RemoveMembers(r.Context(), id, []string{uid}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeGroupNotFound, "group %q does not exist", id)
	}
	delete(g.members, uid)
	s.groupChanged(id)
	return g.view(), nil
}

// apiCalls lists call records (GET /v1/calls), filtered by the
// query: user, callId, begin, end (unix times) and limit. Records still
// in memory are written first.
func (s *Server) apiCalls(r *http.Request) (any, error) {
	f, err := adminFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.store.Flush(ctx); err != nil {
		if protocol.CodeOf(err) == protocol.CodeStoreUnavailable {
			return nil, err // records are waiting in memory: listing the disk alone would miss them
		}
		return nil, protocol.Errorf(protocol.CodeStorage, "flush: %w", err)
	}
	recs, err := s.store.AdminRecords(ctx, f)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeStorage, "records: %w", err)
	}
	if recs == nil {
		recs = []store.Record{}
	}
	return map[string]any{"records": recs}, nil
}

// adminFilter reads the record filter of a GET /v1/calls query.
func adminFilter(q url.Values) (store.AdminFilter, error) {
	var f store.AdminFilter
	f.UserID, f.CallID = q.Get("user"), q.Get("callId")
	if f.UserID != "" {
		if err := protocol.ValidateUserID(f.UserID); err != nil {
			return f, err
		}
	}
	if f.CallID != "" {
		if err := protocol.ValidateCallID(f.CallID); err != nil {
			return f, err
		}
	}
	var err error
	if f.Begin, err = unixParam(q, "begin"); err != nil {
		return f, err
	}
	if f.End, err = unixParam(q, "end"); err != nil {
		return f, err
	}
	f.Limit, err = limitParam(q)
	return f, err
}

// unixParam reads a unix time from the query; 0 without one.
func unixParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, protocol.Errorf(protocol.CodeInvalidArgument, "%s=%q is not a unix time", name, v)
	}
	return n, nil
}

// limitParam reads the limit (1..10000) from the query; 0 without one.
func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, protocol.Errorf(protocol.CodeInvalidArgument, "limit=%q; want 1..10000", v)
	}
	return n, nil
}
