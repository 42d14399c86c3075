package mirror

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/reqinfo"
)

func TestBoundedInFlightDropsCopies(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		<-release
	})
	main := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("main")) })
	m, err := New(Options{Main: main, Mirrors: []Target{{Name: "slow", Percent: 100, Handler: slow}}, MaxInFlight: 2, MirrorBody: true, MaxBodySize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Body.String() != "main" {
			t.Fatalf("main answered %q", rec.Body)
		}
	}
	if m.Dropped() != 3 {
		t.Fatalf("dropped %d copies, want 3 with 2 slots busy", m.Dropped())
	}
	close(release)
}

func TestCopiesDoNotShareRequestInfo(t *testing.T) {
	got := make(chan string, 1)
	mirrorH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := reqinfo.From(r.Context())
		info.OriginStatus = 999 // must not reach the main request's info
		got <- info.Service
	})
	main := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	m, _ := New(Options{Main: main, Mirrors: []Target{{Name: "copy@file", Percent: 100, Handler: mirrorH}}, MirrorBody: true, MaxBodySize: -1})
	info := &reqinfo.Info{}
	req := httptest.NewRequest("POST", "/", strings.NewReader("x"))
	m.ServeHTTP(httptest.NewRecorder(), req.WithContext(reqinfo.With(req.Context(), info)))
	select {
	case s := <-got:
		if s != "copy@file" {
			t.Fatalf("mirror info service %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mirror copy")
	}
	if info.OriginStatus == 999 {
		t.Fatal("mirror wrote into the main request's info")
	}
}
