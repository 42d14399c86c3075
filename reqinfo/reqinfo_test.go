package reqinfo

import (
	"context"
	"testing"
)

type otherKey struct{}

func TestNewContext(t *testing.T) {
	parent := context.WithValue(context.Background(), otherKey{}, "kept")
	ctx, info := NewContext(parent)
	info.EntryPoint = "web"
	if got, ok := Lookup(ctx); !ok || got != info {
		t.Fatal("Lookup does not find the Info made by NewContext")
	}
	if ctx.Value(otherKey{}) != "kept" {
		t.Fatal("values of the parent context are lost")
	}
	if got := From(With(ctx, &Info{EntryPoint: "inner"})); got.EntryPoint != "inner" {
		t.Fatal("an inner With does not shadow the outer Info")
	}
	if _, ok := Lookup(context.Background()); ok {
		t.Fatal("Lookup found an Info where none is attached")
	}
	if From(context.Background()) == nil {
		t.Fatal("From must never return nil")
	}
}

func BenchmarkNewContext(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx, info := NewContext(context.Background())
		info.Router = "r"
		if i, _ := Lookup(ctx); i.Router != "r" {
			b.Fatal("lost")
		}
	}
}

func TestInternalRouter(t *testing.T) {
	for router, want := range map[string]bool{
		"ping@internal":             true,
		"api@internal":              true,
		"web-to-websecure@internal": true,
		"demo@file":                 false, // user router, even to demo@internal
		"internal@file":             false,
		"":                          false, // no router matched
	} {
		if got := (&Info{Router: router}).InternalRouter(); got != want {
			t.Errorf("InternalRouter(%q) = %v, want %v", router, got, want)
		}
	}
}
