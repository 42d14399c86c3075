package statusrange

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Set{
		"404":              {{404, 404}},
		"500-599":          {{500, 599}},
		" 500 , 502 - 504": {{500, 500}, {502, 504}},
	} {
		got, err := Parse(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "99", "600", "599-500", "5-", ",", "500-599-600"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted: %v", in, got)
		}
	}
	s, err := ParseList("retry: status", []string{"502", "504-505"})
	if err != nil || !s.Has(502) || s.Has(503) || !s.Has(505) {
		t.Fatalf("ParseList: %v %v", s, err)
	}
	if _, err := ParseList("retry: status", []string{"502", "x"}); err == nil || err.Error() != `retry: status "x": want a status code ("503") or an inclusive range ("500-599")` {
		t.Fatalf("ParseList error: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"500", "500-599", "404,418,500-599", "-", ",", "5-", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := Parse(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
				t.Fatalf("%q accepted invalid range %v", s, r)
			}
		}
	})
}
