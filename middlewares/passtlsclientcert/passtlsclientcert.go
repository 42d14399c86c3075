// Package passtlsclientcert implements the passTLSClientCert middleware: it
// hands the certificate a client presented over mutual TLS to the service, in
// the request headers X-Forwarded-Tls-Client-Cert (the certificates, base64
// DER as in PEM without its delimiters and line breaks) and
// X-Forwarded-Tls-Client-Cert-Info (selected fields, URL-escaped), in
// Traefik v3's format.
//
// A request without a client certificate is passed on unchanged. The
// entrypoint has already removed these headers from requests of clients
// that are not trusted (forwardedHeaders), so a client cannot make them up;
// a trusted proxy's values are kept, as in Traefik.
package passtlsclientcert

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

// Header names, canonical.
const (
	CertHeader = "X-Forwarded-Tls-Client-Cert"
	InfoHeader = "X-Forwarded-Tls-Client-Cert-Info"
)

type passTLSClientCert struct {
	next http.Handler
	pem  bool
	info *dynamic.TLSClientCertificateInfo
}

// New returns the middleware. A configuration with neither pem nor info is
// valid and passes requests on unchanged, as in Traefik.
func New(_ middlewares.Env, cfg dynamic.PassTLSClientCert, next http.Handler) (http.Handler, error) {
	if !cfg.PEM && cfg.Info == nil {
		return next, nil
	}
	return &passTLSClientCert{next: next, pem: cfg.PEM, info: cfg.Info}, nil
}

func (p *passTLSClientCert) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.TLS != nil && len(req.TLS.PeerCertificates) > 0 {
		certs := req.TLS.PeerCertificates
		if p.pem {
			req.Header.Set(CertHeader, PEM(certs))
		}
		if p.info != nil {
			req.Header.Set(InfoHeader, url.QueryEscape(Info(p.info, certs)))
		}
	}
	p.next.ServeHTTP(rw, req)
}

// PEM is the X-Forwarded-Tls-Client-Cert value: each certificate's PEM
// body without the BEGIN/END lines and line breaks (the base64 of its DER),
// separated by commas.
func PEM(certs []*x509.Certificate) string {
	var b strings.Builder
	for i, c := range certs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(base64.StdEncoding.EncodeToString(c.Raw))
	}
	return b.String()
}

// Info is the X-Forwarded-Tls-Client-Cert-Info value before URL escaping:
// per certificate, the selected fields among
//
//	Subject="C=FR,ST=...,CN=...";Issuer="...";SerialNumber="...";NB="<unix>";NA="<unix>";SAN="dns,email,ip,uri"
//
// joined by ";" (empty fields left out), certificates separated by ",".
func Info(info *dynamic.TLSClientCertificateInfo, certs []*x509.Certificate) string {
	var b strings.Builder
	for i, c := range certs {
		if i > 0 {
			b.WriteByte(',')
		}
		f := fields{b: &b}
		if s := info.Subject; s != nil {
			f.add("Subject", dn(&c.Subject, dnParts{
				dc: s.DomainComponent, c: s.Country, st: s.Province, l: s.Locality,
				o: s.Organization, ou: s.OrganizationalUnit, sn: s.SerialNumber, cn: s.CommonName,
			}))
		}
		if s := info.Issuer; s != nil {
			f.add("Issuer", dn(&c.Issuer, dnParts{
				dc: s.DomainComponent, c: s.Country, st: s.Province, l: s.Locality,
				o: s.Organization, sn: s.SerialNumber, cn: s.CommonName,
			}))
		}
		if info.SerialNumber && c.SerialNumber != nil {
			f.add("SerialNumber", c.SerialNumber.String())
		}
		if info.NotBefore {
			f.add("NB", strconv.FormatUint(uint64(c.NotBefore.Unix()), 10))
		}
		if info.NotAfter {
			f.add("NA", strconv.FormatUint(uint64(c.NotAfter.Unix()), 10))
		}
		if info.Sans {
			f.add("SAN", strings.Join(sans(c), ","))
		}
	}
	return b.String()
}

// fields writes `key="value"` pairs of one certificate, separated by ";".
type fields struct {
	b    *strings.Builder
	some bool
}

func (f *fields) add(key, value string) {
	if value == "" {
		return
	}
	if f.some {
		f.b.WriteByte(';')
	}
	f.some = true
	f.b.WriteString(key)
	f.b.WriteString(`="`)
	f.b.WriteString(value)
	f.b.WriteByte('"')
}

// dnParts selects the attributes of a distinguished name.
type dnParts struct{ dc, c, st, l, o, ou, sn, cn bool }

// oidDomainComponent is the domainComponent attribute (RFC 2247).
var oidDomainComponent = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}

// dn writes the selected attributes in Traefik's order — DC, C, ST, L, O,
// OU, SN, CN — as "K=value" separated by commas, every value of a
// multi-valued attribute in turn.
func dn(n *pkix.Name, p dnParts) string {
	var parts []string
	if p.dc {
		for _, a := range n.Names {
			if a.Type.Equal(oidDomainComponent) {
				parts = append(parts, fmt.Sprintf("DC=%s", a.Value))
			}
		}
	}
	add := func(on bool, key string, values ...string) {
		if !on {
			return
		}
		for _, v := range values {
			if v != "" {
				parts = append(parts, key+"="+v)
			}
		}
	}
	add(p.c, "C", n.Country...)
	add(p.st, "ST", n.Province...)
	add(p.l, "L", n.Locality...)
	add(p.o, "O", n.Organization...)
	add(p.ou, "OU", n.OrganizationalUnit...)
	add(p.sn, "SN", n.SerialNumber)
	add(p.cn, "CN", n.CommonName)
	return strings.Join(parts, ",")
}

// sans lists the subject alternative names: DNS names, email addresses, IP
// addresses, then URIs.
func sans(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.EmailAddresses)+len(c.IPAddresses)+len(c.URIs))
	out = append(out, c.DNSNames...)
	out = append(out, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}
