package tlcp

import (
	"bytes"
	cryptotls "crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// scriptConn is a net.Conn that reads a fixed byte string and discards
// writes: a peer that sends whatever the fuzzer makes up.
type scriptConn struct{ r *bytes.Reader }

func (c scriptConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c scriptConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c scriptConn) Close() error                     { return nil }
func (c scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c scriptConn) SetDeadline(time.Time) error      { return nil }
func (c scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c scriptConn) SetWriteDeadline(time.Time) error { return nil }

// recordingConn passes bytes through and keeps a copy of what was read.
type recordingConn struct {
	net.Conn
	read bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Write(p[:n])
	return n, err
}

// clientFlight records what a real client sends to a server, for seeds.
func clientFlight(t testing.TB, scfg, ccfg *Config) []byte {
	a, b := net.Pipe()
	rec := &recordingConn{Conn: a}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := Server(rec, scfg)
		if s.Handshake() == nil {
			_, _ = io.ReadAll(s)
		}
		a.Close()
	}()
	c := Client(b, ccfg)
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: sm.example.test\r\n\r\n"))
	_ = c.CloseWrite()
	<-done
	b.Close()
	return rec.read.Bytes()
}

func FuzzServerHandshake(f *testing.F) {
	recoverPanics = false
	scfg := serverConfig(f, cryptotls.RequireAndVerifyClientCert)
	scfg.SessionCache = NewSessionCache(16, time.Hour)
	for _, id := range DefaultCipherSuites() {
		ccfg := clientConfig(f, true)
		ccfg.CipherSuites = []uint16{id}
		f.Add(clientFlight(f, scfg, ccfg))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := Server(scriptConn{bytes.NewReader(in)}, scfg)
		if c.Handshake() == nil {
			_, _ = io.ReadAll(c)
		}
	})
}

func FuzzClientHandshake(f *testing.F) {
	recoverPanics = false
	// Seeds: what a real server sends back.
	for _, id := range DefaultCipherSuites() {
		scfg := serverConfig(f, cryptotls.RequireAndVerifyClientCert)
		ccfg := clientConfig(f, true)
		ccfg.CipherSuites = []uint16{id}
		a, b := net.Pipe()
		rec := &recordingConn{Conn: b}
		go func() { s := Server(a, scfg); _ = s.Handshake(); a.Close() }()
		_ = Client(rec, ccfg).Handshake()
		b.Close()
		f.Add(rec.read.Bytes())
	}
	ccfg := clientConfig(f, true)
	ccfg.InsecureSkipVerify = true
	f.Fuzz(func(t *testing.T, in []byte) {
		c := Client(scriptConn{bytes.NewReader(in)}, ccfg)
		if c.Handshake() == nil {
			_, _ = io.ReadAll(c)
		}
	})
}

func FuzzRecordOpen(f *testing.F) {
	key, mac, iv := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 16)
	for _, s := range suites {
		hc, _ := newHalfConn(&s, key, mac, iv)
		rec, _ := hc.seal(nil, recordApplicationData, []byte("seed payload"), bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
		f.Add(s.gcm, rec[recordHeaderLen:])
	}
	f.Fuzz(func(t *testing.T, gcm bool, body []byte) {
		s := &suites[3]
		if gcm {
			s = &suites[1]
		}
		hc, err := newHalfConn(s, key, mac, iv)
		if err != nil {
			t.Fatal(err)
		}
		// Sealing and opening must round-trip; random bodies must fail cleanly.
		if plain, err := hc.open(recordApplicationData, bytes.Clone(body)); err == nil && len(plain) > len(body) {
			t.Fatal("plaintext longer than the record")
		}
	})
}

func FuzzClientHelloParse(f *testing.F) {
	h := clientHelloMsg{version: VersionTLCP, random: make([]byte, 32), sessionID: []byte{1, 2}, cipherSuites: DefaultCipherSuites(), compression: []uint8{0}, serverName: "a.example"}
	f.Add(h.marshal()[4:])
	f.Fuzz(func(t *testing.T, body []byte) {
		var m clientHelloMsg
		if !m.unmarshal(body) {
			return
		}
		var again clientHelloMsg
		if !again.unmarshal(m.marshal()[4:]) || again.serverName != m.serverName || len(again.cipherSuites) != len(m.cipherSuites) {
			t.Fatalf("re-marshalled ClientHello does not parse the same: %+v", m)
		}
	})
}
