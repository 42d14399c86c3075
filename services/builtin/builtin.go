// Package builtin provides the services that exist without configuration:
// noop@internal (answers 200 with no body, the target of redirect-only
// routers) and demo@internal (describes the request it received, so a fresh
// install answers something useful without any backend).
package builtin

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
)

// Noop answers 200 with an empty body.
var Noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// Demo writes a plain-text description of the request.
func Demo() http.Handler {
	host, _ := os.Hostname()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.WriteString("Hello from Guan.\n\n")
		b.WriteString("Hostname: " + host + "\n")
		ip, port, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			ip = r.RemoteAddr
		}
		b.WriteString("RemoteAddr: " + ip + ":" + port + "\n")
		b.WriteString(r.Method + " " + r.RequestURI + " " + r.Proto + "\n")
		b.WriteString("Host: " + r.Host + "\n")
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range r.Header[k] {
				b.WriteString(k + ": " + v + "\n")
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		if r.Method != http.MethodHead {
			_, _ = w.Write(b.Bytes())
		}
	})
}
