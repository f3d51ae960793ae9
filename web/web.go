// Package web holds termcall's browser client as static files: the
// JavaScript SDK (the Web TUICallEngine API over termcall's WebSocket
// protocol and the browser's RTCPeerConnection) under /sdk/, and the call
// page (the Kit layer) at /. See docs/web.md.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// FS is the file tree served: index.html, app.js, app.css and
// sdk/tuicall-engine.js.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Handler serves FS: / is the page, /sdk/ the SDK. Files are served with
// "no-cache" so that a browser revalidates them after a server upgrade.
func Handler() http.Handler {
	files := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
