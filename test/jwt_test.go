package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxt "github.com/lestrrat-go/jwx/v3/jwt"
)

// jwt from a dynamic file: a valid token passes with its subject as a
// header, an expired one gets 401 with the RFC 6750 challenge.
func TestJWTMiddleware(t *testing.T) {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user="+r.Header.Get("X-User"))
	}))
	t.Cleanup(svc.Close)
	const secret = "e2e-secret-e2e-secret-e2e-secret"
	g := startGateway(t, map[string]string{"jwt.toml": fmt.Sprintf(`
[http.routers.api]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "api"
  middlewares = ["auth"]
[http.services.api.loadBalancer]
  [[http.services.api.loadBalancer.servers]]
    url = %q
[http.middlewares.auth.jwt]
  secret = %q
  issuer = "e2e"
  [http.middlewares.auth.jwt.claimsToHeaders]
    sub = "X-User"
`, svc.URL, secret)}, gatewayOpts{})
	sign := func(exp time.Time) string {
		tok := jwxt.New()
		tok.Set("sub", "dana")
		tok.Set("iss", "e2e")
		tok.Set("exp", exp)
		b, err := jwxt.Sign(tok, jwxt.WithKey(jwa.HS256(), []byte(secret)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	code, body, _ := get(t, http.DefaultClient, g.url("/"), map[string]string{"Authorization": "Bearer " + sign(time.Now().Add(time.Hour))})
	if code != 200 || body != "user=dana" {
		t.Fatalf("valid token: %d %q", code, body)
	}
	code, _, h := get(t, http.DefaultClient, g.url("/"), map[string]string{"Authorization": "Bearer " + sign(time.Now().Add(-time.Hour))})
	if code != 401 || h.Get("WWW-Authenticate") != `Bearer realm="guan", error="invalid_token", error_description="the token has expired"` {
		t.Fatalf("expired token: %d %q", code, h.Get("WWW-Authenticate"))
	}
}
