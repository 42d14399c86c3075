package headers

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"golang.org/x/net/http/httpguts"
)

const xForwardedFor = "X-Forwarded-For"

type requestOpKind uint8

const (
	opSet requestOpKind = iota
	opDelete
	opSetHost
	// opSuppressXFF keeps X-Forwarded-For present but nil, which tells the
	// reverse proxy not to add the client address.
	opSuppressXFF
)

type requestOp struct {
	kind  requestOpKind
	key   string // canonical
	value string
}

func (op *requestOp) apply(req *http.Request) {
	switch op.kind {
	case opSetHost:
		req.Host = op.value
		return
	case opDelete:
		delete(req.Header, op.key)
		return
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if op.kind == opSuppressXFF {
		req.Header[op.key] = nil
		return
	}
	req.Header[op.key] = []string{op.value}
}

type responseOp struct {
	key    string // canonical
	value  string
	delete bool
}

func (op *responseOp) apply(h http.Header) {
	if op.delete {
		delete(h, op.key)
		return
	}
	h[op.key] = []string{op.value}
}

// canonicalPairs validates names and values and returns them sorted by
// canonical name, so headers are applied in a stable order.
func canonicalPairs(m map[string]string) ([][2]string, error) {
	pairs := make([][2]string, 0, len(m))
	seen := make(map[string]string, len(m))
	for name, value := range m {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("%q is not a valid header name; use letters, digits and -", name)
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("header %q: value contains a control character (newline?); remove it", name)
		}
		key := http.CanonicalHeaderKey(name)
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("header %q is given twice (%q and %q); header names are case-insensitive, keep one", key, prev, name)
		}
		seen[key] = name
		pairs = append(pairs, [2]string{key, strings.TrimSpace(value)})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	return pairs, nil
}

func newRequestOps(m map[string]string) ([]requestOp, error) {
	pairs, err := canonicalPairs(m)
	if err != nil {
		return nil, err
	}
	ops := make([]requestOp, 0, len(pairs))
	for _, p := range pairs {
		op := requestOp{key: p[0], value: p[1]}
		switch {
		case p[1] == "" && p[0] == xForwardedFor:
			op.kind = opSuppressXFF
		case p[1] == "":
			op.kind = opDelete
		case p[0] == "Host":
			op.kind = opSetHost
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func newResponseOps(m map[string]string) ([]responseOp, error) {
	pairs, err := canonicalPairs(m)
	if err != nil {
		return nil, err
	}
	ops := make([]responseOp, 0, len(pairs))
	for _, p := range pairs {
		ops = append(ops, responseOp{key: p[0], value: p[1], delete: p[1] == ""})
	}
	return ops, nil
}
