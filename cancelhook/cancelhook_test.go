package cancelhook

import (
	"context"
	"testing"
	"time"
)

func TestCancelRunsRegisteredFunction(t *testing.T) {
	ctx, cancel := WithCancel(context.Background())
	ran := make(chan struct{})
	s := Register(ctx, func() { close(ran) })
	if s == nil {
		t.Fatal("an empty slot refused a function")
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not run the registered function")
	}
	if s.Unregister() {
		t.Fatal("Unregister reported it stopped a function that already ran")
	}
}

func TestUnregisteredFunctionDoesNotRun(t *testing.T) {
	ctx, cancel := WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	s := Register(ctx, func() { ran <- struct{}{} })
	if !s.Unregister() {
		t.Fatal("Unregister of a waiting function reported false")
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	if len(ran) > 0 {
		t.Fatal("an unregistered function ran on cancel")
	}
	// The slot is free again, but a canceled context's takes nothing: the
	// function would never run.
	if Register(context.WithValue(ctx, struct{}{}, 1), func() {}) != nil {
		t.Fatal("a canceled context's slot accepted a function (it would never run)")
	}
}

func TestSlotIsFreedForTheNextExchange(t *testing.T) {
	ctx, cancel := WithCancel(context.Background())
	defer cancel()
	// A request's context adds values, not cancellation: it shares the slot.
	reqCtx := context.WithValue(ctx, struct{}{}, "request")
	for range 3 {
		s := Register(reqCtx, func() {})
		if s == nil {
			t.Fatal("the slot was not free for the next exchange")
		}
		if Register(reqCtx, func() {}) != nil {
			t.Fatal("a taken slot accepted a second function")
		}
		s.Unregister()
	}
}

func TestOtherCancellationsAreRefused(t *testing.T) {
	ctx, cancel := WithCancel(context.Background())
	defer cancel()
	timed, stop := context.WithTimeout(ctx, time.Hour)
	defer stop()
	if Register(timed, func() {}) != nil {
		t.Fatal("a context with its own deadline took the slot: its deadline would not run the function")
	}
	if Register(context.Background(), func() {}) != nil {
		t.Fatal("a context without a slot returned one")
	}
}
