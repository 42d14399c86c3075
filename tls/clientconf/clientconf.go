// Package clientconf builds the TLS configuration a middleware uses towards
// a server it calls (an authentication server, Redis): a CA to trust, an
// optional client certificate.
package clientconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Files names the PEM files, already resolved against the directory of
// the configuration file that names them.
type Files struct {
	CA                 string
	Cert, Key          string
	InsecureSkipVerify bool
}

// Load reads the files. Without CA the system roots are trusted.
func Load(f Files) (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: f.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca: %s holds no PEM certificate", f.CA)
		}
		tc.RootCAs = pool
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("cert and key go together: set both for a client certificate, or neither")
	}
	if f.Cert != "" {
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("cert/key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}
