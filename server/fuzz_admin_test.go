package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzAdminHTTP drives method, path, query, body and credentials through
// the server's real HTTP handler (the admin API, /healthz, unknown /v1/
// endpoints): it must never panic, every answer carries nosniff, and
// under /v1/ every answer is JSON, with {"error":{"code":N}} (N > 0) when
// it is an error.
func FuzzAdminHTTP(f *testing.F) {
	s := startFzServer(f)
	h := s.srv.Handler()
	adminSig := fzSig(f, "administrator")
	userSig := fzSig(f, "mallory")
	for _, seed := range []struct {
		method, path, query, body string
		auth                      uint8
	}{
		{"POST", "/v1/users", "", `{"userIds":["alice","bob"]}`, 1},
		{"POST", "/v1/users", "", `{"userIds":[]}`, 1},
		{"POST", "/v1/users", "", `{"userIds":["a b"]}`, 1},
		{"GET", "/v1/groups", "", "", 1},
		{"POST", "/v1/groups", "", `{"groupId":"g1","name":"G","owner":"alice","members":["alice","bob"]}`, 1},
		{"GET", "/v1/groups/g1", "", "", 1},
		{"POST", "/v1/groups/g1/members", "", `{"userIds":["carol"]}`, 1},
		{"DELETE", "/v1/groups/g1/members/carol", "", "", 1},
		{"DELETE", "/v1/groups/g1", "", "", 1},
		{"GET", "/v1/calls", "limit=5", "", 1},
		{"GET", "/v1/calls", "sdkappid=1&identifier=administrator&usersig=x", "", 0},
		{"GET", "/v1/calls", "", "", 2},
		{"GET", "/v1/calls", "", "", 3},
		{"PUT", "/v1/groups", "", "{", 1},
		{"GET", "/v1/nothing", "", "", 0},
		{"POST", "/v1/groups", "", `{"groupId":"` + strings.Repeat("x", 100) + `"}`, 1},
		{"GET", "/healthz", "", "", 0},
	} {
		f.Add(seed.method, seed.path, seed.query, []byte(seed.body), seed.auth)
	}
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte, auth uint8) {
		if !strings.HasPrefix(path, "/") || path == "/v1/ws" || strings.HasPrefix(path, "/v1/ws/") {
			return // the WebSocket endpoint has its own fuzzer
		}
		req := fuzzAdminRequest(method, path, query, body, auth, adminSig, userSig)
		if req == nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		res := w.Result()
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: no nosniff (%q)", method, path, got)
		}
		if !strings.HasPrefix(path, "/v1/") && path != "/healthz" {
			return // the web page's files
		}
		if method == http.MethodHead {
			return // no body
		}
		checkAdminJSON(t, method, path, res, w.Body.Bytes())
	})
}

// fuzzAdminRequest builds the fuzzer's request, authorised by auth%4 as
// nobody, the administrator, a user, or the body as a sig; nil when the
// input makes no request.
func fuzzAdminRequest(method, path, query string, body []byte, auth uint8, adminSig, userSig string) *http.Request {
	u, err := url.Parse("http://fuzz.test" + path)
	if err != nil || u.Path != path {
		return nil
	}
	u.RawQuery = query
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil
	}
	switch auth % 4 {
	case 1:
		req.Header.Set("Authorization", "Bearer "+adminSig)
	case 2:
		req.Header.Set("Authorization", "Bearer "+userSig)
	case 3:
		req.Header.Set("Authorization", "Bearer "+string(body))
	}
	return req
}

// checkAdminJSON checks an API answer: JSON, and below 400 valid JSON,
// else a JSON error with a code and a message.
func checkAdminJSON(t *testing.T, method, path string, res *http.Response, body []byte) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: status %d, Content-Type %q, body %q", method, path, res.StatusCode, ct, body)
	}
	if res.StatusCode < 400 {
		if !json.Valid(body) {
			t.Fatalf("%s %s: status %d, not JSON: %q", method, path, res.StatusCode, body)
		}
		return
	}
	var e httpError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code <= 0 || e.Error.Message == "" {
		t.Fatalf("%s %s: status %d, body %q: want a JSON error with a code", method, path, res.StatusCode, body)
	}
}
