//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package entrypoints

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/static"
)

// With reusePort, two entrypoints bind the same address and both serve;
// without it, the second one fails as before.
func TestReusePort(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	a, err := New(Options{Name: "a", Config: &static.EntryPoint{Address: "127.0.0.1:0", ReusePort: true}, Handler: named("a")})
	if err != nil {
		t.Fatal(err)
	}
	stop := func(e *EntryPoint) { _ = e.Shutdown(context.Background()) }
	defer stop(a)
	addr := a.Addr().String()

	if _, err := New(Options{Name: "plain", Config: &static.EntryPoint{Address: addr}, Handler: named("plain")}); err == nil ||
		!strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("without reusePort: err = %v, want address already in use", err)
	}

	b, err := New(Options{Name: "b", Config: &static.EntryPoint{Address: addr, ReusePort: true}, Handler: named("b")})
	if err != nil {
		t.Fatalf("second listener with reusePort: %v", err)
	}
	defer stop(b)
	if b.Addr().String() != addr {
		t.Fatalf("b listens on %s, want %s", b.Addr(), addr)
	}
	for _, e := range []*EntryPoint{a, b} {
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Close a: b alone still accepts on the shared port.
	stop(a)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://%s/", addr))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "b" {
		t.Fatalf("got %q from the shared port after closing a, want b", body)
	}
}
