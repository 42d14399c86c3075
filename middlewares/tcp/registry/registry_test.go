package registry

import (
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/statestore"
)

const examplesDir = "../../../examples/reference/tcp-middlewares"

// TestReferenceExamples builds every TCP middleware of every documented
// example the way a configuration build does. Each file is named after the
// kind it documents (ipallowlist.yaml defines ipAllowList middlewares).
func TestReferenceExamples(t *testing.T) {
	mwtest.ReferenceExamples(t, examplesDir, func(t *testing.T, wantKind string, cfg *dynamic.Configuration, build *statestore.Build) {
		if cfg.TCP == nil || len(cfg.TCP.Middlewares) == 0 {
			t.Fatal("example defines no TCP middleware")
		}
		for name, m := range cfg.TCP.Middlewares {
			if got := Kind(m); got != wantKind {
				t.Fatalf("middleware %q is a %q middleware, the file documents %q", name, got, wantKind)
			}
			if d := Deprecation(m); d != "" {
				t.Fatalf("middleware %q: %s", name, d)
			}
			ctor, err := New(middlewares.Env{Name: name + "@file", Store: build}, m)
			if err != nil {
				t.Fatalf("middleware %q: %v", name, err)
			}
			if _, err := ctor(mwtest.NewEcho()); err != nil {
				t.Fatalf("middleware %q: wrapping a handler: %v", name, err)
			}
		}
	})
}

func TestKinds(t *testing.T) {
	ranges := &dynamic.TCPIPAllowList{SourceRange: []string{"127.0.0.1"}}
	tests := []struct {
		name       string
		m          *dynamic.TCPMiddleware
		kind, err  string
		deprecated bool
	}{
		{name: "ipAllowList", m: &dynamic.TCPMiddleware{IPAllowList: ranges}, kind: "ipallowlist"},
		{name: "inFlightConn", m: &dynamic.TCPMiddleware{InFlightConn: &dynamic.TCPInFlightConn{Amount: 1}}, kind: "inflightconn"},
		{name: "ipWhiteList, Traefik's deprecated name", m: &dynamic.TCPMiddleware{IPWhiteList: ranges}, kind: "ipwhitelist", deprecated: true},
		{name: "none", m: &dynamic.TCPMiddleware{}, err: "no TCP middleware type is set: add one of inFlightConn, ipAllowList"},
		{name: "two", m: &dynamic.TCPMiddleware{IPAllowList: ranges, InFlightConn: &dynamic.TCPInFlightConn{Amount: 1}},
			kind: "inflightconn", err: "exactly one TCP middleware type must be set, found 2"},
		{name: "bad options", m: &dynamic.TCPMiddleware{InFlightConn: &dynamic.TCPInFlightConn{}}, kind: "inflightconn", err: "inFlightConn: amount is 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Kind(tt.m); got != tt.kind {
				t.Errorf("Kind = %q, want %q", got, tt.kind)
			}
			if d := Deprecation(tt.m); (d != "") != tt.deprecated || tt.deprecated && d != "ipWhiteList is deprecated: rename it ipAllowList (same options)" {
				t.Errorf("Deprecation = %q", d)
			}
			_, err := New(middlewares.Env{Name: "m@file"}, tt.m)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("New error %v, want %q", err, tt.err)
			}
		})
	}
}

// The deprecated ipWhiteList filters exactly like ipAllowList.
func TestIPWhiteListFilters(t *testing.T) {
	ctor, err := New(middlewares.Env{Name: "old@file"}, &dynamic.TCPMiddleware{IPWhiteList: &dynamic.TCPIPAllowList{SourceRange: []string{"127.0.0.1/32"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ctor(mwtest.NewEcho())
	if err != nil {
		t.Fatal(err)
	}
	addr := mwtest.ServeTCP(t, h)
	mwtest.ExpectServed(t, mwtest.DialFrom(t, addr, "127.0.0.1"))
	mwtest.ExpectClosed(t, mwtest.DialFrom(t, addr, "127.0.0.3"))
}
