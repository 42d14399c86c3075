package providers_test

import (
	"errors"
	"testing"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/providers"
)

func TestErrorPrefixesEveryLine(t *testing.T) {
	errs := config.Errors{
		{Pos: config.Position{File: "a.toml", Line: 3, Col: 9}, Msg: "bad"},
		{Pos: config.Position{File: "b.yaml", Line: 1}, Msg: "worse"},
	}
	err := error(&providers.Error{Provider: "file", Err: errs})
	want := "provider file: a.toml:3:9: bad\nprovider file: b.yaml:1: worse"
	if err.Error() != want {
		t.Fatalf("got %q\nwant %q", err.Error(), want)
	}
	var got config.Errors
	if !errors.As(err, &got) || len(got) != 2 {
		t.Fatal("should unwrap to config.Errors")
	}
}
