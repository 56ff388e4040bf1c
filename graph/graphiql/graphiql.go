// Package graphiql serves GraphiQL (3.8.3, with React 18.3.1) from assets
// embedded in the binary, so that `amparo dev` offers it offline: the page
// loads nothing from a CDN. The bundles are npm's (graphiql, react,
// react-dom; MIT, assets/LICENSES.txt), kept gzipped; update.sh refreshes
// them.
package graphiql

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// Prefix is where the assets are served; the page refers to them under it.
const Prefix = "/graphiql/"

// Page serves the GraphiQL page itself (mount it at GET /graphql).
func Page() http.Handler {
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		// Only this server's own scripts, and only to this server.
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(page)
	})
}

// Assets serves the scripts and styles under Prefix (mount it at
// GET /graphiql/). Browsers that accept gzip get the stored bytes as they
// are; others get them decompressed.
func Assets() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "" || strings.Contains(name, "/") || name == "index.html" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=86400")
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			h.Set("Content-Type", ct)
		}
		if b, err := fs.ReadFile(sub, name); err == nil {
			_, _ = w.Write(b)
			return
		}
		gz, err := fs.ReadFile(sub, name+".gz")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz)
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			http.Error(w, "corrupt asset", http.StatusInternalServerError)
			return
		}
		_, _ = io.Copy(w, zr)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
