package forwarded

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	host, _ := os.Hostname()
	spoofed := map[string]string{
		XForwardedFor: "6.6.6.6", XForwardedProto: "https", XForwardedHost: "evil.test",
		XForwardedPort: "8443", XForwardedServer: "evil", XRealIP: "6.6.6.6",
		"Forwarded": "for=6.6.6.6", "X-Forwarded-Prefix": "/admin", "X-Forwarded-Tls-Client-Cert": "x",
	}
	tests := []struct {
		name      string
		insecure  bool
		trusted   []string
		send      map[string]string
		websocket bool
		host      string            // the Host header; default app.test:PORT
		raw       map[string]string // sent with the name as written
		want      map[string]string // "" means absent
		rawWant   map[string]string // by the name as the server received it
	}{
		{
			name:    "untrusted underscore spellings are dropped",
			raw:     map[string]string{"X_Forwarded_For": "6.6.6.6", "x_real_ip": "6.6.6.6", "X_Custom": "kept"},
			want:    map[string]string{XRealIP: "127.0.0.1"},
			rawWant: map[string]string{"X_forwarded_for": "", "X_real_ip": "", "X_custom": "kept"},
		},
		{
			name: "trusted underscore spellings pass", trusted: []string{"127.0.0.1"},
			raw:     map[string]string{"X_Forwarded_For": "6.6.6.6"},
			rawWant: map[string]string{"X_forwarded_for": "6.6.6.6"},
		},
		{
			name: "port follows a trusted https proto", trusted: []string{"127.0.0.1"}, host: "app.test",
			send: map[string]string{XForwardedProto: "https"},
			want: map[string]string{XForwardedPort: "443"},
		},
		{
			name: "port of a plain request without one in Host", host: "app.test",
			want: map[string]string{XForwardedPort: "80", XForwardedProto: "http"},
		},
		{
			name: "untrusted client headers are replaced", trusted: []string{"10.0.0.0/8"}, send: spoofed,
			want: map[string]string{XForwardedFor: "", XForwardedProto: "http", XForwardedHost: "app.test:PORT",
				XForwardedPort: "PORT", XForwardedServer: host, XRealIP: "127.0.0.1", "Forwarded": "",
				"X-Forwarded-Prefix": "", "X-Forwarded-Tls-Client-Cert": ""},
		},
		{
			name: "trusted by address", trusted: []string{"127.0.0.1"}, send: spoofed,
			want: map[string]string{XForwardedFor: "6.6.6.6", XForwardedProto: "https", XForwardedHost: "evil.test",
				XForwardedPort: "8443", XForwardedServer: host, XRealIP: "6.6.6.6", "Forwarded": "for=6.6.6.6", "X-Forwarded-Prefix": "/admin"},
		},
		{
			name: "trusted by range", trusted: []string{"127.0.0.0/8"}, send: map[string]string{XForwardedProto: "https"},
			want: map[string]string{XForwardedProto: "https", XRealIP: "127.0.0.1", XForwardedPort: "PORT"},
		},
		{
			name: "insecure trusts all", insecure: true, send: map[string]string{XRealIP: "1.2.3.4"},
			want: map[string]string{XRealIP: "1.2.3.4", XForwardedProto: "http"},
		},
		{
			name: "websocket scheme", websocket: true,
			want: map[string]string{XForwardedProto: "ws"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, err := New(tt.insecure, tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(rw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(r.Header)
			})))
			defer srv.Close()
			port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Host = "app.test:" + port
			if tt.host != "" {
				req.Host = tt.host
			}
			for k, v := range tt.send {
				req.Header.Set(k, v)
			}
			for k, v := range tt.raw {
				req.Header[k] = []string{v}
			}
			if tt.websocket {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got http.Header
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				v = strings.ReplaceAll(v, "PORT", port)
				if g := got.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
			for k, v := range tt.rawWant {
				if g := strings.Join(got[k], ","); g != v {
					t.Errorf("%s = %q, want %q (received %v)", k, g, v, got)
				}
			}
		})
	}
}

func TestNewRejectsBadTrustedIPs(t *testing.T) {
	if _, err := New(false, []string{"10.0.0.0/8", "not-an-ip"}); err == nil || !strings.Contains(err.Error(), `"not-an-ip"`) {
		t.Errorf("err = %v, want it to name the bad entry", err)
	}
	rw, err := New(false, []string{"::ffff:192.0.2.1", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"192.0.2.1:1": true, "[::ffff:192.0.2.1]:1": true, "[2001:db8::5]:80": true, "192.0.2.2:1": false, "@": false} {
		if got := rw.Trusted(addr); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", addr, got, want)
		}
	}
}

func BenchmarkRewrite(b *testing.B) {
	rw, _ := New(false, []string{"10.0.0.0/8"})
	req := httptest.NewRequest("GET", "http://app.test/x", nil)
	req.RemoteAddr = "192.0.2.1:5555"
	b.ReportAllocs()
	for b.Loop() {
		req.Header = http.Header{"User-Agent": {"bench"}, XForwardedFor: {"6.6.6.6"}}
		rw.Rewrite(req)
	}
}
