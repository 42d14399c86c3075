package failover

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/services/internal/svctest"
)

func TestFailover(t *testing.T) {
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") })
	tests := []struct {
		name           string
		main, fallback http.Handler
		propagate      bool
		wantBody       string
		wantCode       int
		wantHealthy    bool
	}{
		{"main healthy", svctest.NewChild("main", true), svctest.NewChild("fb", true), true, "main", 200, true},
		{"main down", svctest.NewChild("main", false), svctest.NewChild("fb", true), true, "fb", 200, true},
		{"both down", svctest.NewChild("main", false), svctest.NewChild("fb", false), true, "Service Unavailable", 503, false},
		{"both down, no propagation", svctest.NewChild("main", false), svctest.NewChild("fb", false), false, "Service Unavailable", 503, true},
		{"main without health info", plain, svctest.NewChild("fb", true), true, "plain", 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(tt.main, tt.fallback, tt.propagate)
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantCode, tt.wantBody)
			}
			if f.Healthy() != tt.wantHealthy {
				t.Fatalf("Healthy = %v, want %v", f.Healthy(), tt.wantHealthy)
			}
		})
	}
}
