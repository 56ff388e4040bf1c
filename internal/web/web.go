// Package web serves the web console: the single-page app built from web/
// by Vite into static/dist and embedded in the binary, with no request to
// any other host.
//
// A clean clone has no build (static/dist is not committed), so the embedded
// directory always holds the committed static/notbuilt.html, and the handler
// serves that page, with 503, until the app has been built (make web).
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:static
var embedded embed.FS

// Files is the embedded console: the build in dist/ when there is one, and
// notbuilt.html.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // the directive above guarantees static/ exists
	}
	return sub
}

// Options are what the console's pages may reach besides their own origin.
type Options struct {
	// ConnectSrc are further origins the app may fetch from (the OIDC
	// issuer, for sign-in in production).
	ConnectSrc []string
}

// Handler serves the console from fsys (Files() in the binary): files of
// dist/ as they are, hashed assets cached for a year, and index.html for
// every other path, so that client routes such as /seguimiento load the
// app. Without a build it answers notbuilt.html with 503. Methods other
// than GET and HEAD get 405.
func Handler(fsys fs.FS, opt Options) http.Handler {
	index, err := fs.ReadFile(fsys, "dist/index.html")
	built := err == nil
	if !built {
		index, _ = fs.ReadFile(fsys, "notbuilt.html")
	}
	dist, _ := fs.Sub(fsys, "dist")
	files := http.FileServerFS(dist)
	csp := func(r *http.Request) string {
		return "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
			"connect-src 'self'" + sockets(r.Host) + prefixed(opt.ConnectSrc) + "; worker-src 'self'; frame-ancestors 'self'; " +
			"base-uri 'none'; form-action 'self'; object-src 'none'"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp(r))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "SAMEORIGIN") // the OIDC silent renewal frame is the console's own page
		if !built {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(index)
			return
		}
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if st, err := fs.Stat(dist, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					// sw.js and the manifest must be re-checked on every load,
					// or a new release would never reach the device.
					h.Set("Cache-Control", "no-cache")
				}
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(p, "assets/") || path.Ext(p) != "" {
				http.NotFound(w, r)
				return
			}
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
}

// sockets is the websocket origin of the page's own host (ws: and wss:, as
// the alerts bell connects to /graphql there): not every browser counts it
// as 'self'. A Host that is not a plain host[:port] adds nothing.
func sockets(host string) string {
	if host == "" || strings.IndexFunc(host, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c))
	}) >= 0 {
		return ""
	}
	return " ws://" + host + " wss://" + host
}

func prefixed(origins []string) string {
	var b strings.Builder
	for _, o := range origins {
		b.WriteString(" " + o)
	}
	return b.String()
}
