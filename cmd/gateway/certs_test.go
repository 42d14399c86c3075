package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/guan-gateway/guan/tls/tlcp"
)

func TestCertsSM2(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sm")
	var out, errOut bytes.Buffer
	if code := run([]string{"certs", "sm2", "--out", dir, "--host", "bank.test,127.0.0.1", "--days", "30"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Count(out.String(), "\n") != 10 {
		t.Fatalf("listed files:\n%s", out.String())
	}
	server, err := tlcp.LoadCertificate(filepath.Join(dir, "sign.crt"), filepath.Join(dir, "sign.key"), filepath.Join(dir, "enc.crt"), filepath.Join(dir, "enc.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlcp.LoadCertificate(filepath.Join(dir, "client-sign.crt"), filepath.Join(dir, "client-sign.key"), filepath.Join(dir, "client-enc.crt"), filepath.Join(dir, "client-enc.key")); err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	roots := smx509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, name := range []string{"bank.test", "127.0.0.1"} {
		if _, err := server.Sign.Leaf.Verify(smx509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("signing certificate for %s: %v", name, err)
		}
	}
	if d := server.Enc.Leaf.NotAfter.Sub(server.Enc.Leaf.NotBefore).Hours() / 24; d < 30 || d > 31 {
		t.Errorf("validity %.1f days, want 30", d)
	}
	if st, _ := os.Stat(filepath.Join(dir, "enc.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode())
	}
	// Usage errors.
	if code := run([]string{"certs", "sm2", "--out", dir}, &out, &errOut); code != 2 {
		t.Errorf("no --host: exit %d", code)
	}
	if code := run([]string{"certs", "rsa"}, &out, &errOut); code != 2 {
		t.Errorf("unknown kind: exit %d", code)
	}
}
