package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

// The UI is plain HTML, CSS and JavaScript: no build step, no external
// resources, so it works on air-gapped hosts and under a strict CSP.
//
//go:embed ui
var uiFiles embed.FS

// NewUI serves the web UI at basePath/dashboard/. The page finds the API
// relative to its own URL, so it works under any basePath.
func NewUI(basePath string) http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	prefix := normalizeBase(basePath) + "/dashboard"
	return http.StripPrefix(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
}
