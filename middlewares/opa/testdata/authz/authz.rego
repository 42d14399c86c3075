# The gateway's example API policy: 20 rules over method, path, client
# IP, headers, query and JWT claims, with users and roles as data.
package guan.authz

default allow := false

# The caller: the JWT subject when a jwt middleware ran before, else the
# X-User header set by a trusted proxy.
user := input.jwt.sub if input.jwt.sub

user := input.headers["x-user"] if not input.jwt

roles contains role if some role in data.users[user].roles

tenant := data.users[user].tenant

inside if net.cidr_contains("10.0.0.0/8", input.clientIP)

inside if input.clientIP == "127.0.0.1"

blocked if {
	some cidr in data.blocked_networks
	net.cidr_contains(cidr, input.clientIP)
}

read_method if input.method in {"GET", "HEAD"}

write_method if input.method in {"POST", "PUT", "PATCH", "DELETE"}

path := split(trim_prefix(input.path, "/"), "/")

# 1. Public pages, for anyone.
allow if {
	read_method
	path[0] == "public"
}

# 2. Health checks from inside.
allow if {
	input.path == "/healthz"
	inside
}

# 3. Readers read orders of their tenant.
allow if {
	read_method
	path[0] == "orders"
	"reader" in roles
	input.query.tenant[0] == tenant
}

# 4. Writers change orders of their tenant.
allow if {
	write_method
	path[0] == "orders"
	"writer" in roles
	input.headers["x-tenant"] == tenant
}

# 5. Admins, from anywhere not blocked.
allow if {
	"admin" in roles
	not blocked
}

# 6. Metrics scrapers.
allow if {
	input.path == "/metrics"
	"scraper" in roles
	inside
}

# The answer with a status for the client: 401 without a caller, 403
# otherwise, and the caller's tenant for the service when allowed.
decision := {"allow": true, "headers": {"X-Tenant": tenant}} if {
	allow
	tenant
}

decision := {"allow": true} if {
	allow
	not tenant
}

decision := {"allow": false, "status": 401, "headers": {"WWW-Authenticate": "Bearer"}, "body": "who are you?"} if {
	not allow
	not user
}

decision := {"allow": false, "status": 403, "body": sprintf("%s may not %s %s", [user, input.method, input.path])} if {
	not allow
	user
}
