package inflightreq

import (
	"net/http"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

// TestReferenceExample builds the middleware from the documented example.
func TestReferenceExample(t *testing.T) {
	var cfg dynamic.Configuration
	if _, err := decode.File("../../examples/reference/middlewares/inflightreq.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP == nil || len(cfg.HTTP.Middlewares) == 0 {
		t.Fatal("example defines no middleware")
	}
	for name, m := range cfg.HTTP.Middlewares {
		if m.InFlightReq == nil {
			t.Fatalf("middleware %q is not a InFlightReq middleware", name)
		}
		env := middlewares.Env{Name: name + "@file"}
		if _, err := New(env, *m.InFlightReq, http.NotFoundHandler()); err != nil {
			t.Fatalf("middleware %q: %v", name, err)
		}
	}
}
