package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestDemoRouteAndNotFound(t *testing.T) {
	g := startGateway(t, map[string]string{"demo.toml": `
[http.routers.demo]
  rule = "Host(` + "`demo.localhost`" + `)"
  service = "demo@internal"
`}, gatewayOpts{})
	code, body, _ := get(t, nil, g.url("/hello"), map[string]string{"Host": "demo.localhost"})
	if code != 200 || !strings.Contains(body, "GET /hello") {
		t.Fatalf("demo route: %d %q", code, body)
	}
	code, body, _ = get(t, nil, g.url("/hello"), map[string]string{"Host": "other.localhost"})
	if code != 404 || body != "404 page not found\n" {
		t.Fatalf("no route: want 404, got %d %q", code, body)
	}
}

func TestMatchersAndPriorities(t *testing.T) {
	a, _ := backend(t, "a")
	b, _ := backend(t, "b")
	c, _ := backend(t, "c")
	d, _ := backend(t, "d")
	cfg := fmt.Sprintf(`
http:
  routers:
    host-only:
      rule: "Host(`+"`example.com`"+`)"
      service: a
    host-and-api:
      rule: "Host(`+"`example.com`"+`) && PathPrefix(`+"`/api`"+`)"
      service: b
    method-header:
      rule: "Host(`+"`example.com`"+`) && Method(`+"`POST`"+`) && Header(`+"`X-Mode`"+`, `+"`fast`"+`)"
      service: c
    pinned-low:
      rule: 'HostRegexp(`+"`^.+\\.example\\.org$`"+`) || Query(`+"`debug`"+`, `+"`1`"+`)'
      priority: 1
      service: d
    client-ip:
      rule: "ClientIP(`+"`127.0.0.0/8`"+`) && Path(`+"`/ip`"+`)"
      service: a
    header-regexp:
      rule: "HeaderRegexp(`+"`X-Ver`"+`, `+"`^v[0-9]+$`"+`) && PathPrefix(`+"`/versioned`"+`)"
      service: b
    query-regexp:
      rule: "QueryRegexp(`+"`id`"+`, `+"`^[0-9]+$`"+`) && Path(`+"`/items`"+`)"
      service: c
    not-rule:
      rule: "Host(`+"`neg.test`"+`) && !PathRegexp(`+"`^/private`"+`)"
      service: c
  services:
    a: {loadBalancer: {servers: [{url: "%s"}]}}
    b: {loadBalancer: {servers: [{url: "%s"}]}}
    c: {loadBalancer: {servers: [{url: "%s"}]}}
    d: {loadBalancer: {servers: [{url: "%s"}]}}
`, a, b, c, d)
	g := startGateway(t, map[string]string{"r.yaml": cfg}, gatewayOpts{})
	cases := []struct {
		method, path string
		hdr          map[string]string
		want         string
	}{
		{"GET", "/", map[string]string{"Host": "example.com"}, "a"},
		{"GET", "/api/x", map[string]string{"Host": "example.com"}, "b"}, // longer rule wins
		{"POST", "/api/x", map[string]string{"Host": "example.com", "X-Mode": "fast"}, "c"},
		{"GET", "/", map[string]string{"Host": "www.example.org"}, "d"},
		{"GET", "/?debug=1", map[string]string{"Host": "example.com"}, "a"}, // priority 1 loses to host-only
		{"GET", "/?debug=1", map[string]string{"Host": "nothing.test"}, "d"},
		{"GET", "/public", map[string]string{"Host": "neg.test"}, "c"},
		{"GET", "/private", map[string]string{"Host": "neg.test"}, "404"},
		{"GET", "/ip", map[string]string{"Host": "any.test"}, "a"},
		{"GET", "/ip/more", map[string]string{"Host": "any.test"}, "404"}, // Path is exact
		{"GET", "/versioned/x", map[string]string{"Host": "any.test", "X-Ver": "v2"}, "b"},
		{"GET", "/versioned/x", map[string]string{"Host": "any.test", "X-Ver": "beta"}, "404"},
		{"GET", "/items?id=42", map[string]string{"Host": "any.test"}, "c"},
		{"GET", "/items?id=abc", map[string]string{"Host": "any.test"}, "404"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, g.url(tc.path), nil)
		for k, v := range tc.hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Backend")
		if resp.StatusCode == 404 {
			got = "404"
		}
		if got != tc.want {
			t.Errorf("%s %s %v: routed to %q, want %q", tc.method, tc.path, tc.hdr, got, tc.want)
		}
	}
}

// TestPathSanitized: dot segments cannot walk around a path rule; the
// router and the upstream both see the cleaned path. With
// http.encodedCharacters.allowEncodedSlash = false, a path holding %2F is
// answered 400 before routing.
func TestPathSanitized(t *testing.T) {
	pub, _ := backend(t, "public")
	adm, _ := backend(t, "admin")
	g := startGateway(t, map[string]string{"r.yaml": fmt.Sprintf(`
http:
  routers:
    public:
      rule: "PathPrefix(`+"`/public`"+`)"
      service: public
    admin:
      rule: "PathPrefix(`+"`/admin`"+`) && Header(`+"`X-Admin`"+`, `+"`yes`"+`)"
      service: admin
  services:
    public: {loadBalancer: {servers: [{url: "%s"}]}}
    admin: {loadBalancer: {servers: [{url: "%s"}]}}
`, pub, adm)}, gatewayOpts{})
	for path, want := range map[string]string{
		"/public/../admin/x":     "404",
		"/public/%2e%2e/admin/x": "404",
		"/public//a/./b/":        "200 public GET /public/a/b/",
		"/x/../public/y?q=1":     "200 public GET /public/y?q=1",
		// "..;" is a dot segment for servlet containers: cleaned too.
		"/public/..;/admin/x":           "404",
		"/public/b/..;jsessionid=1/a/x": "200 public GET /public/a/x",
		// A dot segment behind an encoded separator would let an upstream
		// that decodes before resolving reach /admin: refused by default.
		"/public/..%2fadmin/x":        "400",
		"/public/..%2Fadmin/x":        "400",
		"/public/a%5c..%5c..%5cadmin": "400",
		// An encoded slash as data (GitLab project paths) is forwarded.
		"/public/group%2Fproject": "200 public GET /public/group%2Fproject",
		"/public/a%20b":           "200 public GET /public/a%20b",
	} {
		code, body, _ := get(t, nil, g.url(path), nil)
		if got := fmt.Sprint(code); code == 200 {
			got += " " + body
			if got != want {
				t.Errorf("%s: got %q, want %q", path, got, want)
			}
		} else if got != want {
			t.Errorf("%s: got %d %q, want %s", path, code, body, want)
		}
	}
	code, body, _ := get(t, nil, g.url("/public/../admin/x"), map[string]string{"X-Admin": "yes"})
	if code != 200 || body != "admin GET /admin/x" {
		t.Errorf("admin through a cleaned path: %d %q", code, body)
	}
	code, body, _ = get(t, nil, g.url("/public/..;/admin/x"), map[string]string{"X-Admin": "yes"})
	if code != 200 || body != "admin GET /admin/x" {
		t.Errorf("admin through a cleaned ..; path: %d %q", code, body)
	}
}
