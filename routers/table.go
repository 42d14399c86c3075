package routers

import (
	"net/http"
	"sort"
	"strings"

	"github.com/guan-gateway/guan/reqinfo"
)

// Route is one HTTP router in a table.
type Route struct {
	Name     string
	Rule     *Rule
	Priority int // 0: the length of the rule text, as in Traefik
	Handler  http.Handler
	// Observability, when the router has its own settings: they replace
	// the entrypoint's for its requests.
	OwnObservability       bool
	NoAccessLog, NoMetrics bool

	// hostImplied: the rule is Host matchers only, so finding the route
	// in the bucket of the request's host is its match; the rule is not
	// evaluated (with 10k such routers, evaluating it took most of a
	// lookup's time in a loaded gateway: its memory is cold). Copied from
	// Rule.hostsOnly so that the lookup does not touch the rule at all.
	hostImplied bool
}

// Table picks the router for a request: the highest-priority route whose rule
// matches, exactly as a scan of all routes in priority order would, but
// without scanning them all. Routes are indexed by the exact hosts their rule
// requires; routes with any other host constraint sit in a fallback bucket.
// Large buckets are further indexed by literal path prefix. A Table is
// immutable and safe for concurrent use.
type Table struct {
	routes   []Route // in match order
	byHost   map[string]*bucket
	fallback bucket
}

// bucket holds candidate route indexes in match order. Past indexThreshold
// entries, routes that require a literal path prefix move into a radix tree
// so a lookup only visits the prefixes of the request path.
type bucket struct {
	anyPath []int32 // routes without a literal path requirement
	paths   *radixNode
}

const indexThreshold = 16

// EffectivePriority is the priority a route sorts by: Priority, or the rule
// length when Priority is 0.
func (r *Route) EffectivePriority() int {
	if r.Priority != 0 || r.Rule == nil {
		return r.Priority
	}
	return len(r.Rule.String())
}

// NewTable compiles routes into a table. Higher priority is tried first; ties
// go to the lexically smaller name so the order never depends on map order.
// Routes without a rule never match; a nil Handler answers 404.
func NewTable(routes []Route) *Table {
	t := &Table{byHost: make(map[string]*bucket)}
	for _, r := range routes {
		if r.Rule == nil {
			continue
		}
		if r.Handler == nil {
			r.Handler = http.NotFoundHandler()
		}
		r.Priority = r.EffectivePriority()
		r.hostImplied = r.Rule.hostsOnly
		t.routes = append(t.routes, r)
	}
	sortRoutes(t.routes, func(r *Route) (int, string) { return r.Priority, r.Name })

	// Distribute in match order so every list stays sorted.
	hostLists, fallback := indexHosts(len(t.routes), func(i int) ([]string, bool) {
		return t.routes[i].Rule.hosts, t.routes[i].Rule.only
	})
	for h, idxs := range hostLists {
		b := &bucket{}
		t.fill(b, idxs)
		t.byHost[h] = b
	}
	t.fill(&t.fallback, fallback)
	return t
}

func (t *Table) fill(b *bucket, idxs []int32) {
	if len(idxs) <= indexThreshold {
		b.anyPath = idxs
		return
	}
	b.paths = &radixNode{}
	for _, idx := range idxs {
		rule := t.routes[idx].Rule
		if !rule.pathOK {
			b.anyPath = append(b.anyPath, idx)
			continue
		}
		for _, p := range rule.paths {
			b.paths.insert(p, idx)
		}
	}
}

// sortRoutes puts routes in match order: higher priority first, ties to the
// lexically smaller name so the order never depends on map order.
func sortRoutes[R any](routes []R, key func(*R) (priority int, name string)) {
	sort.SliceStable(routes, func(i, j int) bool {
		pi, ni := key(&routes[i])
		pj, nj := key(&routes[j])
		if pi != pj {
			return pi > pj
		}
		return ni < nj
	})
}

// indexHosts distributes route indexes 0..n-1, in order, over the exact
// hosts each route requires; routes that can match other hosts too go to
// fallback. Every list stays sorted in match order.
func indexHosts(n int, hostsOf func(i int) (hosts []string, only bool)) (byHost map[string][]int32, fallback []int32) {
	byHost = make(map[string][]int32)
	for i := range n {
		hosts, only := hostsOf(i)
		if !only {
			fallback = append(fallback, int32(i))
			continue
		}
		for _, h := range hosts {
			byHost[h] = append(byHost[h], int32(i))
		}
	}
	return byHost, fallback
}

// Len is the number of routes in the table.
func (t *Table) Len() int { return len(t.routes) }

// Lookup returns the route for r, or nil when none matches.
func (t *Table) Lookup(r *http.Request) *Route {
	q := newRequest(r)
	// Candidate lists; a small fixed capacity keeps this on the stack.
	lists := make([][]int32, 0, 16)
	if b := t.byHost[q.hostKey]; b != nil {
		lists = b.candidates(q.path, lists)
	}
	lists = t.fallback.candidates(q.path, lists)

	// Merge the sorted lists; the smallest index is the next route a linear
	// scan in priority order would try.
	for {
		best, bestIdx := -1, int32(len(t.routes))
		for i, l := range lists {
			if len(l) > 0 && l[0] < bestIdx {
				best, bestIdx = i, l[0]
			}
		}
		if best < 0 {
			return nil
		}
		for i, l := range lists { // drop it everywhere: a route may sit under several prefixes
			if len(l) > 0 && l[0] == bestIdx {
				lists[i] = l[1:]
			}
		}
		// A host-implied route is only ever in the bucket of its hosts.
		if rt := &t.routes[bestIdx]; rt.hostImplied || rt.Rule.match(&q) {
			return rt
		}
	}
}

func (b *bucket) candidates(path string, lists [][]int32) [][]int32 {
	if len(b.anyPath) > 0 {
		lists = append(lists, b.anyPath)
	}
	if b.paths != nil {
		lists = b.paths.collect(path, lists)
	}
	return lists
}

// ServeHTTP routes r to the matching route's handler, recording the router
// name in the request's reqinfo.Info when one is attached. Without a match
// it answers 404 like Traefik.
func (t *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := t.Lookup(r)
	if rt == nil {
		http.NotFound(w, r)
		return
	}
	if info, ok := reqinfo.Lookup(r.Context()); ok {
		info.Router = rt.Name
		if rt.OwnObservability {
			info.NoAccessLog, info.NoMetrics = rt.NoAccessLog, rt.NoMetrics
		}
	}
	rt.Handler.ServeHTTP(w, r)
}

// radixNode is a compressed trie over path prefixes. routes holds, in match
// order, the routes whose required prefix ends at this node.
type radixNode struct {
	label    string
	routes   []int32
	first    []byte // first byte of each child's label
	children []*radixNode
}

func (n *radixNode) child(c byte) int {
	for i, f := range n.first {
		if f == c {
			return i
		}
	}
	return -1
}

func (n *radixNode) insert(key string, idx int32) {
	for {
		if key == "" {
			if k := len(n.routes); k == 0 || n.routes[k-1] != idx {
				n.routes = append(n.routes, idx)
			}
			return
		}
		i := n.child(key[0])
		if i < 0 {
			n.first = append(n.first, key[0])
			n.children = append(n.children, &radixNode{label: key, routes: []int32{idx}})
			return
		}
		c := n.children[i]
		l := commonPrefix(key, c.label)
		if l < len(c.label) {
			split := &radixNode{label: c.label[:l], first: []byte{c.label[l]}, children: []*radixNode{c}}
			c.label = c.label[l:]
			n.children[i] = split
			c = split
		}
		key, n = key[l:], c
	}
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// collect appends the route lists of every node whose prefix is a prefix of
// path.
func (n *radixNode) collect(path string, lists [][]int32) [][]int32 {
	for {
		if len(n.routes) > 0 {
			lists = append(lists, n.routes)
		}
		if path == "" {
			return lists
		}
		i := n.child(path[0])
		if i < 0 {
			return lists
		}
		c := n.children[i]
		if !strings.HasPrefix(path, c.label) {
			return lists
		}
		path, n = path[len(c.label):], c
	}
}
