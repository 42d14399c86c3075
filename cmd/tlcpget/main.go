// Command tlcpget fetches a URL over TLCP (GB/T 38636), the way curl does
// over TLS, to try and debug TLCP endpoints:
//
//	tlcpget [flags] https://host:port/path
//
// It prints the response body; -i adds the status line and headers, -v the
// negotiated suite and the server's certificates (on stderr).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/guan-gateway/guan/tls/tlcp"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tlcpget", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caFile := fs.String("cacert", "", "PEM file of the CA(s) that sign the server's SM2 certificates")
	insecure := fs.Bool("k", false, "do not verify the server's certificates")
	serverName := fs.String("servername", "", "server name to send and verify (default: the URL's host)")
	signCert := fs.String("cert", "", "client signing certificate (PEM), for mutual authentication")
	signKey := fs.String("key", "", "client signing key (PEM)")
	encCert := fs.String("enc-cert", "", "client encryption certificate (PEM)")
	encKey := fs.String("enc-key", "", "client encryption key (PEM)")
	suites := fs.String("suites", "", "comma-separated cipher suites to offer, e.g. ECC_SM4_CBC_SM3 (default: all)")
	method := fs.String("X", http.MethodGet, "request method")
	data := fs.String("d", "", "request body")
	include := fs.Bool("i", false, "print the status line and response headers")
	verbose := fs.Bool("v", false, "print the negotiated protocol, suite and server certificates on stderr")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for the whole exchange")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tlcpget [flags] https://host:port/path")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := clientConfig(*caFile, *insecure, *signCert, *signKey, *encCert, *encKey, *suites)
	if err != nil {
		fmt.Fprintln(stderr, "tlcpget:", err)
		return 2
	}
	var state tlcp.ConnectionState
	tr := &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c := *cfg
		if c.ServerName = *serverName; c.ServerName == "" {
			c.ServerName, _, _ = net.SplitHostPort(addr)
		}
		conn, err := tlcp.Dial(ctx, network, addr, &c)
		if err == nil {
			state = conn.ConnectionState()
		}
		return conn, err
	}}
	client := &http.Client{Transport: tr, Timeout: *timeout}
	var body io.Reader
	if *data != "" {
		body = strings.NewReader(*data)
	}
	req, err := http.NewRequest(*method, fs.Arg(0), body)
	if err != nil {
		fmt.Fprintln(stderr, "tlcpget:", err)
		return 2
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "tlcpget:", err)
		return 1
	}
	defer resp.Body.Close()
	if *verbose {
		fmt.Fprintf(stderr, "* TLCP 1.1, %s, resumed=%v\n", tlcp.CipherSuiteName(state.CipherSuite), state.DidResume)
		for i, c := range state.PeerCertificates {
			role := "chain"
			switch i {
			case 0:
				role = "signing"
			case 1:
				role = "encryption"
			}
			fmt.Fprintf(stderr, "* %s certificate: %s (issuer %s, expires %s)\n", role, c.Subject, c.Issuer, c.NotAfter.Format(time.DateOnly))
		}
	}
	if *include {
		fmt.Fprintf(stdout, "%s %s\n", resp.Proto, resp.Status)
		_ = resp.Header.Write(stdout)
		fmt.Fprintln(stdout)
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintln(stderr, "tlcpget:", err)
		return 1
	}
	return 0
}

func clientConfig(caFile string, insecure bool, signCert, signKey, encCert, encKey, suites string) (*tlcp.Config, error) {
	cfg := &tlcp.Config{InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = smx509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
	} else if !insecure {
		return nil, fmt.Errorf("give -cacert (the CA of the server's SM2 certificates) or -k")
	}
	if signCert != "" || encCert != "" {
		c, err := tlcp.LoadCertificate(signCert, signKey, encCert, encKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []*tlcp.Certificate{c}
	}
	if suites != "" {
		for _, n := range strings.Split(suites, ",") {
			id, err := tlcp.CipherSuiteByName(n)
			if err != nil {
				return nil, err
			}
			cfg.CipherSuites = append(cfg.CipherSuites, id)
		}
	}
	return cfg, nil
}
