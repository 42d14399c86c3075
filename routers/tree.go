package routers

type op uint8

const (
	opLeaf op = iota
	opAnd
	opOr
	opNot
)

// tree is a compiled rule: a boolean combination of leaves. Both rule
// languages share it; only the leaf type differs.
type tree[L any] struct {
	op   op
	x, y *tree[L]
	leaf L
}

// eval evaluates the tree, calling match for each leaf it needs (&& and ||
// short-circuit). match must not retain its argument.
func (t *tree[L]) eval(match func(*L) bool) bool {
	switch t.op {
	case opAnd:
		return t.x.eval(match) && t.y.eval(match)
	case opOr:
		return t.x.eval(match) || t.y.eval(match)
	case opNot:
		return !t.x.eval(match)
	}
	return match(&t.leaf)
}

// any reports whether some leaf satisfies pred.
func (t *tree[L]) any(pred func(*L) bool) bool {
	if t.op == opLeaf {
		return pred(&t.leaf)
	}
	if t.x.any(pred) {
		return true
	}
	return t.y != nil && t.y.any(pred)
}

// requiredSet computes a set of strings of which a matching input must have
// at least one (e.g. the hosts of Host() leaves). leafSet returns a leaf's
// own set and whether the leaf constrains the value at all. The result's
// only is false when the tree does not pin the value to a finite set.
// and combines the sets of the two operands of &&.
func requiredSet[L any](t *tree[L], leafSet func(*L) ([]string, bool), and func(a, b []string) []string) (set []string, only bool) {
	switch t.op {
	case opLeaf:
		return leafSet(&t.leaf)
	case opNot:
		// !Host(a) matches every host but a: no finite set.
		return nil, false
	case opOr:
		xs, xo := requiredSet(t.x, leafSet, and)
		if !xo {
			return nil, false
		}
		ys, yo := requiredSet(t.y, leafSet, and)
		if !yo {
			return nil, false
		}
		return union(xs, ys), true
	default: // opAnd
		xs, xo := requiredSet(t.x, leafSet, and)
		ys, yo := requiredSet(t.y, leafSet, and)
		switch {
		case xo && yo:
			return and(xs, ys), true
		case xo:
			return xs, true
		case yo:
			return ys, true
		}
		return nil, false
	}
}

func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	seen := make(map[string]struct{}, len(a)+len(b))
	for _, s := range append(append(out[:0:0], a...), b...) {
		if _, ok := seen[s]; !ok {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	in := make(map[string]struct{}, len(b))
	for _, s := range b {
		in[s] = struct{}{}
	}
	out := []string{}
	for _, s := range a {
		if _, ok := in[s]; ok {
			out = append(out, s)
			delete(in, s)
		}
	}
	return out
}
