package ipallowlist

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

func TestAllowList(t *testing.T) {
	tests := []struct {
		name     string
		cfg      dynamic.IPAllowList
		xff      string
		wantCode int
		wantBody string
	}{
		{name: "loopback allowed", cfg: dynamic.IPAllowList{SourceRange: []string{"127.0.0.1"}}, wantCode: 200, wantBody: "ok"},
		{name: "loopback CIDR allowed", cfg: dynamic.IPAllowList{SourceRange: []string{"10.0.0.0/8", "127.0.0.0/8"}}, wantCode: 200, wantBody: "ok"},
		{name: "not in range", cfg: dynamic.IPAllowList{SourceRange: []string{"10.0.0.0/8"}}, wantCode: 403, wantBody: "Forbidden"},
		{name: "custom reject code", cfg: dynamic.IPAllowList{SourceRange: []string{"10.0.0.0/8"}, RejectStatusCode: 404}, wantCode: 404, wantBody: "Not Found"},
		{name: "depth picks allowed client", cfg: dynamic.IPAllowList{SourceRange: []string{"192.0.2.0/24"}, IPStrategy: &dynamic.IPStrategy{Depth: 2}}, xff: "192.0.2.10, 198.51.100.1", wantCode: 200, wantBody: "ok"},
		{name: "depth picks denied client", cfg: dynamic.IPAllowList{SourceRange: []string{"192.0.2.0/24"}, IPStrategy: &dynamic.IPStrategy{Depth: 1}}, xff: "192.0.2.10, 198.51.100.1", wantCode: 403, wantBody: "Forbidden"},
		{name: "depth without header denied", cfg: dynamic.IPAllowList{SourceRange: []string{"0.0.0.0/0"}, IPStrategy: &dynamic.IPStrategy{Depth: 1}}, wantCode: 403, wantBody: "Forbidden"},
		{name: "excluded proxies", cfg: dynamic.IPAllowList{SourceRange: []string{"2001:db8::/32"}, IPStrategy: &dynamic.IPStrategy{ExcludedIPs: []string{"10.0.0.0/8"}}}, xff: "2001:db8::9, 10.0.0.2", wantCode: 200, wantBody: "ok"},
		{name: "spoofed garbage denied", cfg: dynamic.IPAllowList{SourceRange: []string{"0.0.0.0/0"}, IPStrategy: &dynamic.IPStrategy{Depth: 1}}, xff: "evil", wantCode: 403, wantBody: "Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(middlewares.Env{Name: "test@file"}, tt.cfg, okHandler)
			if err != nil {
				t.Fatal(err)
			}
			srv := mwtest.Serve(t, h)
			req := srv.NewRequest(t, http.MethodGet, "/", nil)
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			resp, body := srv.Do(t, req)
			if resp.StatusCode != tt.wantCode || body != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	build := func(cfg dynamic.IPAllowList) error {
		_, err := New(middlewares.Env{}, cfg, okHandler)
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("empty range", dynamic.IPAllowList{}, "sourceRange is empty"),
		mwtest.Bad("bad range", dynamic.IPAllowList{SourceRange: []string{"10.0.0.0/40"}}, "CIDR"),
		mwtest.Bad("bad status", dynamic.IPAllowList{SourceRange: []string{"10.0.0.1"}, RejectStatusCode: 999}, "rejectStatusCode"),
		mwtest.Bad("bad strategy", dynamic.IPAllowList{SourceRange: []string{"10.0.0.1"}, IPStrategy: &dynamic.IPStrategy{ExcludedIPs: []string{"x"}}}, "excludedIPs"),
	)
}

func TestConcurrent(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.IPAllowList{SourceRange: []string{"192.0.2.0/24"}, IPStrategy: &dynamic.IPStrategy{Depth: 1}}, okHandler)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				allowed := (i+j)%2 == 0
				if allowed {
					req.Header.Set("X-Forwarded-For", "192.0.2.1")
				} else {
					req.Header.Set("X-Forwarded-For", "198.51.100.1")
				}
				resp, _, err := srv.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				if (resp.StatusCode == 200) != allowed {
					t.Errorf("allowed=%v got %d", allowed, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func BenchmarkAllowed(b *testing.B) {
	ranges := []string{"127.0.0.1"}
	for i := range 200 {
		ranges = append(ranges, "10."+strconv.Itoa(i)+".0.0/16")
	}
	h, err := New(middlewares.Env{}, dynamic.IPAllowList{SourceRange: ranges}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.150.3.4:5555"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func TestWhiteList(t *testing.T) {
	h, err := NewWhiteList(middlewares.Env{Name: "old@file"}, dynamic.IPWhiteList{
		SourceRange: []string{"192.0.2.0/24"},
		IPStrategy:  &dynamic.IPStrategy{Depth: 1},
	}, okHandler)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	for xff, want := range map[string]int{"192.0.2.10": 200, "198.51.100.1": 403} {
		req := srv.NewRequest(t, http.MethodGet, "/", nil)
		req.Header.Set("X-Forwarded-For", xff)
		if resp, body := srv.Do(t, req); resp.StatusCode != want {
			t.Errorf("client %s: got %d %q, want %d", xff, resp.StatusCode, body, want)
		}
	}
	_, err = NewWhiteList(middlewares.Env{}, dynamic.IPWhiteList{}, okHandler)
	if err == nil || !strings.HasPrefix(err.Error(), "ipWhiteList: sourceRange is empty") {
		t.Fatalf("err = %v", err)
	}
}
