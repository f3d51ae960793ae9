package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/usersig"
	"github.com/termcall/termcall/web"
)

// devSigExpire is the lifetime of a development userSig.
const devSigExpire = 24 * time.Hour

// webRoutes serves the browser client (the SDK under /sdk/, the call page
// at /) and, with Config.DevLogin, the development login.
func (s *Server) webRoutes() {
	h := web.HandlerFor(s.cfg.PublicURL)
	s.mux.Handle("GET /sdk/", h)
	s.mux.Handle("GET /", h)
	if s.cfg.DevLogin {
		s.mux.HandleFunc("POST /v1/dev/usersig", s.devUserSig)
	}
	// GET /v1/dev/login says whether the development login is on, so the
	// page shows its button only then.
	s.mux.HandleFunc("GET /v1/dev/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `{"devLogin":%t}`+"\n", s.cfg.DevLogin)
	})
}

type devSigRequest struct {
	UserID string `json:"userId"`
}

type devSigReply struct {
	UserSig  string `json:"userSig"`
	SDKAppID uint64 `json:"sdkAppId"`
}

// devUserSig signs a userSig for any user: POST /v1/dev/usersig {userId} →
// {userSig, sdkAppId}. Only registered with Config.DevLogin, for development:
// it lets anyone log in as anyone.
func (s *Server) devUserSig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fail := func(err error) {
		pe := asProtoErr(err)
		w.WriteHeader(httpStatus(pe.Code))
		_ = json.NewEncoder(w).Encode(map[string]any{"error": pe})
	}
	var req devSigRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(protocol.Errorf(protocol.CodeMalformedMessage, "bad body: %w", err))
		return
	}
	if err := protocol.ValidateUserID(req.UserID); err != nil {
		fail(err)
		return
	}
	sig, err := usersig.Gen(s.cfg.SDKAppID, s.cfg.Secret, req.UserID, devSigExpire)
	if err != nil {
		fail(protocol.Errorf(protocol.CodeInternal, "signing: %w", err))
		return
	}
	s.log.Warn("development login", "user", req.UserID, "remote", r.RemoteAddr)
	_ = json.NewEncoder(w).Encode(devSigReply{UserSig: sig, SDKAppID: s.cfg.SDKAppID})
}
