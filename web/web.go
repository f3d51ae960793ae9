// Package web holds termcall's browser client as static files: the
// JavaScript SDK under /sdk/ (the Web TUICallEngine API over termcall's
// WebSocket protocol and the browser's RTCPeerConnection, and the Web
// TUICallKit, a <tuicall-kit> Web Component with the Kit API), and the
// call page at /, built on the Kit. See docs/web.md.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
)

//go:embed static
var static embed.FS

// FS is the file tree served: index.html, app.js, app.css and under sdk/
// the engine (tuicall-engine.js) and the Kit (tuicall-kit.js, tuicall-kit.css).
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Handler serves FS with the security headers of SecurityHeaders and no
// public URL (connect-src 'self').
func Handler() http.Handler { return HandlerFor("") }

// HandlerFor serves FS: / is the page, /sdk/ the SDK. Files are served
// with "no-cache" so that a browser revalidates them after a server
// upgrade, and with the security headers of SecurityHeaders for publicURL
// (the server's configured public URL, or "").
func HandlerFor(publicURL string) http.Handler {
	files := http.FileServerFS(FS())
	connect := connectSrc(publicURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		setHeaders(w.Header(), connect)
		files.ServeHTTP(w, r)
	})
}

// SecurityHeaders sets the headers the page and the SDK are served with:
// a Content-Security-Policy that allows only this origin's scripts, styles
// and fetches, WebSockets to this origin, and blob:/self media; no framing;
// no MIME sniffing; no referrer; camera, microphone and speaker selection
// for this origin only.
//
// The policy never comes from the request (its Host header can be forged).
// connect-src is 'self' (which covers ws: and wss: to the page's own host
// in current browsers), plus, when publicURL is set (like
// https://call.example.com), that host's https:/wss: (or http:/ws:)
// origins, for pages served under another name than the one clients use.
// A publicURL that does not parse as http(s)://host[:port] is left out.
func SecurityHeaders(h http.Header, publicURL string) { setHeaders(h, connectSrc(publicURL)) }

func connectSrc(publicURL string) string {
	connect := "'self'"
	if u, err := url.Parse(publicURL); err == nil && u.User == nil && validHost(u.Host) {
		switch u.Scheme {
		case "https":
			connect += " https://" + u.Host + " wss://" + u.Host
		case "http":
			connect += " http://" + u.Host + " ws://" + u.Host
		}
	}
	return connect
}

func setHeaders(h http.Header, connect string) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src "+connect+"; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), speaker-selection=(self), display-capture=(), geolocation=(), payment=(), usb=()")
}

// validHost accepts host[:port] made of letters, digits, '.', '-', ':',
// '[' and ']' (IPv6 literals).
func validHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}
