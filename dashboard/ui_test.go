package dashboard

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func fetch(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestUIServesPageAndAssets(t *testing.T) {
	for _, base := range []string{"", "/gw"} {
		srv := newServer(t, &fakeSource{set: testSet()}, base, true)
		resp, page := fetch(t, srv.URL+base+"/dashboard/")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("base %q: page %d %q", base, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
		if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
			t.Fatal("page references an external resource")
		}
		assets := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1)
		want := map[string]string{"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}
		seen := map[string]bool{}
		for _, m := range assets {
			ct, ok := want[m[1]]
			if !ok {
				t.Fatalf("unexpected asset reference %q", m[1])
			}
			seen[m[1]] = true
			resp, body := fetch(t, srv.URL+base+"/dashboard/"+m[1])
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || len(body) == 0 {
				t.Fatalf("%s: %d %q (%d bytes), want 200 %s", m[1], resp.StatusCode, resp.Header.Get("Content-Type"), len(body), ct)
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("page references %v, want all of %v", seen, want)
		}
	}
}

func TestUIStandalone(t *testing.T) {
	h := NewUI("/x/")
	srv := newServerHandler(t, h)
	resp, _ := fetch(t, srv+"/x/dashboard/style.css")
	if resp.StatusCode != 200 {
		t.Fatalf("standalone UI: %d", resp.StatusCode)
	}
	resp, _ = fetch(t, srv+"/x/dashboard/missing.js")
	if resp.StatusCode != 404 {
		t.Fatalf("missing asset: %d", resp.StatusCode)
	}
}
