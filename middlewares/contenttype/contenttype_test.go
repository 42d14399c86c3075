package contenttype

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/services/proxy"
)

// upstream answers without a Content-Type (its own net/http must not add
// one), or with the one asked for in ?ct=.
func upstream(t *testing.T) http.Handler {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.URL.Query().Get("ct"); ct != "" {
			w.Header().Set("Content-Type", ct)
		} else {
			w.Header()["Content-Type"] = nil
		}
		io.WriteString(w, "%PDF-1.7 not really")
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return proxy.New(proxy.Options{Target: u, Transport: srv.Client().Transport, PassHostHeader: true})
}

func TestContentType(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name   string
		cfg    *dynamic.ContentType // nil: no middleware
		target string
		want   string
	}{
		{"no middleware: not detected", nil, "/", ""},
		{"no middleware: upstream type kept", nil, "/?ct=application/json", "application/json"},
		{"middleware: detected", &dynamic.ContentType{}, "/", "application/pdf"},
		{"middleware: upstream type kept", &dynamic.ContentType{}, "/?ct=application/json", "application/json"},
		{"autoDetect true: detected", &dynamic.ContentType{AutoDetect: &yes}, "/", "application/pdf"},
		{"autoDetect false: not detected", &dynamic.ContentType{AutoDetect: &no}, "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := upstream(t)
			if tt.cfg != nil {
				var err error
				if h, err = New(middlewares.Env{}, *tt.cfg, h); err != nil {
					t.Fatal(err)
				}
			}
			res, _ := mwtest.Serve(t, h).Get(t, tt.target)
			if got := res.Header.Get("Content-Type"); got != tt.want {
				t.Fatalf("Content-Type %q, want %q", got, tt.want)
			}
			if _, present := res.Header["Content-Type"]; present != (tt.want != "") {
				t.Fatalf("Content-Type present = %v", present)
			}
		})
	}
}

// A middleware between contentType and the service that sets a type wins.
func TestTypeSetOnTheWayWins(t *testing.T) {
	up := upstream(t)
	setter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/x-set")
		up.ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.ContentType{}, setter)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := mwtest.Serve(t, h).Get(t, "/")
	if got := res.Header.Get("Content-Type"); got != "text/x-set" {
		t.Fatalf("Content-Type %q", got)
	}
}
