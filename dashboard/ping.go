package dashboard

import (
	"io"
	"net/http"
	"strconv"
)

// PingHandler answers health checks: 200 "OK" while serving, and
// terminatingStatus (503 when 0) once terminating reports true, so a load
// balancer stops sending traffic during the shutdown grace period. It
// answers GET and HEAD, wherever it is mounted (normally /ping).
func PingHandler(terminating func() bool, terminatingStatus int) http.Handler {
	if terminatingStatus == 0 {
		terminatingStatus = http.StatusServiceUnavailable
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		code := http.StatusOK
		if terminating != nil && terminating() {
			code = terminatingStatus
		}
		body := http.StatusText(code)
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		if r.Method == http.MethodGet {
			io.WriteString(w, body)
		}
	})
}
