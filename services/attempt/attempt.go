// Package attempt lets a middleware that can try a request again (retry)
// learn that the proxy failed to reach an upstream, instead of the proxy
// answering the client with an error page.
package attempt

import "context"

type ctxKey struct{}

// Catcher records an upstream failure the proxy did not answer itself.
type Catcher struct {
	Err error
}

// With returns a context whose proxy failures are handed to c.
func With(ctx context.Context, c *Catcher) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// Catch is called by the proxy when it could not get a response and nothing
// has been written downstream yet. It returns true when a catcher took the
// error; the proxy must then write nothing.
func Catch(ctx context.Context, err error) bool {
	c, _ := ctx.Value(ctxKey{}).(*Catcher)
	if c == nil {
		return false
	}
	c.Err = err
	return true
}
