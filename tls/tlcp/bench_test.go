package tlcp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	cryptotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// benchServerCPU runs b.N handshakes over in-memory pipes and reports the
// CPU the server side alone spent: the server runs on one locked OS thread
// whose CPU clock is read before and after.
func benchServerCPU(b *testing.B, serve, client func(net.Conn) error) {
	type job struct {
		c    net.Conn
		done chan error
	}
	jobs := make(chan job)
	finished := make(chan time.Duration)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := threadCPU()
		for j := range jobs {
			j.done <- serve(j.c)
		}
		finished <- threadCPU() - start
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, c := net.Pipe()
		done := make(chan error, 1)
		jobs <- job{s, done}
		if err := client(c); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		s.Close()
		c.Close()
	}
	close(jobs)
	cpu := <-finished
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-µs/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "server-handshakes/s")
}

func tlcpPair(scfg, ccfg *Config) (serve, client func(net.Conn) error) {
	return func(c net.Conn) error { return Server(c, scfg).Handshake() },
		func(c net.Conn) error { return Client(c, ccfg).Handshake() }
}

func BenchmarkServerHandshake(b *testing.B) {
	for _, id := range []uint16{ECC_SM4_GCM_SM3, ECC_SM4_CBC_SM3} {
		b.Run("TLCP_"+CipherSuiteName(id), func(b *testing.B) {
			ccfg := clientConfig(b, false)
			ccfg.CipherSuites = []uint16{id}
			serve, client := tlcpPair(serverConfig(b, cryptotls.NoClientCert), ccfg)
			benchServerCPU(b, serve, client)
		})
	}
	b.Run("TLCP_ECDHE_SM4_GCM_SM3_mutual", func(b *testing.B) {
		ccfg := clientConfig(b, true)
		ccfg.CipherSuites = []uint16{ECDHE_SM4_GCM_SM3}
		serve, client := tlcpPair(serverConfig(b, cryptotls.RequireAndVerifyClientCert), ccfg)
		benchServerCPU(b, serve, client)
	})
	b.Run("TLCP_ECC_SM4_GCM_SM3_resumed", func(b *testing.B) {
		scfg := serverConfig(b, cryptotls.NoClientCert)
		scfg.SessionCache = NewSessionCache(0, 0)
		ccfg := clientConfig(b, false)
		ccfg.SessionCache = NewSessionCache(0, 0)
		ccfg.CipherSuites = []uint16{ECC_SM4_GCM_SM3}
		serve, client := tlcpPair(scfg, ccfg)
		s, c := net.Pipe()
		go func() { _ = serve(s) }()
		if err := client(c); err != nil { // prime the caches
			b.Fatal(err)
		}
		benchServerCPU(b, serve, client)
	})
	b.Run("TLS12_ECDHE_ECDSA_P256", func(b *testing.B) {
		scfg := &cryptotls.Config{
			Certificates:           []cryptotls.Certificate{p256Cert(b)},
			MaxVersion:             cryptotls.VersionTLS12,
			CipherSuites:           []uint16{cryptotls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			CurvePreferences:       []cryptotls.CurveID{cryptotls.CurveP256},
			SessionTicketsDisabled: true,
		}
		ccfg := &cryptotls.Config{InsecureSkipVerify: true, MaxVersion: cryptotls.VersionTLS12, CurvePreferences: []cryptotls.CurveID{cryptotls.CurveP256}}
		benchServerCPU(b,
			func(c net.Conn) error { return cryptotls.Server(c, scfg).Handshake() },
			func(c net.Conn) error { return cryptotls.Client(c, ccfg).Handshake() })
	})
}

func p256Cert(b *testing.B) cryptotls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	t := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p256"}, DNSNames: []string{"p256.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, t, t, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	return cryptotls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// BenchmarkRecord seals and opens full 16 KiB records with each cipher,
// AES-128-GCM through the same record code for comparison.
func BenchmarkRecord(b *testing.B) {
	key, mac, iv := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 16)
	aesGCM := func() *halfConn {
		blk, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(blk)
		return &halfConn{aead: g}
	}
	for _, c := range []struct {
		name string
		mk   func() *halfConn
	}{
		{"SM4-GCM", func() *halfConn { h, _ := newHalfConn(&suites[1], key, mac, iv); return h }},
		{"SM4-CBC-HMAC-SM3", func() *halfConn { h, _ := newHalfConn(&suites[3], key, mac, iv); return h }},
		{"AES-128-GCM", aesGCM},
	} {
		payload := make([]byte, maxPlaintext)
		b.Run(c.name+"/seal", func(b *testing.B) {
			hc := c.mk()
			out := make([]byte, 0, 2*maxPlaintext)
			b.SetBytes(maxPlaintext)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				out, _ = hc.seal(out[:0], recordApplicationData, payload, rand.Reader)
			}
		})
		b.Run(c.name+"/open", func(b *testing.B) {
			w, r := c.mk(), c.mk()
			recs := make([][]byte, 0, 64)
			for i := 0; i < 64; i++ {
				rec, _ := w.seal(nil, recordApplicationData, payload, rand.Reader)
				recs = append(recs, rec[recordHeaderLen:])
			}
			buf := make([]byte, len(recs[0]))
			b.SetBytes(maxPlaintext)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if i%64 == 0 {
					r.seq = 0
				}
				copy(buf, recs[i%64])
				if _, err := r.open(recordApplicationData, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
