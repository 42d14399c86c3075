package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// openTCP dials addr from the loopback address local, sends one line and
// reads the answer; the connection stays open for the caller.
func openTCP(t *testing.T, addr, local string) (net.Conn, string, error) {
	t.Helper()
	c, err := dialFrom(addr, local)
	if err != nil {
		return nil, "", err
	}
	t.Cleanup(func() { c.Close() })
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		return c, "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return c, strings.TrimSuffix(line, "\n"), err
}

// mustServe checks that a connection from local reaches the echo backend
// and returns it, open.
func mustServe(t *testing.T, addr, local string) net.Conn {
	t.Helper()
	c, reply, err := openTCP(t, addr, local)
	if err != nil || reply != "db:hello" {
		t.Fatalf("from %s: reply %q, err %v; want db:hello", local, reply, err)
	}
	return c
}

// mustRefuse checks that a connection from local is accepted and closed by
// the gateway without an answer.
func mustRefuse(t *testing.T, addr, local string) {
	t.Helper()
	_, reply, err := openTCP(t, addr, local)
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("from %s: reply %q, err %v; want the connection closed", local, reply, err)
	}
}

// TCP middlewares through the binary: ipAllowList lets only listed client
// IPs through (closing the others, before any TLS for passthrough routers
// and after the handshake for terminating ones), inFlightConn closes a
// client IP's (amount+1)th simultaneous connection, counts across a reload
// and frees a slot when a connection ends, and the API lists both.
func TestTCPMiddlewares(t *testing.T) {
	ca := newTestCA(t, "backend CA")
	_, _, backPair := ca.issue(t, "tls backend", false, "pass.test")
	echo := tcpEcho(t, "db", nil)
	tlsEcho := tcpEcho(t, "tlsdb", &tls.Config{Certificates: []tls.Certificate{backPair}})
	plainPort, tlsPort := freePort(t), freePort(t)
	cfg := ticked(fmt.Sprintf(`
[tcp.routers.db]
  entryPoints = ["plain"]
  rule = "HostSNI(´*´)"
  service = "db"
  middlewares = ["local", "two"]
[tcp.routers.term]
  entryPoints = ["tls"]
  rule = "HostSNI(´term.test´)"
  service = "db"
  middlewares = ["local@file"]
  [tcp.routers.term.tls]
[tcp.routers.pass]
  entryPoints = ["tls"]
  rule = "HostSNI(´pass.test´)"
  service = "tlsdb"
  middlewares = ["local"]
  [tcp.routers.pass.tls]
    passthrough = true
[tcp.middlewares.local.ipAllowList]
  sourceRange = ["127.0.0.1/32", "127.0.0.3"]
[tcp.middlewares.two.inFlightConn]
  amount = 2
[[tcp.services.db.loadBalancer.servers]]
  address = %q
[[tcp.services.tlsdb.loadBalancer.servers]]
  address = %q
`, echo, tlsEcho))
	g := startGateway(t, map[string]string{"tcp.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"plain": plainPort, "tls": tlsPort}})
	plain := fmt.Sprintf("127.0.0.1:%d", plainPort)
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", tlsPort)

	t.Run("ipAllowList", func(t *testing.T) {
		mustServe(t, plain, "127.0.0.1").Close()
		mustServe(t, plain, "127.0.0.3").Close()
		mustRefuse(t, plain, "127.0.0.2")

		term := &tls.Config{ServerName: "term.test", InsecureSkipVerify: true}
		if reply, _, err := talk(tlsAddr, "127.0.0.1", term); err != nil || reply != "db:hello" {
			t.Fatalf("terminated TLS, allowed: %q %v", reply, err)
		}
		// The gateway terminates TLS first: the handshake succeeds, then
		// the connection is closed.
		if reply, st, err := talk(tlsAddr, "127.0.0.2", term); err == nil || st == nil || !strings.HasPrefix(err.Error(), "read") {
			t.Fatalf("terminated TLS, refused: %q %v, want a handshake and then a closed connection", reply, err)
		}
		pass := &tls.Config{ServerName: "pass.test", RootCAs: ca.pool}
		if reply, _, err := talk(tlsAddr, "127.0.0.1", pass); err != nil || reply != "tlsdb:hello alpn= sni=pass.test" {
			t.Fatalf("passthrough, allowed: %q %v", reply, err)
		}
		// Passthrough: the connection is closed before any TLS answer.
		if reply, _, err := talk(tlsAddr, "127.0.0.2", pass); err == nil || !strings.HasPrefix(err.Error(), "handshake") {
			t.Fatalf("passthrough, refused: %q %v, want the handshake to fail", reply, err)
		}
	})

	t.Run("inFlightConn", func(t *testing.T) {
		first := mustServe(t, plain, "127.0.0.1")
		second := mustServe(t, plain, "127.0.0.1")
		mustRefuse(t, plain, "127.0.0.1")
		// Another client IP has its own count.
		other := mustServe(t, plain, "127.0.0.3")
		defer other.Close()

		// A reload keeps the counts of an unchanged middleware: the two
		// connections opened before it still fill the slots.
		g.writeDynamic("tcp.toml", cfg+ticked(`
[tcp.routers.added]
  entryPoints = ["plain"]
  rule = "HostSNI(´*´) && ClientIP(´127.0.0.9´)"
  service = "db"
`))
		eventually(t, 10*time.Second, func() error {
			if code, _, _ := get(t, nil, g.apiURL("/api/tcp/routers/added@file"), nil); code != 200 {
				return fmt.Errorf("reload not applied: %d", code)
			}
			return nil
		})
		mustRefuse(t, plain, "127.0.0.1")

		// One ends: its slot is free again.
		first.Close()
		eventually(t, 5*time.Second, func() error {
			c, reply, err := openTCP(t, plain, "127.0.0.1")
			if err != nil || reply != "db:hello" {
				return fmt.Errorf("reply %q, err %v", reply, err)
			}
			c.Close()
			return nil
		})
		second.Close()
	})

	t.Run("API", func(t *testing.T) {
		var list []map[string]any
		code, body, _ := get(t, nil, g.apiURL("/api/tcp/middlewares"), nil)
		if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
			t.Fatalf("/api/tcp/middlewares: %d %v %s", code, err, body)
		}
		got := map[string]string{}
		for _, m := range list {
			b, _ := json.Marshal(m["usedBy"])
			got[m["name"].(string)] = fmt.Sprintf("%s %s %s %s", m["type"], m["status"], m["provider"], b)
		}
		want := map[string]string{
			"local@file": `ipallowlist enabled file ["db@file","pass@file","term@file"]`,
			"two@file":   `inflightconn enabled file ["db@file"]`,
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s: %q, want %q", name, got[name], w)
			}
		}
		if len(list) != len(want) {
			t.Errorf("%d TCP middlewares listed: %s", len(list), body)
		}
		var one map[string]any
		code, body, _ = get(t, nil, g.apiURL("/api/tcp/middlewares/two@file"), nil)
		if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil || one["name"] != "two@file" {
			t.Fatalf("/api/tcp/middlewares/two@file: %d %s", code, body)
		}
		if b, _ := json.Marshal(one["inFlightConn"]); string(b) != `{"amount":2}` {
			t.Fatalf("two@file inFlightConn: %s", b)
		}
		var router map[string]any
		_, body, _ = get(t, nil, g.apiURL("/api/tcp/routers/db@file"), nil)
		if err := json.Unmarshal([]byte(body), &router); err != nil || router["status"] != "enabled" ||
			!slices.Equal(toStrings(router["middlewares"]), []string{"local@file", "two@file"}) {
			t.Fatalf("router db@file: %s", body)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
