package dashboard

import (
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/status"
)

// tcpMiddlewareSet is testSet with TCP middlewares used by its TCP router.
func tcpMiddlewareSet() *status.Set {
	s := testSet()
	s.TCPRouters["db@file"].Middlewares = []string{"office@file", "few@kubernetes"}
	s.TCPMiddlewares["office@file"] = &status.TCPMiddleware{
		TCPMiddleware: &dynamic.TCPMiddleware{IPAllowList: &dynamic.TCPIPAllowList{SourceRange: []string{"192.0.2.0/24"}}},
		Name:          "office@file", Provider: "file", Type: "ipallowlist", Status: status.Enabled, UsedBy: []string{"db@file"},
	}
	s.TCPMiddlewares["few@kubernetes"] = &status.TCPMiddleware{
		TCPMiddleware: &dynamic.TCPMiddleware{InFlightConn: &dynamic.TCPInFlightConn{Amount: 0}},
		Name:          "few@kubernetes", Provider: "kubernetes", Type: "inflightconn", Status: status.Disabled,
		Err: []string{"inFlightConn: amount is 0"},
	}
	return s
}

// /api/tcp/middlewares lists TCP middlewares in Traefik's shape, with the
// list parameters of the other lists; the overview and rawdata count and
// show them.
func TestTCPMiddlewares(t *testing.T) {
	srv := newServer(t, &fakeSource{set: tcpMiddlewareSet()}, "", false)
	var items []map[string]any
	getJSON(t, srv.URL+"/api/tcp/middlewares", &items)
	assertJSON(t, items, []any{
		map[string]any{"inFlightConn": map[string]any{}, "name": "few@kubernetes", "provider": "kubernetes", "type": "inflightconn",
			"status": "disabled", "error": []any{"inFlightConn: amount is 0"}},
		map[string]any{"ipAllowList": map[string]any{"sourceRange": []any{"192.0.2.0/24"}}, "name": "office@file", "provider": "file",
			"type": "ipallowlist", "status": "enabled", "usedBy": []any{"db@file"}},
	})
	getJSON(t, srv.URL+"/api/tcp/middlewares?status=enabled", &items)
	if got := names(items); len(got) != 1 || got[0] != "office@file" {
		t.Fatalf("status=enabled: %v", got)
	}
	getJSON(t, srv.URL+"/api/tcp/middlewares?sortBy=type&direction=desc", &items)
	if got := names(items); len(got) != 2 || got[0] != "office@file" {
		t.Fatalf("sortBy=type desc: %v", got)
	}
	var one map[string]any
	if resp := getJSON(t, srv.URL+"/api/tcp/middlewares/office%40file", &one); resp.StatusCode != 200 || one["name"] != "office@file" {
		t.Fatalf("one: %d %v", resp.StatusCode, one)
	}
	var e struct{ Message string }
	if resp := getJSON(t, srv.URL+"/api/tcp/middlewares/nope@file", &e); resp.StatusCode != 404 || e.Message != "middleware not found: nope@file" {
		t.Fatalf("missing: %d %q", resp.StatusCode, e.Message)
	}
	// TCP routers filter by middleware name, as in Traefik.
	getJSON(t, srv.URL+"/api/tcp/routers?middlewareName=office", &items)
	if got := names(items); len(got) != 1 || got[0] != "db@file" {
		t.Fatalf("tcp routers by middleware: %v", got)
	}

	var ov struct{ TCP map[string]any }
	getJSON(t, srv.URL+"/api/overview", &ov)
	assertJSON(t, ov.TCP["middlewares"], map[string]any{"total": 2.0, "warnings": 0.0, "errors": 1.0})

	var raw map[string]map[string]any
	getJSON(t, srv.URL+"/api/rawdata", &raw)
	assertJSON(t, raw["tcpMiddlewares"]["office@file"], map[string]any{
		"ipAllowList": map[string]any{"sourceRange": []any{"192.0.2.0/24"}}, "status": "enabled", "usedBy": []any{"db@file"},
	})
}
