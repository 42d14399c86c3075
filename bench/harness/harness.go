// Package harness holds what the load commands under bench/ (mqttload,
// h3load) need around the gateway they measure: free loopback ports, a
// self-signed certificate, waiting for a listener, the resident memory of
// a process, medians of rounds, building the gateway, writing the report,
// and leaving on the first error.
package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Check ends the command on err, naming the command.
func Check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListening waits up to 5 s for a TCP listener on addr.
func WaitListening(addr string) {
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	Check(fmt.Errorf("%s never listened", addr))
}

// SelfSigned writes an ECDSA P-256 certificate for host (a name or an IP
// address) and its key into dir, and returns the two file names.
func SelfSigned(dir, host string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Check(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Check(err)
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	Check(err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	Check(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	Check(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile
}

// RSSKB returns a process's resident set in KB (0 when it cannot be read).
func RSSKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// Median is the middle of the rounds' figures.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// Whole rounds the figures down, for the raw-rounds line of a report.
func Whole(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// Report prints a report and, unless dir is empty, writes it into dir as
// <date-time>-<kind>.md.
func Report(dir, kind, text string) {
	fmt.Print(text)
	if dir == "" {
		return
	}
	Check(os.MkdirAll(dir, 0o755))
	name := filepath.Join(dir, time.Now().UTC().Format("2006-01-02-1504")+"-"+kind+".md")
	Check(os.WriteFile(name, []byte(text), 0o644))
	fmt.Fprintln(os.Stderr, "wrote", name)
}

// BuildGateway returns bin, or when it is empty builds ./cmd/gateway into
// dir and returns that binary.
func BuildGateway(dir, bin string) string {
	if bin != "" {
		return bin
	}
	bin = filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gateway")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	Check(build.Run())
	return bin
}
