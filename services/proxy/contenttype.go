package proxy

import (
	"context"
	"net/http"
)

// A response without a Content-Type header is sent without one, as Traefik
// v3 does: net/http would otherwise sniff the first bytes of the body and
// add a guessed type, which a proxy should leave to the upstream. The
// contentType middleware asks for the guess again with DetectContentType.

type detectKey struct{}

// DetectContentType returns ctx marked so that a response without a
// Content-Type header gets one detected from its body (net/http's
// DetectContentType), as without the gateway in between.
func DetectContentType(ctx context.Context) context.Context {
	return context.WithValue(ctx, detectKey{}, true)
}

// noSniff keeps net/http from adding a Content-Type to a response that has
// none, unless the request asked for detection. A header present with a nil
// value is written as nothing but stops the sniffing.
func noSniff(h http.Header, r *http.Request) {
	if _, ok := h["Content-Type"]; ok {
		return
	}
	if r.Context().Value(detectKey{}) != nil {
		return
	}
	h["Content-Type"] = nil
}
