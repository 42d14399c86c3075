package file

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/guan-gateway/guan/config"
)

// Dynamic files are Go templates, as in Traefik's file provider: sprig's
// functions ({{ env "BACKEND_URL" }}, {{ range until 3 }}…) plus normalize
// and split. A file without "{{" is used as it is.
var templateFuncs = func() template.FuncMap {
	m := sprig.TxtFuncMap()
	m["normalize"] = normalize
	m["split"] = strings.Split
	return m
}()

// render runs path's template. It returns data itself when there is no
// action in it.
func render(path string, data []byte) ([]byte, bool, error) {
	if !bytes.Contains(data, []byte("{{")) {
		return data, false, nil
	}
	tmpl, err := template.New(path).Funcs(templateFuncs).Option("missingkey=error").Parse(string(data))
	if err != nil {
		return nil, true, templateError(path, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, nil); err != nil {
		return nil, true, templateError(path, err)
	}
	return out.Bytes(), true, nil
}

// templatePos finds "template: NAME:LINE[:COL]: " in text/template errors.
var templatePos = regexp.MustCompile(`^template: (.*?):(\d+)(?::(\d+))?: `)

// templateError turns a text/template error into file:line:col: message.
func templateError(path string, err error) *config.Error {
	msg := err.Error()
	pos := config.Position{File: path}
	if m := templatePos.FindStringSubmatchIndex(msg); m != nil && msg[m[2]:m[3]] == path {
		pos.Line, _ = strconv.Atoi(msg[m[4]:m[5]])
		if m[6] >= 0 {
			col, _ := strconv.Atoi(msg[m[6]:m[7]])
			pos.Col = col + 1 // text/template counts from 0
		}
		msg = msg[m[1]:]
	}
	msg = strings.TrimPrefix(msg, "executing \""+path+"\" ")
	return &config.Error{Pos: pos, Msg: "template: " + msg}
}

// normalize turns a name into one usable as a router or service name:
// every run of characters other than letters and digits becomes "-".
func normalize(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
