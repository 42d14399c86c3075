package routers

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func conn(sni string, tls bool, ip string, alpn ...string) ConnInfo {
	c := ConnInfo{ServerName: sni, TLS: tls, ALPN: alpn}
	if ip != "" {
		c.RemoteIP = netip.MustParseAddr(ip)
	}
	return c
}

func TestTCPMatch(t *testing.T) {
	tests := []struct {
		rule, syntax string
		c            ConnInfo
		want         bool
	}{
		{"HostSNI(`a.com`)", "", conn("a.com", true, ""), true},
		{"HostSNI(`a.com`)", "", conn("A.COM", true, ""), true},
		{"HostSNI(`A.com.`)", "", conn("a.com", true, ""), true},
		{"HostSNI(`a.com`)", "", conn("b.com", true, ""), false},
		{"HostSNI(`a.com`)", "", conn("", true, ""), false},
		{"HostSNI(`a.com`)", "", conn("a.com", false, ""), false}, // a real name needs TLS
		{"HostSNI(`*`)", "", conn("", false, ""), true},
		{"HostSNI(`*`)", "", conn("x.com", true, ""), true},
		{"HostSNI(`*`) && ClientIP(`10.0.0.0/8`)", "", conn("", false, "10.2.3.4"), true},
		{"HostSNI(`*`) && ClientIP(`10.0.0.0/8`)", "", conn("", false, "11.2.3.4"), false},
		{"ClientIP(`10.0.0.0/8`)", "", conn("", false, "::ffff:10.2.3.4"), true},
		{"ClientIP(`10.0.0.0/8`)", "", conn("", false, ""), false},
		{"HostSNIRegexp(`^[a-z]+\\.example\\.com$`)", "", conn("API.example.com", true, ""), true},
		{"HostSNIRegexp(`^[a-z]+\\.example\\.com$`)", "", conn("a1.example.com", true, ""), false},
		{"HostSNIRegexp(`.*`)", "", conn("", false, ""), false}, // needs TLS
		{"ALPN(`h2`)", "", conn("a", true, "", "http/1.1", "h2"), true},
		{"ALPN(`h2`)", "", conn("a", true, "", "http/1.1"), false},
		{"ALPN(`h2`)", "", conn("", false, ""), false},
		{"HostSNI(`a.com`) || HostSNI(`b.com`) && ALPN(`h2`)", "", conn("a.com", true, ""), true},
		{"(HostSNI(`a.com`) || HostSNI(`b.com`)) && ALPN(`h2`)", "", conn("a.com", true, ""), false},
		{"HostSNI(`a.com`) && !ClientIP(`10.0.0.0/8`)", "", conn("a.com", true, "10.0.0.1"), false},
		{"HostSNI(`a.com`) && !ClientIP(`10.0.0.0/8`)", "", conn("a.com", true, "192.0.2.1"), true},
		// v2: several values per matcher, mux host templates.
		{"HostSNI(`a.com`, `b.com`)", "v2", conn("b.com", true, ""), true},
		{"HostSNI(`a.com`, `*`)", "v2", conn("", false, ""), true},
		{"HostSNIRegexp(`{sub:[a-z]+}.Example.com`)", "v2", conn("API.example.com", true, ""), true},
		{"HostSNIRegexp(`{sub:[a-z]+}.example.com`)", "v2", conn("a.b.example.com", true, ""), false},
		{"ALPN(`h2`, `h3`)", "v2", conn("a", true, "", "h3"), true},
		{"ClientIP(`10.0.0.0/8`, `192.0.2.7`)", "v2", conn("", false, "192.0.2.7"), true},
	}
	for _, tt := range tests {
		r, err := ParseTCP(tt.rule, tt.syntax)
		if err != nil {
			t.Errorf("ParseTCP(%s, %q): %v", tt.rule, tt.syntax, err)
			continue
		}
		if got := r.Match(tt.c); got != tt.want {
			t.Errorf("%s (%s) on %+v: got %v, want %v", tt.rule, tt.syntax, tt.c, got, tt.want)
		}
	}
}

func TestTCPParse(t *testing.T) {
	tests := []struct {
		rule, syntax string
		col          int
		msg          string
	}{
		{"HostSNI(`a`, `b`)", "", 1, "HostSNI takes exactly 1 argument, got 2 (v3 takes one name per HostSNI()"},
		{"Host(`a`)", "", 1, `unknown matcher "Host" (TCP routers match the TLS server name with HostSNI)`},
		{"HostSNi(`a`)", "", 1, `did you mean "HostSNI"?`},
		{"HostSNI(`a b`)", "", 9, `"a b" is not a valid host name`},
		{"ALPN(`acme-tls/1`)", "", 6, "reserved for ACME"},
		{"HostSNIRegexp(`(`)", "", 15, "invalid regexp"},
		{"HostSNIRegexp(`{x`)", "v2", 15, "invalid template"},
		{"ClientIP(`300.1.1.1`)", "", 10, "not a valid IP"},
	}
	for _, tt := range tests {
		_, err := ParseTCP(tt.rule, tt.syntax)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("ParseTCP(%q): got %v; want column %d: ...%s...", tt.rule, err, tt.col, tt.msg)
		}
	}
}

func TestTCPCatchAllAndHosts(t *testing.T) {
	tests := []struct {
		rule     string
		catchAll bool
		hosts    []string
		only     bool
	}{
		{"HostSNI(`*`)", true, nil, false},
		{"(HostSNI(`*`))", true, nil, false},
		{"HostSNI(`*`) && ClientIP(`10.0.0.0/8`)", false, nil, false},
		{"HostSNI(`a.com`) || HostSNI(`B.com`)", false, []string{"a.com", "b.com"}, true},
		{"HostSNI(`a.com`) && ALPN(`h2`)", false, []string{"a.com"}, true},
		{"HostSNIRegexp(`.*`)", false, nil, false},
	}
	for _, tt := range tests {
		r, err := ParseTCP(tt.rule, "")
		if err != nil {
			t.Fatal(err)
		}
		hosts, only := r.Hosts()
		if r.PlainTCP() != (tt.catchAll || strings.Contains(tt.rule, "&& ClientIP")) {
			t.Errorf("%s: PlainTCP() = %v", tt.rule, r.PlainTCP())
		}
		if r.CatchAll() != tt.catchAll || only != tt.only || !reflect.DeepEqual(hosts, tt.hosts) {
			t.Errorf("%s: catchAll %v hosts %q only %v", tt.rule, r.CatchAll(), hosts, only)
		}
	}
}

func TestTCPTable(t *testing.T) {
	rule := func(s string) *TCPRule {
		r, err := ParseTCP(s, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	table := NewTCPTable([]TCPRoute{
		{Name: "catchall", Rule: rule("HostSNI(`*`)"), Handler: "plain"},
		{Name: "internal", Rule: rule("HostSNI(`*`) && ClientIP(`10.0.0.0/8`)")},
		{Name: "db", Rule: rule("HostSNI(`db.example.com`)")},
		{Name: "db-h2", Rule: rule("HostSNI(`db.example.com`) && ALPN(`h2`)")},
		{Name: "wild", Rule: rule("HostSNIRegexp(`^.+\\.example\\.com$`)"), Priority: 10},
		{Name: "pinned", Rule: rule("HostSNI(`pinned.example.com`)"), Priority: 1},
	})
	tests := []struct {
		c    ConnInfo
		want string
	}{
		{conn("", false, "192.0.2.1"), "catchall"}, // the default -1 priority goes last
		{conn("", false, "10.1.1.1"), "internal"},
		{conn("db.example.com", true, "192.0.2.1"), "db"},
		{conn("DB.example.com", true, "192.0.2.1", "h2"), "db-h2"},
		{conn("x.example.com", true, "192.0.2.1"), "wild"},
		{conn("pinned.example.com", true, "192.0.2.1"), "wild"}, // explicit priority 1 is below the regexp's 10
		{conn("db.example.com", false, "192.0.2.1"), "catchall"},
		{conn("other.org", true, "192.0.2.1"), "catchall"},
	}
	for _, tt := range tests {
		got := table.Match(tt.c)
		name := "<nil>"
		if got != nil {
			name = got.Name
		}
		if name != tt.want {
			t.Errorf("%+v: got %s, want %s", tt.c, name, tt.want)
		}
	}
	if got := table.Match(conn("", false, "")); got == nil || got.Handler != "plain" {
		t.Errorf("handler not carried: %+v", got)
	}
	if got := NewTCPTable(nil).Match(conn("a", true, "")); got != nil {
		t.Errorf("empty table matched %s", got.Name)
	}
}
