package static_test

import (
	"testing"

	"github.com/guan-gateway/guan/config/static"
)

// http.encodedCharacters decodes from a file (TOML, YAML), flags and the
// environment with Traefik's key names; an unset switch stays nil (allowed).
func TestEncodedCharactersDecode(t *testing.T) {
	check := func(src string, c *static.Configuration) {
		t.Helper()
		ec := c.EntryPoints["web"].HTTP.EncodedCharacters
		if ec == nil || ec.AllowEncodedSlash == nil || *ec.AllowEncodedSlash || ec.AllowEncodedHash == nil || !*ec.AllowEncodedHash || ec.AllowEncodedPercent != nil {
			t.Errorf("%s: %+v", src, ec)
		}
	}
	for name, src := range map[string]string{
		"s.toml": `
[entryPoints.web]
  address = ":80"
  [entryPoints.web.http.encodedCharacters]
    allowEncodedSlash = false
    allowEncodedHash = true
`,
		"s.yaml": `
entryPoints:
  web:
    address: ":80"
    http:
      encodedCharacters:
        allowEncodedSlash: false
        allowEncodedHash: true
`,
	} {
		c, _, err := static.Parse(name, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		check(name, c)
	}
	c, err := fromFlags("--entryPoints.web.address=:80", "--entryPoints.web.http.encodedCharacters.allowEncodedSlash=false", "--entrypoints.web.http.encodedcharacters.allowencodedhash=true")
	if err != nil {
		t.Fatal(err)
	}
	check("flags", c)
	c, _, err = static.FromSettings("environment", static.Environ([]string{"GUAN_ENTRYPOINTS_WEB_ADDRESS=:80", "GUAN_ENTRYPOINTS_WEB_HTTP_ENCODEDCHARACTERS_ALLOWENCODEDSLASH=false", "TRAEFIK_ENTRYPOINTS_WEB_HTTP_ENCODEDCHARACTERS_ALLOWENCODEDHASH=true"}))
	if err != nil {
		t.Fatal(err)
	}
	check("environment", c)
	if _, _, err := static.Parse("s.toml", []byte("[entryPoints.web]\n  address = \":80\"\n  [entryPoints.web.http.encodedCharacters]\n    allowEncodedSlashes = false\n")); err == nil {
		t.Error("misspelt key accepted")
	}
}
