package main

import (
	"bytes"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/tls/sm2certs"
	"github.com/guan-gateway/guan/tls/tlcp"
)

func TestFetchOverTLCP(t *testing.T) {
	dir := t.TempDir()
	set, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	cert, err := tlcp.LoadCertificate(filepath.Join(dir, "sign.crt"), filepath.Join(dir, "sign.key"), filepath.Join(dir, "enc.crt"), filepath.Join(dir, "enc.key"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", r.Method)
		_, _ = w.Write([]byte("ledger"))
	})}
	go srv.Serve(tlcp.NewListener(ln, &tlcp.Config{Certificates: []*tlcp.Certificate{cert}}))
	defer srv.Close()
	url := "https://" + ln.Addr().String() + "/"

	var out, errOut bytes.Buffer
	code := run([]string{"-i", "-v", "-X", "POST", "-d", "x", "-cacert", filepath.Join(dir, "ca.crt"), "-suites", "ECC_SM4_CBC_SM3", url}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "X-Seen: POST") || !strings.HasSuffix(out.String(), "ledger") ||
		!strings.Contains(errOut.String(), "ECC_SM4_CBC_SM3") || !strings.Contains(errOut.String(), "encryption certificate") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	// Without the CA the server is not trusted.
	out.Reset()
	errOut.Reset()
	other, _ := sm2certs.Generate(sm2certs.Options{Hosts: []string{"x"}})
	otherDir := t.TempDir()
	_ = other.WriteFiles(otherDir)
	if code := run([]string{"-cacert", filepath.Join(otherDir, "ca.crt"), url}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "unknown certificate authority") {
		t.Fatalf("untrusted server: exit %d, %s", code, errOut.String())
	}
	if code := run([]string{url}, &out, &errOut); code != 2 {
		t.Fatalf("no -cacert and no -k: exit %d", code)
	}
}
