package entrypoints

import (
	"net/url"

	"github.com/guan-gateway/guan/urlpath"
)

// sanitizePath removes "." and ".." segments and merges repeated slashes
// before routing (http.sanitizePath, on by default as in Traefik), keeping
// a trailing slash. Without it, /public/../admin would match
// PathPrefix(`/public`) and reach the upstream, which resolves it to
// /admin: a rule could be walked around.
//
// It works on the escaped path, which routers and the proxy both read:
// a segment written %2e%2e is a dot segment, an encoded slash (%2F) is
// data inside its segment, not a separator. Unlike Traefik, "..;params"
// and ".;params" count as dot segments too: servlet containers resolve
// /public/..;/admin to /admin.
func sanitizePath(u *url.URL) {
	urlpath.Clean(u)
}
