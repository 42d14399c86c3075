package services

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/statestore"
)

// TestReferenceExamplesBuild decodes every example under
// examples/reference/services and builds each of its services.
func TestReferenceExamplesBuild(t *testing.T) {
	files, _ := filepath.Glob("../examples/reference/services/*")
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var cfg dynamic.Configuration
			if _, err := decode.File(f, &cfg); err != nil {
				t.Fatal(err)
			}
			o := Options{Services: map[string]*dynamic.Service{}, Transports: map[string]*dynamic.ServersTransport{}, TCPServices: map[string]*dynamic.TCPService{}}
			var names, tcpNames []string
			if h := cfg.HTTP; h != nil {
				for n, s := range h.Services {
					o.Services[n+"@file"] = s
					names = append(names, n+"@file")
				}
				for n, tr := range h.ServersTransports {
					o.Transports[n+"@file"] = tr
				}
			}
			if c := cfg.TCP; c != nil {
				for n, s := range c.Services {
					o.TCPServices[n+"@file"] = s
					tcpNames = append(tcpNames, n+"@file")
				}
			}
			if len(names)+len(tcpNames) == 0 && len(o.Transports) == 0 {
				t.Fatal("example defines nothing")
			}
			sort.Strings(names)
			build := statestore.New().Begin()
			defer build.Abort() // stops health checkers
			o.Store = build
			s := New(o)
			for _, n := range names {
				_, err := s.Handler(n)
				// Transport examples point at certificate files a
				// deployment provides; the error must name them.
				if strings.HasPrefix(filepath.Base(f), "servers-transport") {
					if err == nil || !strings.Contains(err.Error(), "certs/") {
						t.Errorf("%s: err = %v, want a missing certificate file", n, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", n, err)
				}
			}
			for _, n := range tcpNames {
				if _, err := s.TCPHandler(n); err != nil {
					t.Errorf("%s: %v", n, err)
				}
			}
		})
	}
}
