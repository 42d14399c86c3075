package dashboard

import (
	"expvar"
	"net/http"
	"net/http/pprof"
	"strings"
)

// WithDebug adds Traefik's api.debug endpoints to the API handler:
// <basePath>/debug/vars (expvar) and <basePath>/debug/pprof/ (CPU, heap,
// goroutine… profiles). They expose the process' internals and cost CPU
// while a profile runs: enable them only on a private entrypoint.
func WithDebug(api http.Handler, basePath string) http.Handler {
	base := normalizeBase(basePath)
	mux := http.NewServeMux()
	mux.Handle("GET "+base+"/debug/vars", expvar.Handler())
	prefix := base + "/debug/pprof/"
	mux.HandleFunc("GET "+prefix+"cmdline", pprof.Cmdline)
	mux.HandleFunc("GET "+prefix+"profile", pprof.Profile)
	mux.HandleFunc("GET "+prefix+"symbol", pprof.Symbol)
	mux.HandleFunc("GET "+prefix+"trace", pprof.Trace)
	// pprof.Index serves the named profiles (heap, goroutine…) and
	// expects them under /debug/pprof/: give it the path without base.
	mux.Handle("GET "+prefix, http.StripPrefix(base, http.HandlerFunc(pprof.Index)))
	mux.Handle("/", api)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, base+"/debug/") {
			mux.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
