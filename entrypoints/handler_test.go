package entrypoints

import (
	"net/http"
	"testing"
)

func TestConsumeConnectionOptions(t *testing.T) {
	h := http.Header{
		"Connection":  {"X-Real-Ip, keep-alive", "Upgrade, x-auth-user"},
		"X-Real-Ip":   {"1.2.3.4"},
		"X-Auth-User": {"mallory"},
		"Upgrade":     {"websocket"},
		"X-Kept":      {"v"},
	}
	consumeConnectionOptions(h)
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
	consumeConnectionOptions(h)
	if len(h) != 0 {
		t.Errorf("left %v", h)
	}
}
