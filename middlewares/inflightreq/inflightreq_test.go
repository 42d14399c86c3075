package inflightreq

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/statestore"
)

// gate is a backend that holds every request until released, and tells the
// test when one has arrived.
type gate struct {
	arrived chan struct{}
	release chan struct{}
	now     atomic.Int64
	peak    atomic.Int64
}

func newGate() *gate {
	return &gate{arrived: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := g.now.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	g.arrived <- struct{}{}
	<-g.release
	g.now.Add(-1)
	io.WriteString(w, "ok")
}

func (g *gate) waitArrivals(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-g.arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("backend request did not arrive")
		}
	}
}

func get(t *testing.T, c *http.Client, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLimitPerSource(t *testing.T) {
	tests := []struct {
		name     string
		sc       *dynamic.SourceCriterion
		busy     map[string]string // source of the requests that fill the slots
		sameSrc  map[string]string // rejected: same source
		otherSrc map[string]string // served: another source
	}{
		{
			name:     "request header",
			sc:       &dynamic.SourceCriterion{RequestHeaderName: "x-tenant"},
			busy:     map[string]string{"X-Tenant": "a"},
			sameSrc:  map[string]string{"X-Tenant": "a"},
			otherSrc: map[string]string{"X-Tenant": "b"},
		},
		{
			name:     "request host",
			sc:       &dynamic.SourceCriterion{RequestHost: true},
			busy:     map[string]string{"Host": "a.example"},
			sameSrc:  map[string]string{"Host": "a.example"},
			otherSrc: map[string]string{"Host": "b.example"},
		},
		{
			name:     "ip strategy depth",
			sc:       &dynamic.SourceCriterion{IPStrategy: &dynamic.IPStrategy{Depth: 1}},
			busy:     map[string]string{"X-Forwarded-For": "192.0.2.1"},
			sameSrc:  map[string]string{"X-Forwarded-For": "198.51.100.7, 192.0.2.1"},
			otherSrc: map[string]string{"X-Forwarded-For": "192.0.2.2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			h, err := New(middlewares.Env{Name: "limit@file"}, dynamic.InFlightReq{Amount: 2, SourceCriterion: tt.sc}, g)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := srv.Client()
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if code, _ := get(t, c, srv.URL, tt.busy); code != 200 {
						t.Errorf("busy request got %d", code)
					}
				})
			}
			g.waitArrivals(t, 2)
			if code, body := get(t, c, srv.URL, tt.sameSrc); code != 429 || body != "Too Many Requests\n" {
				t.Errorf("same source got %d %q, want 429 Too Many Requests", code, body)
			}
			wg.Go(func() {
				if code, _ := get(t, c, srv.URL, tt.otherSrc); code != 200 {
					t.Errorf("other source got %d", code)
				}
			})
			g.waitArrivals(t, 1)
			close(g.release)
			wg.Wait()
			if code, _ := get(t, c, srv.URL, tt.sameSrc); code != 200 {
				t.Errorf("after release got %d", code)
			}
		})
	}
}

func TestDefaultSourceIsRemoteIP(t *testing.T) {
	g := newGate()
	h, err := New(middlewares.Env{}, dynamic.InFlightReq{Amount: 1}, g)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var wg sync.WaitGroup
	wg.Go(func() { get(t, srv.Client(), srv.URL, nil) })
	g.waitArrivals(t, 1)
	// A spoofed X-Forwarded-For does not make a new source.
	if code, _ := get(t, srv.Client(), srv.URL, map[string]string{"X-Forwarded-For": "203.0.113.1"}); code != 429 {
		t.Errorf("got %d, want 429", code)
	}
	close(g.release)
	wg.Wait()
}

// TestCountersSurviveReload holds requests through a configuration rebuild:
// the rebuilt, unchanged middleware still sees them, a changed one does not.
func TestCountersSurviveReload(t *testing.T) {
	store := statestore.New()
	cfg := dynamic.InFlightReq{Amount: 1, SourceCriterion: &dynamic.SourceCriterion{RequestHeaderName: "X-Key"}}
	g := newGate()
	b1 := store.Begin()
	h1, err := New(middlewares.Env{Name: "lim@file", Store: b1}, cfg, g)
	if err != nil {
		t.Fatal(err)
	}
	b1.Commit()

	var current atomic.Pointer[http.Handler]
	current.Store(&h1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*current.Load()).ServeHTTP(w, r)
	}))
	defer srv.Close()
	var wg sync.WaitGroup
	wg.Go(func() { get(t, srv.Client(), srv.URL, map[string]string{"X-Key": "k"}) })
	g.waitArrivals(t, 1)

	b2 := store.Begin()
	h2, err := New(middlewares.Env{Name: "lim@file", Store: b2}, cfg, g)
	if err != nil {
		t.Fatal(err)
	}
	b2.Commit()
	current.Store(&h2)
	if code, _ := get(t, srv.Client(), srv.URL, map[string]string{"X-Key": "k"}); code != 429 {
		t.Errorf("after reload got %d, want 429 (in-flight request forgotten)", code)
	}

	changed := cfg
	changed.Amount = 2
	b3 := store.Begin()
	h3, err := New(middlewares.Env{Name: "lim@file", Store: b3}, changed, g)
	if err != nil {
		t.Fatal(err)
	}
	b3.Commit()
	current.Store(&h3)
	wg.Go(func() {
		if code, _ := get(t, srv.Client(), srv.URL, map[string]string{"X-Key": "k"}); code != 200 {
			t.Errorf("changed config got %d, want 200", code)
		}
	})
	g.waitArrivals(t, 1)
	close(g.release)
	wg.Wait()
	if n := store.Len(); n != 1 {
		t.Errorf("store holds %d objects, want 1", n)
	}
}

// TestConcurrentNeverExceeds hammers one source from many goroutines.
func TestConcurrentNeverExceeds(t *testing.T) {
	const amount = 3
	var now, peak atomic.Int64
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Millisecond)
		now.Add(-1)
	})
	h, err := New(middlewares.Env{}, dynamic.InFlightReq{Amount: amount}, backend)
	if err != nil {
		t.Fatal(err)
	}
	m := h.(*inFlight)
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			for range 25 {
				switch code, _ := get(t, c, srv.URL, nil); code {
				case 200:
					ok.Add(1)
				case 429:
					limited.Add(1)
				default:
					t.Errorf("unexpected status %d", code)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > amount {
		t.Errorf("peak in-flight %d exceeds amount %d", p, amount)
	}
	if ok.Load() == 0 {
		t.Error("no request served")
	}
	if n := m.counts.Len(); n != 0 {
		t.Errorf("table keeps %d entries after all requests ended", n)
	}
}

func TestNewErrors(t *testing.T) {
	build := func(cfg dynamic.InFlightReq) error {
		_, err := New(middlewares.Env{}, cfg, http.NotFoundHandler())
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("zero amount", dynamic.InFlightReq{}, "amount"),
		mwtest.Bad("two criteria", dynamic.InFlightReq{Amount: 1, SourceCriterion: &dynamic.SourceCriterion{RequestHost: true, RequestHeaderName: "X"}}, "mutually exclusive"),
		mwtest.Bad("bad ip strategy", dynamic.InFlightReq{Amount: 1, SourceCriterion: &dynamic.SourceCriterion{IPStrategy: &dynamic.IPStrategy{Depth: -2}}}, "depth"),
	)
}

func BenchmarkAcquireRelease(b *testing.B) {
	tb := NewTable()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tb.Acquire("10.0.0.1", 1<<30) {
				tb.Release("10.0.0.1")
			}
		}
	})
}
