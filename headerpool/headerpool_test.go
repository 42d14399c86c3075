package headerpool

import (
	"net/http"
	"testing"
)

func TestPutEmptiesAndKeepsValues(t *testing.T) {
	h := Get()
	h["A"] = []string{"1"}
	kept := h["A"]
	Put(h)
	if len(h) != 0 {
		t.Fatalf("Put left %d fields in the map", len(h))
	}
	if kept[0] != "1" {
		t.Fatalf("a value slice taken before Put changed: %q", kept)
	}
	if g := Get(); len(g) != 0 {
		t.Fatalf("Get returned a map with %d fields", len(g))
	}
}

func TestOversizedMapsAreNotKept(t *testing.T) {
	big := make(http.Header)
	for i := range maxFields + 1 {
		big[string(rune('A'+i%26))+string(rune('a'+i/26))] = nil
	}
	Put(big)
	if len(big) != maxFields+1 {
		t.Fatalf("an oversized map was cleared (and so kept): %d fields left", len(big))
	}
}
