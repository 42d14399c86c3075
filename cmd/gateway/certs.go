package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/guan-gateway/guan/tls/sm2certs"
)

const certsUsage = `Usage:
  gateway certs sm2 --out DIR --host NAME [--host NAME...] [--client CN] [--days N]

Writes a test SM2 CA and, for TLCP, a signing and an encryption pair for the
server (covering every --host, DNS names or IPs) and for a client:
  ca.crt ca.key  sign.crt sign.key  enc.crt enc.key
  client-sign.crt client-sign.key  client-enc.crt client-enc.key
Keys are PKCS#8 PEM. These are for trying TLCP, not for production.
`

// certs runs "gateway certs ...".
func certs(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "sm2" {
		fmt.Fprint(stderr, certsUsage)
		return 2
	}
	fs := flag.NewFlagSet("certs sm2", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, certsUsage) }
	out := fs.String("out", "", "directory to write into (created if missing)")
	client := fs.String("client", "tlcp-client", "common name of the client pairs")
	days := fs.Int("days", 365, "validity in days")
	var hosts multiFlag
	fs.Var(&hosts, "host", "a DNS name or IP the server pairs cover (repeatable, or comma-separated)")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *out == "" || len(hosts) == 0 || fs.NArg() > 0 || *days <= 0 {
		fmt.Fprintf(stderr, "gateway certs sm2: --out and at least one --host are needed\n%s", certsUsage)
		return 2
	}
	set, err := sm2certs.Generate(sm2certs.Options{Hosts: hosts, Client: *client, Validity: time.Duration(*days) * 24 * time.Hour})
	if err == nil {
		err = set.WriteFiles(*out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway certs sm2: %v\n", err)
		return 1
	}
	for _, f := range sm2certs.Files {
		fmt.Fprintln(stdout, filepath.Join(*out, f))
	}
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			*m = append(*m, h)
		}
	}
	return nil
}
