package loadbalancer

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
)

func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
}

func TestBalancer(t *testing.T) {
	st := health.NewServers([]string{"http://a", "http://b"}, nil)
	b, err := New(Options{Name: "svc@file", State: st, Servers: []Server{
		{URL: "http://a", Weight: 1, Handler: named("a")},
		{URL: "http://b", Weight: 1, Handler: named("b")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func() (int, string, *reqinfo.Info) {
		info := &reqinfo.Info{}
		req := httptest.NewRequest("GET", "/", nil)
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req.WithContext(reqinfo.With(req.Context(), info)))
		return rec.Code, rec.Body.String(), info
	}
	if _, body, info := serve(); body != "a" || info.Service != "svc@file" {
		t.Fatalf("body %q, service %q", body, info.Service)
	}
	st.SetActive(0, false)
	for range 3 {
		if _, body, _ := serve(); body != "b" {
			t.Fatalf("went to %q while a is down", body)
		}
	}
	st.SetActive(1, false)
	if code, body, info := serve(); code != 503 || body != "Service Unavailable" || info.OriginStatus != 503 {
		t.Fatalf("all down: %d %q", code, body)
	}
	if b.Healthy() {
		t.Fatal("Healthy with all servers down")
	}
}

func TestNewErrors(t *testing.T) {
	st := health.NewServers([]string{"http://a"}, nil)
	srv := []Server{{URL: "http://a", Weight: 1, Handler: named("a")}}
	tests := []struct {
		o    Options
		want string
	}{
		{Options{State: st}, "no servers"},
		{Options{Servers: srv, State: st, Strategy: "leasttime"}, `strategy "leasttime"`},
		{Options{Servers: srv}, "health state"},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}
