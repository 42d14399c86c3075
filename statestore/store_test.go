package statestore

import (
	"errors"
	"testing"
)

type closer struct{ closed int }

func (c *closer) Close() error { c.closed++; return nil }

func get(t *testing.T, b *Build, name string, cfg any) *closer {
	t.Helper()
	v, err := b.Get("kind", name, cfg, func() (any, error) { return &closer{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	return v.(*closer)
}

func TestUnchangedObjectsSurviveAndStaleOnesClose(t *testing.T) {
	s := New()
	b1 := s.Begin()
	keep := get(t, b1, "keep", map[string]int{"a": 1})
	change := get(t, b1, "change", map[string]int{"a": 1})
	drop := get(t, b1, "drop", 1)
	b1.Commit()

	b2 := s.Begin()
	if got := get(t, b2, "keep", map[string]int{"a": 1}); got != keep {
		t.Fatal("unchanged object was recreated")
	}
	changed := get(t, b2, "change", map[string]int{"a": 2})
	if changed == change {
		t.Fatal("object with a changed configuration was reused")
	}
	if drop.closed != 0 || change.closed != 0 {
		t.Fatal("objects closed before the new build is committed")
	}
	b2.Commit()
	if keep.closed != 0 || changed.closed != 0 {
		t.Fatal("live objects were closed")
	}
	if drop.closed != 1 || change.closed != 1 {
		t.Fatalf("stale objects not closed exactly once: drop=%d change=%d", drop.closed, change.closed)
	}
	if s.Len() != 2 {
		t.Fatalf("store holds %d objects, want 2", s.Len())
	}
}

func TestAbortClosesOnlyWhatTheBuildCreated(t *testing.T) {
	s := New()
	b1 := s.Begin()
	old := get(t, b1, "old", 1)
	b1.Commit()

	b2 := s.Begin()
	if get(t, b2, "old", 1) != old {
		t.Fatal("not reused")
	}
	fresh := get(t, b2, "fresh", 1)
	b2.Abort()
	if fresh.closed != 1 || old.closed != 0 {
		t.Fatalf("abort: fresh closed %d times, old %d", fresh.closed, old.closed)
	}
	// The running configuration still finds its object.
	b3 := s.Begin()
	if get(t, b3, "old", 1) != old {
		t.Fatal("abort lost the running configuration's object")
	}
	b3.Commit()
}

func TestCreateErrorStoresNothing(t *testing.T) {
	s := New()
	b := s.Begin()
	if _, err := b.Get("kind", "x", 1, func() (any, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	b.Commit()
	if s.Len() != 0 {
		t.Fatal("failed creation was stored")
	}
}
