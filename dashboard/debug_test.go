package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDebugEndpoints: api.debug serves expvar and pprof under the API's
// base path, next to the API itself.
func TestDebugEndpoints(t *testing.T) {
	for _, base := range []string{"/", "/gw"} {
		t.Run(base, func(t *testing.T) {
			src := &fakeSource{set: testSet()}
			srv := httptest.NewServer(WithDebug(NewAPI(src, base, true), base))
			defer srv.Close()
			prefix := strings.TrimSuffix(base, "/")
			for path, want := range map[string]string{
				"/debug/vars":                    `"memstats"`,
				"/debug/pprof/":                  "goroutine",
				"/debug/pprof/goroutine?debug=1": "goroutine profile: total",
				"/debug/pprof/cmdline":           "",
				"/api/version":                   `"Version":"1.2.3"`,
			} {
				res, err := http.Get(srv.URL + prefix + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !strings.Contains(string(body), want) {
					t.Errorf("%s: %d %.200s", path, res.StatusCode, body)
				}
			}
			res, err := http.Get(srv.URL + prefix + "/debug/nothing")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 404 {
				t.Errorf("/debug/nothing: %d", res.StatusCode)
			}
		})
	}
	// Without api.debug the paths are the API's 404s.
	srv := newServer(t, &fakeSource{set: testSet()}, "/", true)
	res, err := http.Get(srv.URL + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("/debug/vars without api.debug: %d", res.StatusCode)
	}
}
