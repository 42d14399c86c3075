package entrypoints

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	cryptotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// testRouting is a fixed routing table, standing in for the router
// package's compiled snapshot.
type testRouting struct {
	peek     bool
	tcp      func(ConnInfo) (TCPHandler, *cryptotls.Config, bool)
	https    func(ConnInfo) *cryptotls.Config
	tlcp     func(*cryptotls.Config) (*tlcp.Config, bool)
	mqtt     mqtt.Table
	mqttTLS  *cryptotls.Config
	catchAll CatchAll
}

func (r *testRouting) MQTT() (mqtt.Table, *cryptotls.Config) { return r.mqtt, r.mqttTLS }

func (r *testRouting) PeekNeeded() bool { return r.peek }
func (r *testRouting) TCP(i ConnInfo) (TCPHandler, *cryptotls.Config, bool) {
	if r.tcp == nil {
		return nil, nil, false
	}
	return r.tcp(i)
}
func (r *testRouting) HTTPS(i ConnInfo) *cryptotls.Config {
	if r.https == nil {
		return nil
	}
	return r.https(i)
}
func (r *testRouting) CatchAllTCP() CatchAll { return r.catchAll }
func (r *testRouting) TLCP(c *cryptotls.Config) (*tlcp.Config, bool) {
	if r.tlcp == nil {
		return nil, false
	}
	return r.tlcp(c)
}

type tcpFunc func(net.Conn)

func (f tcpFunc) ServeTCP(c net.Conn) { f(c) }

// proxyTo is a TCP route forwarding bytes to addr, both ways.
func proxyTo(addr string) TCPHandler {
	return tcpFunc(func(c net.Conn) {
		up, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, c); _ = up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
		<-done
		<-done
	})
}

func cfgDur(d time.Duration) *config.Duration { v := config.Duration(d); return &v }

// connCounter records OnConn calls.
type connCounter struct {
	mu     sync.Mutex
	open   map[string]int
	opened map[string]int
}

func newConnCounter() *connCounter {
	return &connCounter{open: map[string]int{}, opened: map[string]int{}}
}

func (c *connCounter) hook(proto string, delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open[proto] += delta
	if delta > 0 {
		c.opened[proto]++
	}
}

func (c *connCounter) get(proto string) (open, opened int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open[proto], c.opened[proto]
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type epOpts struct {
	cfg     *static.EntryPoint
	handler http.Handler
	routing Routing
	onConn  func(string, int)
	ln      net.Listener
}

// startEP starts an entrypoint on a free loopback port and shuts it down
// at the end of the test.
func startEP(t *testing.T, o epOpts) *EntryPoint {
	t.Helper()
	cfg := o.cfg
	if cfg == nil {
		cfg = &static.EntryPoint{}
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	h := o.handler
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello "+r.Proto) })
	}
	opts := Options{Name: "web", Config: cfg, Handler: h, OnConn: o.onConn, Listener: o.ln}
	if o.routing != nil {
		opts.Routing = func() Routing { return o.routing }
	}
	ep, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(); err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	t.Cleanup(func() {
		if once.CompareAndSwap(false, true) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = ep.Shutdown(ctx)
		}
	})
	return ep
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  string
}

var serial atomic.Int64

func newCA(t testing.TB) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue returns PEM certificate and key for names.
func (ca *testCA) issue(t testing.TB, client bool, names ...string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}))
}
