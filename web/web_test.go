package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/termcall/termcall/web"
)

// connectSrc returns the connect-src directive of a page's CSP.
func connectSrc(t *testing.T, h http.Handler, host string) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	if host != "" {
		req.Host = host
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no nosniff: %v", resp.Header)
	}
	for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "connect-src ") {
			return d
		}
	}
	t.Fatalf("no connect-src in %q", resp.Header.Get("Content-Security-Policy"))
	return ""
}

// TestCSPFromConfiguration: connect-src comes from the public URL, never
// from the request's Host header.
func TestCSPFromConfiguration(t *testing.T) {
	for _, tc := range []struct {
		public, host, want string
	}{
		{"", "", "connect-src 'self'"},
		{"", "evil.example", "connect-src 'self'"},
		{"", "evil.example'; script-src *", "connect-src 'self'"},
		{"https://call.example.com", "", "connect-src 'self' https://call.example.com wss://call.example.com"},
		{"https://call.example.com", "evil.example", "connect-src 'self' https://call.example.com wss://call.example.com"},
		{"http://10.0.0.5:7480", "", "connect-src 'self' http://10.0.0.5:7480 ws://10.0.0.5:7480"},
		{"https://call.example.com/path/", "", "connect-src 'self' https://call.example.com wss://call.example.com"},
		{"ftp://call.example.com", "", "connect-src 'self'"},
		{"https://bad host", "", "connect-src 'self'"},
	} {
		if got := connectSrc(t, web.HandlerFor(tc.public), tc.host); got != tc.want {
			t.Errorf("public %q, Host %q: %q, want %q", tc.public, tc.host, got, tc.want)
		}
	}
	if got := connectSrc(t, web.Handler(), "x.example"); got != "connect-src 'self'" {
		t.Errorf("Handler(): %q", got)
	}
}
