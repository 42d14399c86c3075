package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func newServerHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPing(t *testing.T) {
	var stopping atomic.Bool
	tests := []struct {
		name     string
		status   int
		method   string
		stopping bool
		wantCode int
		wantBody string
	}{
		{"serving", 0, "GET", false, 200, "OK"},
		{"head", 0, "HEAD", false, 200, ""},
		{"terminating default", 0, "GET", true, 503, "Service Unavailable"},
		{"terminating custom", 204, "GET", true, 204, ""},
		{"terminating 500", 500, "GET", true, 500, "Internal Server Error"},
		{"post", 0, "POST", false, 405, "Method Not Allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := newServerHandler(t, PingHandler(stopping.Load, tt.status))
			stopping.Store(tt.stopping)
			req, _ := http.NewRequest(tt.method, url+"/ping", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || string(b) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tt.wantCode, tt.wantBody)
			}
		})
	}
}
