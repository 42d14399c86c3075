package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpEcho answers each line with "name:line"; with a TLS config it serves TLS
// and adds the negotiated ALPN protocol and SNI.
func tcpEcho(t *testing.T, name string, tc *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				suffix := ""
				if tc != nil {
					tlsConn := tls.Server(c, tc)
					if tlsConn.Handshake() != nil {
						return
					}
					st := tlsConn.ConnectionState()
					suffix = fmt.Sprintf(" alpn=%s sni=%s", st.NegotiatedProtocol, st.ServerName)
					c = tlsConn
				}
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s:%s%s\n", name, sc.Text(), suffix)
				}
			}()
		}
	}()
	return l.Addr().String()
}

// talk opens a connection to addr (TLS when tc is set, from local when set),
// sends one line and returns the answer line.
func talk(addr, local string, tc *tls.Config) (string, *tls.ConnectionState, error) {
	c, err := dialFrom(addr, local)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	var st *tls.ConnectionState
	if tc != nil {
		tlsConn := tls.Client(c, tc)
		if err := tlsConn.Handshake(); err != nil {
			return "", nil, fmt.Errorf("handshake: %w", err)
		}
		s := tlsConn.ConnectionState()
		st = &s
		c = tlsConn
	}
	if _, err := fmt.Fprintf(c, "hello\n"); err != nil {
		return "", st, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", st, fmt.Errorf("read: %w", err)
	}
	return strings.TrimSuffix(line, "\n"), st, nil
}

// TCP routing by SNI, SNI regexp, ALPN and client address, TLS passthrough
// and termination, TLS options (minVersion, sniStrict, mutual TLS), and plain
// TCP, through the binary.
func TestTCPRouting(t *testing.T) {
	gwCA := newTestCA(t, "gateway CA")
	backCA := newTestCA(t, "backend CA")
	clientCA := newTestCA(t, "client CA")
	otherCA := newTestCA(t, "unknown CA")
	gwCert, gwKey, _ := gwCA.issue(t, "gateway", false, "term.test", "*.wild.test", "modern.test", "strict-ok.test", "mtls.test")
	_, _, backPair := backCA.issue(t, "tls backend", false, "pass.test", "alpn.test")
	_, _, clientPair := clientCA.issue(t, "client", true)
	_, _, strangerPair := otherCA.issue(t, "stranger", true)

	tlsBack := tcpEcho(t, "tlsback", &tls.Config{Certificates: []tls.Certificate{backPair}, NextProtos: []string{"x-guan"}})
	echoes := map[string]string{}
	for _, n := range []string{"term", "wild", "modern", "strict", "loose", "mtls", "ip", "plain"} {
		echoes[n] = tcpEcho(t, n, nil)
	}

	var cfg strings.Builder
	cfg.WriteString(ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[tls.options.tls13]
  minVersion = "VersionTLS13"
[tls.options.strict]
  sniStrict = true
[tls.options.mtls.clientAuth]
  caFiles = ['''%s''']
  clientAuthType = "RequireAndVerifyClientCert"

[tcp.routers.pass]
  entryPoints = ["tcp"]
  rule = "HostSNI(´pass.test´)"
  service = "tlsback"
  [tcp.routers.pass.tls]
    passthrough = true
[tcp.routers.alpn]
  entryPoints = ["tcp"]
  rule = "HostSNI(´alpn.test´) && ALPN(´x-guan´)"
  service = "tlsback"
  [tcp.routers.alpn.tls]
    passthrough = true
[[tcp.services.tlsback.loadBalancer.servers]]
  address = %q
`, gwCert, gwKey, clientCA.pem, tlsBack)))
	tlsRouter := func(name, rule, options string) {
		fmt.Fprintf(&cfg, "[tcp.routers.%s]\n  entryPoints = [\"tcp\"]\n  rule = %q\n  service = %q\n  [tcp.routers.%[1]s.tls]\n", name, ticked(rule), name)
		if options != "" {
			fmt.Fprintf(&cfg, "    options = %q\n", options)
		}
	}
	tlsRouter("term", "HostSNI(´term.test´)", "")
	tlsRouter("wild", "HostSNIRegexp(´^[a-z]+\\.wild\\.test$´)", "")
	tlsRouter("modern", "HostSNI(´modern.test´)", "tls13")
	tlsRouter("strict", "HostSNI(´strict.test´) || HostSNI(´strict-ok.test´)", "strict")
	tlsRouter("loose", "HostSNI(´loose.test´)", "")
	tlsRouter("mtls", "HostSNI(´mtls.test´)", "mtls")
	cfg.WriteString(ticked(`
[tcp.routers.ip]
  entryPoints = ["plain"]
  rule = "HostSNI(´*´) && ClientIP(´127.0.0.2´)"
  service = "ip"
[tcp.routers.plain]
  entryPoints = ["plain"]
  rule = "HostSNI(´*´)"
  service = "plain"
`))
	for name, addr := range echoes {
		fmt.Fprintf(&cfg, "[[tcp.services.%s.loadBalancer.servers]]\n  address = %q\n", name, addr)
	}
	tcpPort, plainPort := freePort(t), freePort(t)
	startGateway(t, map[string]string{"tcp.toml": cfg.String()}, gatewayOpts{extraEPs: map[string]int{"tcp": tcpPort, "plain": plainPort}})
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", tcpPort)
	plainAddr := fmt.Sprintf("127.0.0.1:%d", plainPort)

	cases := []struct {
		name    string
		addr    string
		local   string      // client address, for ClientIP
		tls     *tls.Config // nil: plain TCP
		reply   string      // expected answer; "" expects a failure
		issuer  string      // issuer of the certificate the client saw, when set
		errWant string      // part of the expected error
	}{
		{name: "passthrough reaches the backend's certificate", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "pass.test", RootCAs: backCA.pool},
			reply: "tlsback:hello alpn= sni=pass.test", issuer: "backend CA"},
		{name: "ALPN routes to passthrough", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "alpn.test", RootCAs: backCA.pool, NextProtos: []string{"x-guan"}},
			reply: "tlsback:hello alpn=x-guan sni=alpn.test", issuer: "backend CA"},
		{name: "ALPN not offered: not routed to the backend", addr: tlsAddr,
			tls: &tls.Config{ServerName: "alpn.test", RootCAs: backCA.pool}, errWant: "handshake"},
		{name: "HostSNI terminated at the gateway", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "term.test", RootCAs: gwCA.pool},
			reply: "term:hello", issuer: "gateway CA"},
		{name: "HostSNIRegexp", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "abc.wild.test", RootCAs: gwCA.pool},
			reply: "wild:hello", issuer: "gateway CA"},
		{name: "HostSNIRegexp no match", addr: tlsAddr,
			tls: &tls.Config{ServerName: "a.b.wild.test", InsecureSkipVerify: true}, errWant: "handshake"},
		{name: "no certificate: default certificate", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "loose.test", InsecureSkipVerify: true},
			reply: "loose:hello", issuer: "GUAN DEFAULT CERT"},
		{name: "minVersion TLS 1.3 accepts 1.3", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "modern.test", RootCAs: gwCA.pool},
			reply: "modern:hello"},
		{name: "minVersion TLS 1.3 refuses 1.2", addr: tlsAddr,
			tls: &tls.Config{ServerName: "modern.test", RootCAs: gwCA.pool, MaxVersion: tls.VersionTLS12}, errWant: "handshake"},
		{name: "sniStrict with a certificate", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "strict-ok.test", RootCAs: gwCA.pool},
			reply: "strict:hello", issuer: "gateway CA"},
		{name: "sniStrict without a certificate refuses", addr: tlsAddr,
			tls: &tls.Config{ServerName: "strict.test", InsecureSkipVerify: true}, errWant: "handshake"},
		{name: "mTLS with a trusted client certificate", addr: tlsAddr,
			tls:   &tls.Config{ServerName: "mtls.test", RootCAs: gwCA.pool, Certificates: []tls.Certificate{clientPair}},
			reply: "mtls:hello"},
		{name: "mTLS without a client certificate", addr: tlsAddr,
			tls: &tls.Config{ServerName: "mtls.test", RootCAs: gwCA.pool}, errWant: "certificate required"},
		{name: "mTLS with an unknown client certificate", addr: tlsAddr,
			tls: &tls.Config{ServerName: "mtls.test", RootCAs: gwCA.pool,
				// Sent although the server asks for certificates of its CA.
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &strangerPair, nil }},
			errWant: "unknown certificate authority"},
		{name: "plain TCP HostSNI(*)", addr: plainAddr, reply: "plain:hello"},
		{name: "plain TCP ClientIP", addr: plainAddr, local: "127.0.0.2", reply: "ip:hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply, st, err := talk(c.addr, c.local, c.tls)
			if c.reply == "" {
				if err == nil || !strings.Contains(err.Error(), c.errWant) {
					t.Fatalf("got %q, err %v; want an error containing %q", reply, err, c.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if reply != c.reply {
				t.Fatalf("reply %q, want %q", reply, c.reply)
			}
			if c.issuer != "" {
				if got := st.PeerCertificates[0].Issuer.CommonName; got != c.issuer {
					t.Fatalf("certificate issued by %q, want %q", got, c.issuer)
				}
			}
		})
	}
}
