package weighted

import (
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/services/internal/svctest"
)

func TestWeighted(t *testing.T) {
	tests := []struct {
		name        string
		children    []Child
		propagate   bool
		want        map[string]int // over 8 requests
		wantHealthy bool
	}{
		{"ratio", []Child{{"a", 3, svctest.NewChild("a", true)}, {"b", 1, svctest.NewChild("b", true)}}, false, map[string]int{"a": 6, "b": 2}, true},
		{"unhealthy skipped with propagation", []Child{{"a", 3, svctest.NewChild("a", false)}, {"b", 1, svctest.NewChild("b", true)}}, true, map[string]int{"b": 8}, true},
		{"unhealthy kept without propagation", []Child{{"a", 1, svctest.NewChild("a", false)}, {"b", 1, svctest.NewChild("b", true)}}, false, map[string]int{"a": 4, "b": 4}, true},
		{"none healthy", []Child{{"a", 1, svctest.NewChild("a", false)}}, true, map[string]int{"Service Unavailable": 8}, false},
		{"zero weight", []Child{{"a", 0, svctest.NewChild("a", true)}, {"b", 1, svctest.NewChild("b", true)}}, false, map[string]int{"b": 8}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(Options{Children: tt.children, Propagate: tt.propagate})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for range 8 {
				rec := httptest.NewRecorder()
				w.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				got[rec.Body.String()]++
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
			if w.Healthy() != tt.wantHealthy {
				t.Fatalf("Healthy = %v", w.Healthy())
			}
		})
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("no children accepted")
	}
}
