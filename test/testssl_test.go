package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An external TLS scanner (testssl.sh, from Debian) finds nothing to report
// in the default TLS settings of an entrypoint — protocols, cipher suites,
// server preferences, known vulnerabilities — with TLCP served on the same
// port. Findings about the test certificate itself (its chain, validity,
// revocation URLs), DNS CAA records and the TLS 1.3 ticket lifetime hint
// (crypto/tls always announces 7 days; Guan rotates the ticket keys every
// 12 hours and drops them after 36) are outside what this checks.
func TestTestsslFindsNothing(t *testing.T) {
	bin, err := exec.LookPath("testssl")
	if err != nil {
		t.Skip("testssl (Debian package testssl.sh) is not installed; scripts/test.sh installs it")
	}
	ca := newTestCA(t, "scan CA")
	cert, key, _ := ca.issue(t, "scan.test", false, "scan.test")
	sm := "../examples/tlcp/certs/"
	abs := func(p string) string { a, _ := filepath.Abs(sm + p); return a }
	cfg := ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[[tls.certificates]]
  certFile = %q
  keyFile = %q
  encCertFile = %q
  encKeyFile = %q
[tls.options.default]
  tlcp = "auto"
[http.routers.r]
  entryPoints = ["websecure"]
  rule = "PathPrefix(´/´)"
  service = "demo@internal"
  [http.routers.r.tls]
`, cert, key, abs("sign.crt"), abs("sign.key"), abs("enc.crt"), abs("enc.key")))
	port := freePort(t)
	startGateway(t, map[string]string{"scan.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"websecure": port}})

	out := filepath.Join(t.TempDir(), "scan.json")
	cmd := exec.Command(bin, "--quiet", "--color", "0", "--warnings", "off", "-p", "-s", "-P", "-U", "-S",
		"--jsonfile", out, "--ip", "127.0.0.1", fmt.Sprintf("https://scan.test:%d", port))
	if b, err := cmd.CombinedOutput(); err != nil && !fileExists(out) {
		t.Fatalf("testssl: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var findings []struct{ ID, Severity, Finding string }
	if err := json.Unmarshal(data, &findings); err != nil {
		t.Fatal(err)
	}
	if len(findings) < 40 {
		t.Fatalf("testssl reported only %d items; did the scan run?\n%s", len(findings), data)
	}
	seen := map[string]bool{}
	for _, f := range findings {
		seen[f.ID] = true
		if f.Severity == "OK" || f.Severity == "INFO" || strings.HasPrefix(f.ID, "cert_") ||
			f.ID == "DNS_CAArecord" || f.ID == "TLS_session_ticket" {
			continue
		}
		t.Errorf("testssl finding %s %s: %s", f.Severity, f.ID, f.Finding)
	}
	// CBC suites (cipherlist_AVERAGE), TLS 1.0 and 1.1 are not offered.
	for _, id := range []string{"TLS1", "TLS1_1", "cipherlist_AVERAGE"} {
		if sev, fnd := severity(findings, id); sev != "INFO" || fnd != "not offered" {
			t.Errorf("testssl on %s: %s %q, want not offered", id, sev, fnd)
		}
	}
	for _, id := range []string{"SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE", "RC4", "BEAST", "LUCKY13", "SWEET32"} {
		if !seen[id] {
			t.Errorf("testssl did not report on %s", id)
		}
	}
}

func severity(findings []struct{ ID, Severity, Finding string }, id string) (string, string) {
	for _, f := range findings {
		if f.ID == id {
			return f.Severity, f.Finding
		}
	}
	return "", ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
