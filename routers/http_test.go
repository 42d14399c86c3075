package routers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// req builds a request; opts are "Header: value" lines, "remote=ip:port" or
// "host=..." overrides.
func req(method, target string, opts ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for _, o := range opts {
		switch {
		case strings.HasPrefix(o, "remote="):
			r.RemoteAddr = strings.TrimPrefix(o, "remote=")
		case strings.HasPrefix(o, "host="):
			r.Host = strings.TrimPrefix(o, "host=")
		default:
			k, v, _ := strings.Cut(o, ": ")
			r.Header.Add(k, v)
		}
	}
	return r
}

func TestMatchV3(t *testing.T) {
	tests := []struct {
		rule string
		req  *http.Request
		want bool
	}{
		// Host: case-insensitive, port ignored, trailing dot on either side.
		{"Host(`example.com`)", req("GET", "http://example.com/"), true},
		{"Host(`example.com`)", req("GET", "http://EXAMPLE.com:8080/"), true},
		{"Host(`Example.COM`)", req("GET", "http://example.com/"), true},
		{"Host(`example.com`)", req("GET", "http://example.com./"), true},
		{"Host(`example.com.`)", req("GET", "http://example.com/"), true},
		{"Host(`example.com`)", req("GET", "http://www.example.com/"), false},
		{"Host(`example.com`)", req("GET", "/", "host="), false},
		{"Host(`::1`)", req("GET", "/", "host=[::1]:80"), true},
		{"Host(`::1`)", req("GET", "/", "host=[::1]"), true},
		{"Host(`10.0.0.1`)", req("GET", "/", "host=10.0.0.1:443"), true},
		// HostRegexp: Go regexp on the lowercase host without port.
		{"HostRegexp(`^[a-z]+\\.example\\.com$`)", req("GET", "http://API.example.com:81/"), true},
		{"HostRegexp(`^[a-z]+\\.example\\.com$`)", req("GET", "http://a1.example.com/"), false},
		{"HostRegexp(`.+`)", req("GET", "http://x/"), true},
		// Path family on the routing path.
		{"Path(`/foo`)", req("GET", "/foo"), true},
		{"Path(`/foo`)", req("GET", "/foo/"), false},
		{"Path(`/foo`)", req("GET", "/foo?x=1"), true},
		{"Path(`/a b`)", req("GET", "/a%20b"), true},
		{"Path(`/a/b`)", req("GET", "/a%2Fb"), false},
		{"Path(`/a%2Fb`)", req("GET", "/a%2fb"), true},
		{"PathPrefix(`/api`)", req("GET", "/api/v1"), true},
		{"PathPrefix(`/api`)", req("GET", "/apiary"), true},
		{"PathPrefix(`/api/`)", req("GET", "/api"), false},
		{"PathRegexp(`^/user/[0-9]+$`)", req("GET", "/user/42"), true},
		{"PathRegexp(`^/user/[0-9]+$`)", req("GET", "/user/x"), false},
		{"PathRegexp(`\\.css$`)", req("GET", "/s/site.css"), true},
		// Method.
		{"Method(`GET`)", req("GET", "/"), true},
		{"Method(`get`)", req("GET", "/"), true},
		{"Method(`POST`)", req("GET", "/"), false},
		// Header: exact among the values, key case-insensitive.
		{"Header(`X-Env`, `prod`)", req("GET", "/", "X-Env: dev", "X-Env: prod"), true},
		{"Header(`x-env`, `prod`)", req("GET", "/", "X-Env: prod"), true},
		{"Header(`X-Env`, `prod`)", req("GET", "/", "X-Env: production"), false},
		{"Header(`X-Env`, `prod`)", req("GET", "/"), false},
		{"HeaderRegexp(`X-Env`, `^pro`)", req("GET", "/", "X-Env: production"), true},
		{"HeaderRegexp(`X-Env`, `^pro`)", req("GET", "/", "X-Env: dev"), false},
		// Query.
		{"Query(`mobile`, `true`)", req("GET", "/?mobile=true"), true},
		{"Query(`mobile`, `true`)", req("GET", "/?a=1&mobile=false&mobile=true"), true},
		{"Query(`mobile`, `true`)", req("GET", "/?mobile=yes"), false},
		{"Query(`q`, `a b`)", req("GET", "/?q=a+b"), true},
		{"Query(`q`, `a&b`)", req("GET", "/?q=a%26b"), true},
		{"Query(`debug`)", req("GET", "/?debug"), true},
		{"Query(`debug`)", req("GET", "/?debug="), true},
		{"Query(`debug`)", req("GET", "/?debug=1"), false},
		{"Query(`debug`)", req("GET", "/"), false},
		{"QueryRegexp(`id`, `^[0-9]+$`)", req("GET", "/?id=12"), true},
		{"QueryRegexp(`id`, `^[0-9]+$`)", req("GET", "/?id=x"), false},
		{"QueryRegexp(`id`, `.*`)", req("GET", "/?id=anything"), true},
		// ClientIP on the peer address only.
		{"ClientIP(`10.0.0.0/8`)", req("GET", "/", "remote=10.1.2.3:5555"), true},
		{"ClientIP(`10.0.0.0/8`)", req("GET", "/", "remote=11.1.2.3:5555"), false},
		{"ClientIP(`10.0.0.0/8`)", req("GET", "/", "remote=11.1.2.3:5555", "X-Forwarded-For: 10.0.0.1"), false},
		{"ClientIP(`10.1.2.3`)", req("GET", "/", "remote=10.1.2.3:1"), true},
		{"ClientIP(`10.0.0.0/8`)", req("GET", "/", "remote=[::ffff:10.0.0.9]:1"), true},
		{"ClientIP(`2001:db8::/32`)", req("GET", "/", "remote=[2001:db8::5]:443"), true},
		{"ClientIP(`2001:db8::/32`)", req("GET", "/", "remote=10.0.0.1:443"), false},
		{"ClientIP(`10.0.0.0/8`)", req("GET", "/", "remote=garbage"), false},
		// Operators and precedence: && binds tighter than ||.
		{"Host(`a`) || Host(`b`) && Path(`/x`)", req("GET", "http://a/y"), true},
		{"(Host(`a`) || Host(`b`)) && Path(`/x`)", req("GET", "http://a/y"), false},
		{"Host(`a`) || Host(`b`) && Path(`/x`)", req("GET", "http://b/y"), false},
		{"!Host(`a`)", req("GET", "http://a/"), false},
		{"!Host(`a`)", req("GET", "http://b/"), true},
		{"!!Host(`a`)", req("GET", "http://a/"), true},
		{"!(Host(`a`) && Path(`/x`))", req("GET", "http://a/y"), true},
		{"!Path(`/x`) && Host(`a`)", req("GET", "http://a/y"), true},
		{"Host(`a`) && !PathPrefix(`/admin`)", req("GET", "http://a/admin/x"), false},
		// Quoting: double quotes use Go escapes.
		{`Path("/a\"b")`, req("GET", "/a%22b"), true},
		{`Header("X-T", "tab\there")`, req("GET", "/", "X-T: tab\there"), true},
		{"Header(`X-T`, `tab\\there`)", req("GET", "/", `X-T: tab\there`), true},
	}
	for _, tt := range tests {
		r, err := ParseHTTP(tt.rule, "")
		if err != nil {
			t.Errorf("ParseHTTP(%s): %v", tt.rule, err)
			continue
		}
		if got := r.Match(tt.req); got != tt.want {
			t.Errorf("%s on %s %s%s (remote %s): got %v, want %v", tt.rule, tt.req.Method, tt.req.Host, tt.req.URL.RequestURI(), tt.req.RemoteAddr, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		rule, syntax string
		col          int
		msg          string
	}{
		{"Host(`a`) && Hots(`b`)", "", 14, `unknown matcher "Hots" (did you mean "Host"?)`},
		{"host(`a`)", "", 1, `unknown matcher "host" (did you mean "Host"?)`},
		{"Frobnicate(`a`)", "", 1, `unknown matcher "Frobnicate"`},
		{"Headers(`a`, `b`)", "", 1, `unknown matcher "Headers" (v2 syntax`},
		{"Host(`a`, `b`)", "", 1, "Host takes exactly 1 argument, got 2 (v3 takes one host per Host()"},
		{"Header(`a`)", "", 1, "Header takes exactly 2 arguments, got 1"},
		{"Query(`a`, `b`, `c`)", "", 1, "Query takes 1 or 2 arguments, got 3"},
		{"Host()", "", 1, "Host takes exactly 1 argument, got 0"},
		{"Path(`foo`)", "", 6, `Path: path "foo" must start with "/"`},
		{"PathRegexp(`(`)", "", 12, "PathRegexp: invalid regexp: error parsing regexp: missing closing )"},
		{"Host(`a`) && HeaderRegexp(`k`, `[`)", "", 32, "HeaderRegexp: invalid regexp"},
		{"ClientIP(`10.0.0.0/33`)", "", 10, `ClientIP: "10.0.0.0/33" is not a valid CIDR`},
		{"ClientIP(`not-an-ip`)", "", 10, `is not a valid IP address or CIDR`},
		{"Host(`ünï.com`)", "", 6, "non-ASCII"},
		{"Host(``)", "", 6, "Host: empty value"},
		{"Host(`a`", "", 9, `expected "," or ")" in Host(...), got end of rule`},
		{"Host(`a) && Path(`/`)", "", 19, `unexpected character '/'`},
		{"Host(`a", "", 6, "unterminated string: missing closing backtick"},
		{`Host("a`, "", 6, "unterminated string: missing closing double quote"},
		{`Host("\q")`, "", 6, "invalid escape"},
		{"Host('a')", "", 6, "single quotes are not allowed"},
		{"Host(`a`) & Path(`/`)", "", 11, `unexpected "&": use "&&"`},
		{"Host(`a`) Path(`/`)", "", 11, `unexpected "Path" after a complete expression`},
		{"(Host(`a`)", "", 11, `expected ")" to close "(" at column 1`},
		{"Host(`a`) && ", "", 14, "expected a matcher"},
		{"", "", 1, "empty rule"},
		{"   ", "", 1, "empty rule"},
		{"Host", "", 5, `expected "(" after matcher "Host"`},
		{"`a`", "", 1, "unexpected string"},
		{"Host(`a`) && ünï", "", 14, "unexpected character 'ü'"},
		{"Path(`/ü`) && Hots(`b`)", "", 15, "unknown matcher"}, // columns count characters
		{"Host(Path(`/`))", "", 6, "expected a quoted value in Host(...)"},
		{strings.Repeat("(", 300) + "Host(`a`)" + strings.Repeat(")", 300), "", 258, "nests deeper"},
		// v2 specifics.
		{"Header(`a`, `b`)", "v2", 1, `unknown matcher "Header" (v3 syntax`},
		{"Path(`/{id:[0-9]+`)", "v2", 6, "Path: invalid template"},
		{"Query(`novalue`)", "v2", 7, "must be key=value"},
	}
	for _, tt := range tests {
		_, err := ParseHTTP(tt.rule, tt.syntax)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseHTTP(%q): got %v, want a *ParseError", tt.rule, err)
			continue
		}
		if pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("ParseHTTP(%q):\n got column %d: %s\nwant column %d: ...%s...", tt.rule, pe.Col, pe.Msg, tt.col, tt.msg)
		}
	}
}

func TestParseErrorFormat(t *testing.T) {
	_, err := ParseHTTP("Host(`a`) && Hots(`b`)", "")
	want := `column 14: unknown matcher "Hots" (did you mean "Host"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if _, err := ParseHTTP("Host(`a`)", "v4"); err == nil || !strings.Contains(err.Error(), `unknown ruleSyntax "v4"`) {
		t.Fatalf("bad syntax: got %v", err)
	}
}

func TestHosts(t *testing.T) {
	tests := []struct {
		rule  string
		hosts []string
		only  bool
	}{
		{"Host(`a`) && Path(`/x`)", []string{"a"}, true},
		{"Host(`a`) || Host(`b`)", []string{"a", "b"}, true},
		{"Host(`A.example.COM.`)", []string{"a.example.com"}, true},
		{"PathPrefix(`/`)", nil, false},
		{"Host(`a`) || Path(`/`)", nil, false},
		{"!Host(`a`)", nil, false},
		{"HostRegexp(`^a$`)", nil, false},
		{"Host(`a`) && (Host(`a`) || Host(`b`))", []string{"a"}, true},
		{"Host(`a`) && Host(`b`)", []string{}, true},
		{"(Host(`a`) || Host(`b`)) && Method(`GET`) || Host(`c`) && !Path(`/x`)", []string{"a", "b", "c"}, true},
		{"Host(`a`) || Host(`a`)", []string{"a"}, true},
	}
	for _, tt := range tests {
		r, err := ParseHTTP(tt.rule, "")
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		hosts, only := r.Hosts()
		if only != tt.only || !reflect.DeepEqual(hosts, tt.hosts) {
			t.Errorf("%s: got %q, %v; want %q, %v", tt.rule, hosts, only, tt.hosts, tt.only)
		}
	}
	r, _ := ParseHTTP("Host(`a`, `b`)", "v2")
	if hosts, only := r.Hosts(); !only || !reflect.DeepEqual(hosts, []string{"a", "b"}) {
		t.Errorf("v2 multi-host: got %q, %v", hosts, only)
	}
}

func TestMatchV2(t *testing.T) {
	tests := []struct {
		rule string
		req  *http.Request
		want bool
	}{
		{"Host(`a.com`, `b.com`)", req("GET", "http://b.com/"), true},
		{"Host(`a.com`, `b.com`)", req("GET", "http://c.com/"), false},
		{"HostHeader(`a.com`)", req("GET", "http://A.com:80/"), true},
		{"HostRegexp(`{sub:[a-z]+}.example.com`)", req("GET", "http://api.example.com/"), true},
		{"HostRegexp(`{sub:[a-z]+}.example.com`)", req("GET", "http://api.example.com:8443/"), true},
		{"HostRegexp(`{sub:[a-z]+}.example.com`)", req("GET", "http://a1.example.com/"), false},
		{"HostRegexp(`{sub:[a-z]+}.example.com`, `example.org`)", req("GET", "http://example.org/"), true},
		{"Path(`/foo/{id:[0-9]+}`)", req("GET", "/foo/42"), true},
		{"Path(`/foo/{id:[0-9]+}`)", req("GET", "/foo/x"), false},
		{"Path(`/foo/{id:[0-9]+}`)", req("GET", "/foo/42/bar"), false},
		{"Path(`/a`, `/b`)", req("GET", "/b"), true},
		{"PathPrefix(`/api/{v}`)", req("GET", "/api/v1/users"), true},
		{"PathPrefix(`/api/{v}`)", req("GET", "/api/"), false},
		{"PathPrefix(`/static`)", req("GET", "/static/x.css"), true},
		{"Method(`GET`, `POST`)", req("POST", "/"), true},
		{"Method(`GET`, `POST`)", req("PUT", "/"), false},
		{"Headers(`X-Env`, `prod`)", req("GET", "/", "X-Env: prod"), true},
		{"Headers(`X-Env`, `prod`)", req("GET", "/", "X-Env: dev"), false},
		{"HeadersRegexp(`X-Env`, `^pro`)", req("GET", "/", "X-Env: production"), true},
		{"HeadersRegexp(`X-Env`, `^pro`)", req("GET", "/", "X-Env: dev"), false},
		{"Query(`mobile=true`)", req("GET", "/?mobile=true"), true},
		{"Query(`mobile=true`)", req("GET", "/?mobile=false"), false},
		{"Query(`mobile=`)", req("GET", "/?mobile=anything"), true},
		{"Query(`a=1`, `b=2`)", req("GET", "/?a=1"), false},
		{"Query(`a=1`, `b=2`)", req("GET", "/?a=1&b=2"), true},
		{"ClientIP(`10.0.0.0/8`, `192.168.1.1`)", req("GET", "/", "remote=192.168.1.1:9"), true},
		{"ClientIP(`10.0.0.0/8`, `192.168.1.1`)", req("GET", "/", "remote=192.168.1.2:9"), false},
		{"Host(`a.com`) && !PathPrefix(`/admin/{x}`)", req("GET", "http://a.com/admin/1"), false},
		{"Host(`a.com`) && !PathPrefix(`/admin/{x}`)", req("GET", "http://a.com/public"), true},
	}
	for _, tt := range tests {
		r, err := ParseHTTP(tt.rule, "v2")
		if err != nil {
			t.Errorf("ParseHTTP(%s, v2): %v", tt.rule, err)
			continue
		}
		if got := r.Match(tt.req); got != tt.want {
			t.Errorf("v2 %s on %s %s%s: got %v, want %v", tt.rule, tt.req.Method, tt.req.Host, tt.req.URL.RequestURI(), got, tt.want)
		}
	}
}

func TestMatchV3AllocFree(t *testing.T) {
	r, err := ParseHTTP("(Host(`example.com`) || HostRegexp(`^x`)) && PathPrefix(`/api`) && Method(`GET`) && Header(`X-A`, `1`) && Query(`q`, `v`) && ClientIP(`192.0.2.0/24`)", "")
	if err != nil {
		t.Fatal(err)
	}
	q := req("GET", "http://example.com/api/x?q=v", "X-A: 1")
	if !r.Match(q) {
		t.Fatal("expected a match")
	}
	if n := testing.AllocsPerRun(100, func() { r.Match(q) }); n != 0 {
		t.Fatalf("Match allocates %v times per request, want 0", n)
	}
}
