package entrypoints

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/entrypoints/forwarded"
)

func TestConsumeConnectionOptions(t *testing.T) {
	h := http.Header{
		"Connection":  {"X-Real-Ip, keep-alive", "Upgrade, x-auth-user"},
		"X-Real-Ip":   {"1.2.3.4"},
		"X-Auth-User": {"mallory"},
		"Upgrade":     {"websocket"},
		"X-Kept":      {"v"},
	}
	consumeConnectionOptions(h, nil)
	if _, ok := h["X-Real-Ip"]; ok {
		t.Error("header named in Connection kept")
	}
	if _, ok := h["X-Auth-User"]; ok {
		t.Error("lower-case header named in Connection kept")
	}
	if got := h.Get("Connection"); got != "keep-alive, Upgrade" {
		t.Errorf("Connection = %q, want only its options", got)
	}
	if h.Get("Upgrade") != "websocket" || h.Get("X-Kept") != "v" {
		t.Error("unrelated headers lost")
	}
	h = http.Header{"Connection": {"X-Foo"}, "X-Foo": {"1"}}
	consumeConnectionOptions(h, nil)
	if len(h) != 0 {
		t.Errorf("left %v", h)
	}
}

// forwardedHeaders.connection: the listed headers named by Connection stay
// (and stay named), except the forwarded headers the gateway manages.
func TestConsumeConnectionOptionsKeep(t *testing.T) {
	h := http.Header{
		"Connection":        {"X-Trace-Id, X-Drop, x-forwarded-proto, keep-alive"},
		"X-Trace-Id":        {"abc"},
		"X-Drop":            {"1"},
		"X-Forwarded-Proto": {"https"},
	}
	keep := map[string]bool{"X-Trace-Id": true, "X-Forwarded-Proto": true}
	consumeConnectionOptions(h, keep)
	if h.Get("X-Trace-Id") != "abc" {
		t.Error("allowed header removed")
	}
	if _, ok := h["X-Drop"]; ok {
		t.Error("header not in the list kept")
	}
	if _, ok := h["X-Forwarded-Proto"]; ok {
		t.Error("client's X-Forwarded-Proto kept")
	}
	if got := h.Get("Connection"); got != "X-Trace-Id, keep-alive" {
		t.Errorf("Connection = %q", got)
	}
}

// Query semicolons separate parameters like "&", as in Traefik, unless
// http.encodeQuerySemicolons sends them on as %3B.
func TestQuerySemicolons(t *testing.T) {
	fwd, err := forwarded.New(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		encode    bool
		query     string
		wantRaw   string
		wantParam string // value of "a"
	}{
		{false, "a=1;b=2", "a=1&b=2", "1"},
		{true, "a=1;b=2", "a=1%3Bb=2", "1;b=2"},
		{false, "a=1&b=2", "a=1&b=2", "1"},
		{true, "a=x%3By", "a=x%3By", "x;y"},
	} {
		var raw, a string
		h := &entryHandler{name: "web", fwd: fwd, encodeSemicolons: tt.encode,
			next: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				raw, a = r.URL.RawQuery, r.URL.Query().Get("a")
			})}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p?"+tt.query, nil))
		if raw != tt.wantRaw || a != tt.wantParam {
			t.Errorf("encode=%v %q: upstream query %q (a=%q), want %q (a=%q)", tt.encode, tt.query, raw, a, tt.wantRaw, tt.wantParam)
		}
	}
}
