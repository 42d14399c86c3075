package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TLS options are chosen by SNI from the hosts of Host() rules. A router
// with mTLS options whose rule names no exact host (HostRegexp, PathPrefix)
// must not be served over a connection negotiated with the default options,
// where no client certificate was asked for: its requests get 421, and the
// API marks the router with a warning.
func TestTLSOptionsNeedExactHosts(t *testing.T) {
	gwCA := newTestCA(t, "gateway CA")
	clientCA := newTestCA(t, "client CA")
	gwCert, gwKey, _ := gwCA.issue(t, "gateway", false, "admin.test", "c.test", "public.test")
	_, _, clientPair := clientCA.issue(t, "client", true)
	be, hits := backend(t, "app")

	cfg := ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[tls.options.mtls.clientAuth]
  caFiles = ['''%s''']
  clientAuthType = "RequireAndVerifyClientCert"

[http.routers.admin]
  entryPoints = ["websecure"]
  rule = "Host(´admin.test´)"
  service = "app"
  [http.routers.admin.tls]
    options = "mtls"
[http.routers.regexp]
  entryPoints = ["websecure"]
  rule = 'HostRegexp(´^c\.test$´)'
  service = "app"
  [http.routers.regexp.tls]
    options = "mtls"
[http.routers.partner]
  entryPoints = ["websecure"]
  rule = "PathPrefix(´/partner´)"
  service = "app"
  [http.routers.partner.tls]
    options = "mtls"
[http.routers.public]
  entryPoints = ["websecure"]
  rule = "Host(´public.test´)"
  service = "app"
  [http.routers.public.tls]
[[http.services.app.loadBalancer.servers]]
  url = %q
`, gwCert, gwKey, clientCA.pem, be))
	port := freePort(t)
	g := startGateway(t, map[string]string{"tls.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"websecure": port}})
	addr := fmt.Sprintf("https://127.0.0.1:%d", port)

	// request makes one request on a new connection with the given SNI
	// ("" sends none) and client certificate.
	request := func(sni, host, path string, cert *tls.Certificate) (int, error) {
		tc := clientTLS(sni, gwCA.pool, cert)
		if sni == "" {
			tc.InsecureSkipVerify = true // an IP address: no SNI is sent
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
		req, err := http.NewRequest("GET", addr+path, nil)
		if err != nil {
			return 0, err
		}
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	eventually(t, 10*time.Second, func() error {
		if code, err := request("public.test", "public.test", "/", nil); err != nil || code != 200 {
			return fmt.Errorf("public.test: %d %v", code, err)
		}
		return nil
	})

	for _, tt := range []struct {
		name            string
		sni, host, path string
		cert            *tls.Certificate
		want            int
		errWant         string
	}{
		{"HostRegexp router, no client certificate", "c.test", "c.test", "/", nil, http.StatusMisdirectedRequest, ""},
		{"HostRegexp router, client certificate not asked for", "c.test", "c.test", "/", &clientPair, http.StatusMisdirectedRequest, ""},
		{"HostRegexp router, no SNI", "", "c.test", "/", nil, http.StatusMisdirectedRequest, ""},
		{"PathPrefix router over public.test", "public.test", "public.test", "/partner/x", nil, http.StatusMisdirectedRequest, ""},
		{"PathPrefix router over an mTLS connection", "admin.test", "admin.test", "/partner/x", &clientPair, 200, ""},
		{"admin without a certificate", "admin.test", "admin.test", "/", nil, 0, "certificate required"},
		{"admin with a certificate", "admin.test", "admin.test", "/", &clientPair, 200, ""},
		{"admin host over public.test", "public.test", "admin.test", "/", nil, http.StatusMisdirectedRequest, ""},
		{"public", "public.test", "public.test", "/", nil, 200, ""},
	} {
		before := hits()
		code, err := request(tt.sni, tt.host, tt.path, tt.cert)
		if tt.errWant != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errWant) {
				t.Errorf("%s: status %d, error %v; want an error with %q", tt.name, code, err, tt.errWant)
			}
		} else if err != nil || code != tt.want {
			t.Errorf("%s: status %d, error %v; want %d", tt.name, code, err, tt.want)
		}
		if reached := hits() > before; reached != (tt.want == 200) {
			t.Errorf("%s: backend reached %v", tt.name, reached)
		}
	}

	for _, name := range []string{"regexp@file", "partner@file", "admin@file", "public@file"} {
		resp, err := http.Get(g.apiURL("/api/http/routers/" + name))
		if err != nil {
			t.Fatal(err)
		}
		var ri struct {
			Status string   `json:"status"`
			Error  []string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ri)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		warned := ri.Status == "warning" && len(ri.Error) == 1 && strings.Contains(ri.Error[0], "SNI") &&
			strings.Contains(ri.Error[0], "Host()") && strings.Contains(ri.Error[0], "421")
		if wantWarn := name == "regexp@file" || name == "partner@file"; warned != wantWarn || !wantWarn && (ri.Status != "enabled" || len(ri.Error) != 0) {
			t.Errorf("%s: status %q, errors %q", name, ri.Status, ri.Error)
		}
	}
}
