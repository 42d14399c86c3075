package sticky

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
)

func TestFind(t *testing.T) {
	tests := []struct {
		lines  []string
		name   string
		want   string
		wantOK bool
	}{
		{[]string{"a=1; b=2"}, "b", "2", true},
		{[]string{"a=1", "b=\"x y\""}, "b", "x y", true},
		{[]string{"ab=1; a=2"}, "a", "2", true},
		{[]string{"a"}, "a", "", false},
		{nil, "a", "", false},
		{[]string{";;  a=  ; a=3"}, "a", "", true},
	}
	for _, tt := range tests {
		got, ok := Find(tt.lines, tt.name)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Find(%q, %q) = %q, %v; want %q, %v", tt.lines, tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestCookieRoundTrip(t *testing.T) {
	keys := []string{"http://10.0.0.1:80", "http://10.0.0.2:80"}
	c, err := New(&dynamic.Cookie{Secure: true, HTTPOnly: true, SameSite: "Strict", MaxAge: 60}, "svc@file", keys)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.Set(rec, 1)
	sc := rec.Header().Get("Set-Cookie")
	for _, want := range []string{c.Name() + "=", "Path=/", "Max-Age=60", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "10.0.0.2") {
		t.Errorf("Set-Cookie %q discloses the server URL", sc)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, ck := range rec.Result().Cookies() {
		r.AddCookie(ck)
	}
	if i, ok := c.Lookup(r); !ok || i != 1 {
		t.Fatalf("Lookup = %d, %v; want 1, true", i, ok)
	}
	r.Header.Set("Cookie", c.Name()+"=deadbeef")
	if _, ok := c.Lookup(r); ok {
		t.Fatal("unknown cookie value must not pin")
	}
}

func TestDefaultNameStable(t *testing.T) {
	a, b := DefaultName("svc@file"), DefaultName("other@file")
	if a != DefaultName("svc@file") || a == b || len(a) != 7 || a[0] != '_' {
		t.Fatalf("DefaultName = %q, %q", a, b)
	}
}

func TestBadSameSite(t *testing.T) {
	if _, err := New(&dynamic.Cookie{SameSite: "sometimes"}, "s", []string{"a"}); err == nil || !strings.Contains(err.Error(), "sameSite") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzFind(f *testing.F) {
	f.Add("a=1; b=\"2\"", "b")
	f.Add(";;=;\"", "")
	f.Fuzz(func(t *testing.T, line, name string) {
		v, ok := Find([]string{line}, name)
		if !ok && v != "" {
			t.Fatalf("value %q without match", v)
		}
		if ok && !strings.Contains(line, v) {
			t.Fatalf("value %q not from input %q", v, line)
		}
	})
}

func TestPartitioned(t *testing.T) {
	c, err := New(&dynamic.Cookie{Secure: true, Partitioned: true}, "svc@file", []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.Set(rec, 0)
	if sc := rec.Header().Get("Set-Cookie"); !strings.Contains(sc, "Partitioned") {
		t.Fatalf("Set-Cookie %q lacks Partitioned", sc)
	}
	if _, err := New(&dynamic.Cookie{Partitioned: true}, "svc@file", []string{"a"}); err == nil {
		t.Fatal("a partitioned cookie without Secure was accepted")
	}
}
