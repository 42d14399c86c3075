package passtlsclientcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var (
	notBefore = time.Unix(1747282426, 0)
	notAfter  = time.Unix(1778818426, 0)
)

func dc(v string) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: v}
}

// issue signs tmpl with parent (self-signed when parent is nil).
func issue(t testing.TB, tmpl *x509.Certificate, parent *issued) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &issued{c, key}
}

// chain returns a leaf with every kind of subject attribute and SAN, and
// the intermediate CA that signed it.
func chain(t testing.TB) (leaf, inter *issued) {
	t.Helper()
	root := issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil)
	inter = issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject: pkix.Name{
			Country: []string{"FR"}, Province: []string{"Signing State"}, Locality: []string{"TOULOUSE"},
			Organization: []string{"Cheese"}, OrganizationalUnit: []string{"Signing"},
			CommonName: "Simple Signing CA 2", SerialNumber: "7",
			ExtraNames: []pkix.AttributeTypeAndValue{dc("org"), dc("cheese")},
		},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, root)
	uri, _ := url.Parse("spiffe://cheese.org/client")
	leaf = issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(1234),
		Subject: pkix.Name{
			Country: []string{"FR", "US"}, Province: []string{"Cheese org state", "Cheese com state"},
			Locality: []string{"TOULOUSE", "LYON"}, Organization: []string{"Cheese", "Cheese 2"},
			OrganizationalUnit: []string{"Cheese Section"}, CommonName: "*.example.com", SerialNumber: "42",
			ExtraNames: []pkix.AttributeTypeAndValue{dc("org"), dc("cheese")},
		},
		DNSNames:       []string{"*.example.org", "*.example.net"},
		EmailAddresses: []string{"test@example.org"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.1.0"), net.ParseIP("2001:db8::1")},
		URIs:           []*url.URL{uri},
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, inter)
	return leaf, inter
}

var all = &dynamic.TLSClientCertificateInfo{
	NotAfter: true, NotBefore: true, Sans: true, SerialNumber: true,
	Subject: &dynamic.TLSClientCertificateSubjectDNInfo{
		Country: true, Province: true, Locality: true, Organization: true, OrganizationalUnit: true,
		CommonName: true, SerialNumber: true, DomainComponent: true,
	},
	Issuer: &dynamic.TLSClientCertificateIssuerDNInfo{
		Country: true, Province: true, Locality: true, Organization: true,
		CommonName: true, SerialNumber: true, DomainComponent: true,
	},
}

// seen is what the service received.
type seen struct {
	cert, info []string
}

// serve runs the middleware behind a real TLS server that asks for (but
// does not verify) client certificates, and returns the client's requests
// as the service saw them.
func serve(t *testing.T, cfg dynamic.PassTLSClientCert) (*httptest.Server, chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	h, err := New(middlewares.Env{}, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Values(CertHeader), r.Header.Values(InfoHeader)}
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, got
}

// request sends a GET with spoofed headers, presenting certs (leaf first)
// when there are any.
func request(t *testing.T, srv *httptest.Server, got chan seen, certs ...*issued) seen {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	if len(certs) > 0 {
		pair := tls.Certificate{PrivateKey: certs[0].key, Leaf: certs[0].cert}
		for _, c := range certs {
			pair.Certificate = append(pair.Certificate, c.cert.Raw)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set(CertHeader, "spoofed")
	req.Header.Set(InfoHeader, "spoofed")
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	tr.CloseIdleConnections()
	return <-got
}

func TestAllInfoAndPEMOfAChain(t *testing.T) {
	leaf, inter := chain(t)
	srv, got := serve(t, dynamic.PassTLSClientCert{PEM: true, Info: all})
	s := request(t, srv, got, leaf, inter)

	// The PEM as Traefik makes it: PEM-encoded, delimiters and line breaks
	// removed, certificates joined by commas, not escaped.
	sanitize := strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "")
	var want []string
	for _, c := range []*issued{leaf, inter} {
		want = append(want, sanitize.Replace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))))
	}
	if len(s.cert) != 1 || s.cert[0] != strings.Join(want, ",") {
		t.Errorf("%s = %q\nwant %q", CertHeader, s.cert, strings.Join(want, ","))
	}

	// Values of a multi-valued attribute come in the certificate's order
	// (DER sorts the values of one RDN set).
	wantInfo := `Subject="DC=org,DC=cheese,C=FR,C=US,ST=Cheese com state,ST=Cheese org state,L=LYON,L=TOULOUSE,O=Cheese,O=Cheese 2,OU=Cheese Section,SN=42,CN=*.example.com";` +
		`Issuer="DC=org,DC=cheese,C=FR,ST=Signing State,L=TOULOUSE,O=Cheese,SN=7,CN=Simple Signing CA 2";` +
		`SerialNumber="1234";NB="1747282426";NA="1778818426";` +
		`SAN="*.example.org,*.example.net,test@example.org,10.0.1.0,2001:db8::1,spiffe://cheese.org/client"` +
		`,` +
		`Subject="DC=org,DC=cheese,C=FR,ST=Signing State,L=TOULOUSE,O=Cheese,OU=Signing,SN=7,CN=Simple Signing CA 2";` +
		`Issuer="CN=Root";SerialNumber="2";NB="1747282426";NA="1778818426"`
	if len(s.info) != 1 || s.info[0] != url.QueryEscape(wantInfo) {
		t.Fatalf("%s = %q\nwant %q", InfoHeader, s.info, url.QueryEscape(wantInfo))
	}
}

func TestSelectedInfo(t *testing.T) {
	leaf, _ := chain(t)
	for _, tt := range []struct {
		name string
		info *dynamic.TLSClientCertificateInfo
		want string
	}{
		{"common name and not after", &dynamic.TLSClientCertificateInfo{
			NotAfter: true, Subject: &dynamic.TLSClientCertificateSubjectDNInfo{CommonName: true},
		}, `Subject="CN=*.example.com";NA="1778818426"`},
		{"issuer organization and SANs", &dynamic.TLSClientCertificateInfo{
			Sans: true, Issuer: &dynamic.TLSClientCertificateIssuerDNInfo{Organization: true, DomainComponent: true},
		}, `Issuer="DC=org,DC=cheese,O=Cheese";SAN="*.example.org,*.example.net,test@example.org,10.0.1.0,2001:db8::1,spiffe://cheese.org/client"`},
		{"empty selections", &dynamic.TLSClientCertificateInfo{
			Subject: &dynamic.TLSClientCertificateSubjectDNInfo{}, Issuer: &dynamic.TLSClientCertificateIssuerDNInfo{},
		}, ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := serve(t, dynamic.PassTLSClientCert{Info: tt.info})
			s := request(t, srv, got, leaf)
			if len(s.info) != 1 || s.info[0] != url.QueryEscape(tt.want) {
				t.Fatalf("%s = %q, want %q", InfoHeader, s.info, url.QueryEscape(tt.want))
			}
			// pem is off: the client's value is left to the entrypoint,
			// which removes it unless the client is a trusted proxy.
			if fmt.Sprint(s.cert) != "[spoofed]" {
				t.Fatalf("%s = %q", CertHeader, s.cert)
			}
		})
	}
}

// Without a client certificate the headers are not set; the values a
// client sends are the entrypoint's business (forwardedHeaders).
func TestNoClientCertificate(t *testing.T) {
	srv, got := serve(t, dynamic.PassTLSClientCert{PEM: true, Info: all})
	s := request(t, srv, got)
	if fmt.Sprint(s.cert, s.info) != "[spoofed] [spoofed]" {
		t.Fatalf("got %q %q", s.cert, s.info)
	}
	// Nothing selected: the middleware is a no-op.
	next := http.NotFoundHandler()
	if h, _ := New(middlewares.Env{}, dynamic.PassTLSClientCert{}, next); fmt.Sprint(h) != fmt.Sprint(next) {
		t.Fatal("empty configuration wraps the handler")
	}
}

func BenchmarkHeaders(b *testing.B) {
	leaf, inter := chain(b)
	certs := []*x509.Certificate{leaf.cert, inter.cert}
	b.ReportAllocs()
	for b.Loop() {
		PEM(certs)
		url.QueryEscape(Info(all, certs))
	}
}
