package circuitbreaker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/statestore"
)

func dur(d time.Duration) *config.Duration { c := config.Duration(d); return &c }

// fake stats for the expression tests.
type fixed struct{ net, codes, lat float64 }

func (f fixed) networkErrorRatio() float64               { return f.net }
func (f fixed) responseCodeRatio(a, b, c, d int) float64 { return f.codes }
func (f fixed) latencyAtQuantileMS(q float64) float64    { return f.lat }

func TestExpressions(t *testing.T) {
	s := fixed{net: 0.4, codes: 0.1, lat: 250}
	for expr, want := range map[string]bool{
		"NetworkErrorRatio() > 0.30":                                         true,
		"NetworkErrorRatio() > 0.5":                                          false,
		"ResponseCodeRatio(500, 600, 0, 600) > 0.25":                         false,
		"LatencyAtQuantileMS(50.0) > 100":                                    true,
		"NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(99) >= 250":        true,
		"NetworkErrorRatio() > 0.3 && ResponseCodeRatio(500,600,0,600) > .2": false,
		"(NetworkErrorRatio() < 0.5 && LatencyAtQuantileMS(50) != 1) || ResponseCodeRatio(500,600,0,600) == 0.1": true,
		"NetworkErrorRatio() <= 0.4": true,
	} {
		c, err := parseExpression(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if got := c(s); got != want {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}
	for expr, msg := range map[string]string{
		"":                                  "expected NetworkErrorRatio()",
		"NetworkErrorRatio()":               "expected a comparison",
		"NetworkErrorRatio() > ":            "expected a number",
		"NetworkErrorRatio(1) > 0.5":        "takes no argument",
		"ResponseCodeRatio(500, 600) > 0.5": "takes 4 status codes",
		"ResponseCodeRatio(600, 500, 0, 600) > 0": "from < to",
		"LatencyAtQuantileMS(0) > 5":              "quantile in (0, 100]",
		"Latency() > 5":                           "unknown function Latency",
		"NetworkErrorRatio() > 0.5 &&":            "expected NetworkErrorRatio()",
		"(NetworkErrorRatio() > 0.5":              "missing )",
		"NetworkErrorRatio() > 0.5 extra":         `unexpected "extra"`,
	} {
		if _, err := parseExpression(expr); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want %q", expr, err, msg)
		}
	}
}

func TestWindowFigures(t *testing.T) {
	var w window
	now := time.Now()
	for i := range 100 {
		code := 200
		switch {
		case i < 10:
			code = 502
		case i < 15:
			code = 504
		case i < 35:
			code = 500
		}
		w.record(code, time.Duration(i+1)*time.Millisecond, now)
	}
	m := w.snapshot(now)
	if r := m.networkErrorRatio(); r != 0.15 {
		t.Errorf("NetworkErrorRatio %v, want 0.15 (502 and 504)", r)
	}
	if r := m.responseCodeRatio(500, 600, 0, 600); r != 0.35 {
		t.Errorf("ResponseCodeRatio(500,600,0,600) %v, want 0.35", r)
	}
	if q := m.latencyAtQuantileMS(50); q < 50 || q > 55 {
		t.Errorf("LatencyAtQuantileMS(50) %v, want about 50 (latencies 1..100 ms)", q)
	}
	if q := m.latencyAtQuantileMS(99); q < 99 || q > 108 {
		t.Errorf("LatencyAtQuantileMS(99) %v, want about 99", q)
	}
	// Ten seconds later the window has moved past these responses.
	if m := w.snapshot(now.Add(10 * time.Second)); m.total != 0 {
		t.Errorf("%d responses still in the window after 10 s", m.total)
	}
}

// The breaker trips when the service fails, answers with the fallback
// status without calling it, lets traffic back gradually, and closes.
func TestTripRecoverClose(t *testing.T) {
	var failing atomic.Bool
	var calls atomic.Int64
	failing.Store(true)
	svc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	results := map[string]int{}
	var mu = make(chan struct{}, 1)
	count := func(r string) { mu <- struct{}{}; results[r]++; <-mu }
	h, err := New(middlewares.Env{Name: "cb@file", Decision: count}, dynamic.CircuitBreaker{
		Expression:  "NetworkErrorRatio() > 0.5",
		CheckPeriod: dur(10 * time.Millisecond), FallbackDuration: dur(300 * time.Millisecond),
		RecoveryDuration: dur(300 * time.Millisecond), ResponseCode: http.StatusTeapot,
	}, svc)
	if err != nil {
		t.Fatal(err)
	}
	send := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		return w.Code
	}
	for range 5 {
		send()
		time.Sleep(3 * time.Millisecond)
	}
	deadline := time.Now().Add(time.Second)
	for send() != http.StatusTeapot {
		if time.Now().After(deadline) {
			t.Fatal("breaker did not trip with every response a 502")
		}
		time.Sleep(3 * time.Millisecond)
	}
	before := calls.Load()
	for range 20 {
		if code := send(); code != http.StatusTeapot {
			t.Fatalf("tripped breaker answered %d", code)
		}
	}
	if calls.Load() != before {
		t.Fatal("a tripped breaker called the service")
	}

	failing.Store(false)
	time.Sleep(320 * time.Millisecond) // fallbackDuration
	passed, refused := 0, 0
	for range 200 {
		switch send() {
		case http.StatusOK:
			passed++
		case http.StatusTeapot:
			refused++
		}
		time.Sleep(time.Millisecond)
	}
	if passed == 0 || refused == 0 {
		t.Fatalf("recovering: %d passed, %d refused; want a growing share through", passed, refused)
	}
	time.Sleep(320 * time.Millisecond) // recoveryDuration
	for range 50 {
		if code := send(); code != http.StatusOK {
			t.Fatalf("after recovery: %d", code)
		}
	}
	mu <- struct{}{}
	defer func() { <-mu }()
	if results[resultRefused] < 20 || results[resultRecoveringAllowed] == 0 || results[resultRecoveringRefused] == 0 || results[resultAllowed] < 50 {
		t.Fatalf("decisions %v", results)
	}
}

func TestLatencyTrips(t *testing.T) {
	svc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(30 * time.Millisecond) })
	h, err := New(middlewares.Env{}, dynamic.CircuitBreaker{Expression: "LatencyAtQuantileMS(50.0) > 20", CheckPeriod: dur(time.Millisecond)}, svc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code == http.StatusServiceUnavailable {
			if i == 0 {
				t.Fatal("tripped before any response")
			}
			return
		}
	}
	t.Fatal("median latency 30 ms > 20 did not trip the breaker")
}

// A reload that keeps the configuration keeps the breaker tripped.
func TestStateSurvivesReload(t *testing.T) {
	store := statestore.New()
	cfg := dynamic.CircuitBreaker{Expression: "ResponseCodeRatio(500, 600, 0, 600) > 0.5", CheckPeriod: dur(time.Millisecond), FallbackDuration: dur(time.Hour)}
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	b1 := store.Begin()
	h, err := New(middlewares.Env{Name: "cb@file", Store: b1}, cfg, fail)
	if err != nil {
		t.Fatal(err)
	}
	b1.Commit()
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		time.Sleep(2 * time.Millisecond)
	}
	b2 := store.Begin()
	h2, err := New(middlewares.Env{Name: "cb@file", Store: b2}, cfg, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	b2.Commit()
	w := httptest.NewRecorder()
	h2.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("after a reload with the same configuration: %d, want the tripped breaker's 503", w.Code)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  dynamic.CircuitBreaker
		want string
	}{
		{dynamic.CircuitBreaker{}, "expression is empty"},
		{dynamic.CircuitBreaker{Expression: "NetworkErrorRatio() >"}, "expected a number"},
		{dynamic.CircuitBreaker{Expression: "NetworkErrorRatio() > 0.5", CheckPeriod: dur(-1)}, "checkPeriod is -1ns"},
		{dynamic.CircuitBreaker{Expression: "NetworkErrorRatio() > 0.5", ResponseCode: 42}, "responseCode 42"},
	} {
		if _, err := New(middlewares.Env{}, tc.cfg, http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
