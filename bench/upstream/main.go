// Command upstream is the fixed backend of the side-by-side benchmark: every
// proxy under test forwards to it, and the harness also measures it directly.
// It answers HTTP/1.1 and h2c on a plain port and HTTP/1.1 and h2 on a TLS
// port, with a fixed body chosen by the path: /0 is empty, /1k is 1024 bytes.
// A request body, when there is one, is read in full before answering.
package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	plain := flag.String("listen", "127.0.0.1:0", "plain address (HTTP/1.1 and h2c)")
	secure := flag.String("tls-listen", "", "TLS address (HTTP/1.1 and h2); needs -cert and -key")
	cert := flag.String("cert", "", "PEM certificate for -tls-listen")
	key := flag.String("key", "", "PEM key for -tls-listen")
	flag.Parse()

	oneK := bytes.Repeat([]byte("x"), 1024)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
		}
		body := oneK
		if strings.HasSuffix(r.URL.Path, "/0") {
			body = nil
		}
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{fmt.Sprint(len(body))}
		w.Write(body)
	})

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	serve := func(l net.Listener) {
		srv := &http.Server{Handler: handler, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		log.Fatal(srv.Serve(l))
	}

	l, err := net.Listen("tcp", *plain)
	if err != nil {
		log.Fatal(err)
	}
	// The harness reads the chosen addresses from the first lines of stdout.
	fmt.Println(l.Addr())
	if *secure != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		tl, err := net.Listen("tcp", *secure)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tl.Addr())
		go serve(tls.NewListener(tl, &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}}))
	}
	os.Stdout.Sync()
	serve(l)
}
