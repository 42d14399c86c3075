package services

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/statestore"
)

// TestReferenceExamplesBuild decodes every example under
// examples/reference/services and builds each of its services.
func TestReferenceExamplesBuild(t *testing.T) {
	const dir = "../examples/reference/services"
	files, _ := filepath.Glob(dir + "/*.toml")
	yamls, _ := filepath.Glob(dir + "/*.yaml")
	files = append(files, yamls...)
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var cfg dynamic.Configuration
			if _, err := decode.File(f, &cfg); err != nil {
				t.Fatal(err)
			}
			o := Options{BaseDir: func(string) string { return dir }, Services: map[string]*dynamic.Service{}, Transports: map[string]*dynamic.ServersTransport{}, TCPServices: map[string]*dynamic.TCPService{}}
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
				o.TCPTransports = map[string]*dynamic.TCPServersTransport{}
				for n, tr := range c.ServersTransports {
					o.TCPTransports[n+"@file"] = tr
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
				if _, err := s.Handler(n); err != nil {
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
