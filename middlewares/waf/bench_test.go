package waf

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchInspect runs one request through the CRS at paranoia level 1 and
// reports the p50 and p99 of the time it adds (the service answers at once).
func benchInspect(b *testing.B, method, target, ctype, body string) {
	h := defaultWAF(b)
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := browserRequest(method, target, ctype, strings.NewReader(body))
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		times = append(times, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}

// browserRequest is a request to the test shop as a browser sends it.
func browserRequest(method, target, ctype string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, "http://shop.example.com"+target, body)
	r.RemoteAddr = "198.51.100.23:53211"
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	r.Header.Set("Accept", "application/json")
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

func BenchmarkCRSSmallGET(b *testing.B) {
	benchInspect(b, "GET", "/api/v1/users?page=2&limit=20&sort=-created_at", "", "")
}

func BenchmarkCRSPost4KJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"items":[`)
	for i := 0; sb.Len() < 4000; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"sku":"SKU-%04d","name":"Widget number %d","qty":%d,"price":%d.99}`, i, i, i%5+1, i%50)
	}
	sb.WriteString(`],"customer":{"name":"Chloé Dubois","email":"chloe@example.com"}}`)
	benchInspect(b, "POST", "/api/v1/orders", "application/json", sb.String())
}

// BenchmarkNoWAF is the same small GET through the service alone: the
// baseline the added time is read against.
func BenchmarkNoWAF(b *testing.B) {
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		r := httptest.NewRequest("GET", "http://shop.example.com/api/v1/users?page=2", nil)
		w := httptest.NewRecorder()
		start := time.Now()
		echo.ServeHTTP(w, r)
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
}
