package clienthello

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// captureHello returns the first flight a real crypto/tls client sends.
func captureHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	cli, srv := net.Pipe()
	defer srv.Close()
	go func() {
		c := tls.Client(cli, cfg)
		_ = c.Handshake() // fails once srv closes; we only want its first bytes
		c.Close()
	}()
	_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := srv.Read(buf)
		got = append(got, buf[:n]...)
		if _, perr := Parse(got); !errors.Is(perr, ErrIncomplete) {
			return got
		}
		if err != nil {
			t.Fatalf("reading ClientHello: %v", err)
		}
	}
}

// refragment re-splits the handshake bytes of data into records of at most size bytes.
func refragment(t testing.TB, data []byte, size int) []byte {
	t.Helper()
	var msg []byte
	for off := 0; off < len(data); {
		n := int(data[off+3])<<8 | int(data[off+4])
		msg = append(msg, data[off+5:off+5+n]...)
		off += 5 + n
	}
	var out []byte
	for len(msg) > 0 {
		k := min(size, len(msg))
		out = append(out, 0x16, 3, 1, byte(k>>8), byte(k))
		out = append(out, msg[:k]...)
		msg = msg[k:]
	}
	return out
}

func TestParseRealClients(t *testing.T) {
	tests := []struct {
		name string
		cfg  *tls.Config
		want Hello
	}{
		{"sni and alpn", &tls.Config{ServerName: "api.example.com", NextProtos: []string{"h2", "http/1.1"}}, Hello{ServerName: "api.example.com", ALPN: []string{"h2", "http/1.1"}}},
		{"custom alpn", &tls.Config{ServerName: "mq.example.com", NextProtos: []string{"x-custom/7"}}, Hello{ServerName: "mq.example.com", ALPN: []string{"x-custom/7"}}},
		{"no sni", &tls.Config{InsecureSkipVerify: true}, Hello{}},
		{"tls12 only", &tls.Config{ServerName: "old.example.com", MaxVersion: tls.VersionTLS12}, Hello{ServerName: "old.example.com"}},
		{"post-quantum key share", &tls.Config{ServerName: "pq.example.com", CurvePreferences: []tls.CurveID{tls.X25519MLKEM768}}, Hello{ServerName: "pq.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := captureHello(t, tt.cfg)
			for _, frag := range []int{0, 1, 7, 100} {
				data := raw
				if frag > 0 {
					data = refragment(t, raw, frag)
				}
				// Every strict prefix is incomplete; the whole is parsed.
				for i := 0; i < len(data); i += 1 + i/8 {
					if _, err := Parse(data[:i]); !errors.Is(err, ErrIncomplete) {
						t.Fatalf("fragment %d, prefix %d/%d: err = %v, want ErrIncomplete", frag, i, len(data), err)
					}
				}
				got, err := Parse(data)
				if err != nil {
					t.Fatalf("fragment %d: %v", frag, err)
				}
				if got.ServerName != tt.want.ServerName || !slices.Equal(got.ALPN, tt.want.ALPN) {
					t.Errorf("fragment %d: got %+v, want %+v", frag, got, tt.want)
				}
				// Bytes after the hello (an early data record) change nothing.
				if again, err := Parse(append(slices.Clip(data), 0x17, 3, 3, 0, 1, 0)); err != nil || again.ServerName != got.ServerName {
					t.Errorf("with trailing record: %+v, %v", again, err)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	real := captureHello(t, &tls.Config{ServerName: "a.example.com"})
	corrupt := func(i int, b byte) []byte {
		c := bytes.Clone(real)
		c[i] = b
		return c
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"http request", []byte("GET / HTTP/1.1\r\n"), ErrNotTLS},
		{"ssh banner", []byte("SSH-2.0-OpenSSH\r\n"), ErrNotTLS},
		{"single non-tls byte", []byte("G"), ErrNotTLS},
		{"bad record version", corrupt(1, 9), ErrNotTLS},
		{"zero length record", []byte{0x16, 3, 1, 0, 0}, ErrMalformed},
		{"oversized record", []byte{0x16, 3, 1, 0xff, 0xff}, ErrMalformed},
		{"server hello", corrupt(5, 2), ErrMalformed},
		{"alert record after start", append(refragment(t, real, 10)[:15], 0x15, 3, 3, 0, 2, 2, 40), ErrMalformed},
		{"huge hello", []byte{0x16, 3, 1, 0x40, 0, 1, 0xff, 0xff, 0xff}, ErrIncomplete},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.data); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// A hello longer than MaxHelloLen is refused once its header is seen.
	big := []byte{0x16, 3, 1, 0, 4, 1, 0x10, 0, 0}
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: err = %v, want ErrTooLarge", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, cfg := range []*tls.Config{
		{ServerName: "a.example.com", NextProtos: []string{"h2", "http/1.1"}},
		{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12},
	} {
		raw := captureHello(f, cfg)
		f.Add(raw)
		f.Add(refragment(f, raw, 50))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data)
		if err != nil {
			return
		}
		for _, p := range h.ALPN {
			if p == "" {
				t.Fatal("empty ALPN protocol accepted")
			}
		}
		if len(h.ServerName) > 255 {
			t.Fatal("over-long server name accepted")
		}
		// More bytes never change a complete result.
		h2, err := Parse(append(slices.Clip(data), 0x16, 3, 3, 0, 1, 1))
		if err != nil || h2.ServerName != h.ServerName || !slices.Equal(h2.ALPN, h.ALPN) {
			t.Fatalf("appending bytes changed the result: %+v/%v vs %+v", h2, err, h)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw := captureHello(b, &tls.Config{ServerName: "api.example.com", NextProtos: []string{"h2", "http/1.1"}})
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}
