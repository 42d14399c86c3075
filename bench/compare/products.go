package main

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// variant is the dynamic configuration a scenario needs. Each product gets
// the same three, written in its own language.
type variant int

const (
	// base: one host route (bench.local) on a plain and a TLS listener.
	base variant = iota
	// chain: one route on bench.local/api through headers, stripPrefix and
	// basicAuth.
	chain
	// many: 10k routes, one per host h0.bench.local … h9999.bench.local.
	many
)

const (
	benchHost  = "bench.local"
	manyRoutes = 10000
	user       = "bench"
	password   = "benchpw"
)

// product is one proxy under test (or, with no argv, the upstream itself).
type product struct {
	name    string
	version string
	plain   string // address of the plain listener
	secure  string // address of the TLS listener
	// command returns the program to start for a variant; nil means nothing
	// to start (the upstream, measured directly).
	command func(v variant) []string
	env     []string
}

// fixture holds what every product's configuration refers to.
type fixture struct {
	dir      string // working directory for configurations and logs
	upstream string // host:port of the upstream's plain listener
	cert     string // PEM certificate (bench.local, *.bench.local, 127.0.0.1)
	key      string // PEM PKCS#8 key
	combined string // certificate and key in one file, for HAProxy
}

func (f fixture) path(parts ...string) string {
	return filepath.Join(append([]string{f.dir}, parts...)...)
}

func write(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func shaHtpasswd() string {
	sum := sha1.Sum([]byte(password))
	return user + ":{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
}

func hostOf(i int) string { return fmt.Sprintf("h%d.%s", i, benchHost) }

// ---- Guan ----

func guanProduct(f fixture, bin, plain, secure string) (*product, error) {
	for _, v := range []variant{base, chain, many} {
		dir := f.path("guan", fmt.Sprint(v))
		static := fmt.Sprintf(`[log]
  level = "ERROR"
[entryPoints.web]
  address = %q
[entryPoints.websecure]
  address = %q
[providers.file]
  filename = %q
  watch = false
`, plain, secure, filepath.Join(dir, "dynamic.toml"))
		var d strings.Builder
		fmt.Fprintf(&d, "[http.services.up.loadBalancer]\n  [[http.services.up.loadBalancer.servers]]\n    url = \"http://%s\"\n", f.upstream)
		switch v {
		case base:
			fmt.Fprintf(&d, `[http.routers.plain]
  rule = "Host(`+"`%[1]s`"+`)"
  entryPoints = ["web"]
  service = "up"
[http.routers.secure]
  rule = "Host(`+"`%[1]s`"+`)"
  entryPoints = ["websecure"]
  service = "up"
  [http.routers.secure.tls]
[[tls.certificates]]
  certFile = %[2]q
  keyFile = %[3]q
[tls.stores.default.defaultCertificate]
  certFile = %[2]q
  keyFile = %[3]q
`, benchHost, f.cert, f.key)
		case chain:
			fmt.Fprintf(&d, `[http.routers.api]
  rule = "Host(`+"`%s`"+`) && PathPrefix(`+"`/api`"+`)"
  entryPoints = ["web"]
  service = "up"
  middlewares = ["hdr", "strip", "auth"]
[http.middlewares.hdr.headers.customRequestHeaders]
  X-Bench-Request = "1"
[http.middlewares.hdr.headers.customResponseHeaders]
  X-Bench-Response = "1"
[http.middlewares.strip.stripPrefix]
  prefixes = ["/api"]
[http.middlewares.auth.basicAuth]
  users = [%q]
`, benchHost, shaHtpasswd())
		case many:
			for i := range manyRoutes {
				fmt.Fprintf(&d, "[http.routers.r%d]\n  rule = \"Host(`%s`)\"\n  entryPoints = [\"web\"]\n  service = \"up\"\n", i, hostOf(i))
			}
		}
		if err := write(filepath.Join(dir, "static.toml"), static); err != nil {
			return nil, err
		}
		if err := write(filepath.Join(dir, "dynamic.toml"), d.String()); err != nil {
			return nil, err
		}
	}
	return &product{
		name: "Guan", version: versionOf(bin, "version"), plain: plain, secure: secure,
		command: func(v variant) []string {
			return []string{bin, "--configFile=" + f.path("guan", fmt.Sprint(v), "static.toml")}
		},
		env: []string{"GOMAXPROCS=2"},
	}, nil
}

// ---- nginx ----

// Every product sends the upstream the forwarding headers Guan sends (as
// Traefik does, always): X-Forwarded-For, -Proto, -Host, -Port, -Server and
// X-Real-Ip, with the client's Host. The upstream shares the machine's
// cores, and six more header fields cost it more CPU per request (measured
// behind nginx, GET with 64 connections: 16–19 µs without them, 19–23 µs
// with them), so unequal requests would bias every ratio.
const nginxForwarded = `proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Server $hostname;
      proxy_set_header X-Real-Ip $remote_addr;`

func nginxProduct(f fixture, plain, secure string) (*product, error) {
	dir := f.path("nginx")
	userLine := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise drop to nobody and lose access to the
		// working directory.
		userLine = "user root;\n"
	}
	upstream := fmt.Sprintf(`upstream up {
    server %s;
    keepalive 512;
    keepalive_requests 1000000;
  }`, f.upstream)
	proxy := `proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ` + nginxForwarded
	if err := write(filepath.Join(dir, "htpasswd"), shaHtpasswd()+"\n"); err != nil {
		return nil, err
	}
	for _, v := range []variant{base, chain, many} {
		var servers strings.Builder
		switch v {
		case base:
			fmt.Fprintf(&servers, `  server {
    listen %s;
    listen %s ssl http2;
    server_name %s;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / {
      %s
    }
  }
`, plain, secure, benchHost, f.cert, f.key, proxy)
		case chain:
			fmt.Fprintf(&servers, `  server {
    listen %s;
    server_name %s;
    location /api/ {
      auth_basic "bench";
      auth_basic_user_file %s;
      add_header X-Bench-Response 1;
      proxy_set_header X-Bench-Request 1;
      proxy_pass http://up/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      %s
    }
  }
`, plain, benchHost, filepath.Join(dir, "htpasswd"), nginxForwarded)
		case many:
			for i := range manyRoutes {
				fmt.Fprintf(&servers, "  server {\n    listen %s;\n    server_name %s;\n    location / {\n      %s\n    }\n  }\n", plain, hostOf(i), proxy)
			}
		}
		conf := fmt.Sprintf(`%sworker_processes 2;
pid %[2]s/nginx-%[3]d.pid;
error_log %[2]s/error.log error;
events {
  worker_connections 8192;
}
http {
  access_log off;
  keepalive_requests 1000000;
  server_names_hash_max_size 65536;
  server_names_hash_bucket_size 128;
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;
  %[4]s
%[5]s}
`, userLine, dir, v, upstream, servers.String())
		if err := write(filepath.Join(dir, fmt.Sprintf("nginx-%d.conf", v)), conf); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	return &product{
		name: "nginx", version: versionOf("nginx", "-v"), plain: plain, secure: secure,
		command: func(v variant) []string {
			return []string{"nginx", "-p", dir, "-c", filepath.Join(dir, fmt.Sprintf("nginx-%d.conf", v)), "-g", "daemon off;"}
		},
	}, nil
}

// ---- HAProxy ----

func haproxyProduct(f fixture, plain, secure string) (*product, error) {
	dir := f.path("haproxy")
	var hosts strings.Builder
	for i := range manyRoutes {
		fmt.Fprintf(&hosts, "%s be\n", hostOf(i))
	}
	if err := write(filepath.Join(dir, "hosts.map"), hosts.String()); err != nil {
		return nil, err
	}
	head := fmt.Sprintf(`global
  nbthread 2
  maxconn 8000
  tune.ssl.default-dh-param 2048
userlist users
  user %s insecure-password %s
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
backend be
  server up %s maxconn 10000
  option forwardfor
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request set-header X-Forwarded-Host %%[req.hdr(host)]
  http-request set-header X-Forwarded-Port %%[dst_port]
  http-request set-header X-Forwarded-Server %%[hostname]
  http-request set-header X-Real-Ip %%[src]
`, user, password, f.upstream)
	for _, v := range []variant{base, chain, many} {
		var fe string
		switch v {
		case base:
			fe = fmt.Sprintf(`frontend fe
  bind %s
  bind %s ssl crt %s alpn h2,http/1.1
  use_backend be if { req.hdr(host),field(1,:) -i %s }
`, plain, secure, f.combined, benchHost)
		case chain:
			fe = fmt.Sprintf(`frontend fe
  bind %s
  acl api req.hdr(host),field(1,:) -i %s
  acl api_path path_beg /api/
  http-request auth realm bench if api api_path !{ http_auth(users) }
  http-request set-header X-Bench-Request 1 if api api_path
  http-request replace-path /api(/.*) \1 if api api_path
  http-response set-header X-Bench-Response 1
  use_backend be if api
`, plain, benchHost)
		case many:
			fe = fmt.Sprintf(`frontend fe
  bind %s
  use_backend %%[req.hdr(host),field(1,:),lower,map(%s)]
`, plain, filepath.Join(dir, "hosts.map"))
		}
		if err := write(filepath.Join(dir, fmt.Sprintf("haproxy-%d.cfg", v)), head+fe); err != nil {
			return nil, err
		}
	}
	return &product{
		name: "HAProxy", version: firstLine(versionOf("haproxy", "-v")), plain: plain, secure: secure,
		command: func(v variant) []string {
			return []string{"haproxy", "-db", "-f", filepath.Join(dir, fmt.Sprintf("haproxy-%d.cfg", v))}
		},
	}, nil
}

// ---- Caddy ----

func caddyProduct(f fixture, plain, secure string) (*product, error) {
	dir := f.path("caddy")
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	type obj = map[string]any
	proxy := obj{
		"handler":   "reverse_proxy",
		"upstreams": []obj{{"dial": f.upstream}},
		// Caddy keeps 32 idle upstream connections per host by default;
		// the others keep as many as the load needs.
		"transport": obj{"protocol": "http", "keep_alive": obj{"max_idle_conns_per_host": 1024}},
		// Caddy sets X-Forwarded-For, -Proto and -Host itself.
		"headers": obj{"request": obj{"set": obj{
			"X-Forwarded-Port":   []string{"{http.request.port}"},
			"X-Forwarded-Server": []string{"{system.hostname}"},
			"X-Real-Ip":          []string{"{http.request.remote.host}"},
		}}},
	}
	hostRoute := func(host string, handlers ...obj) obj {
		return obj{"match": []obj{{"host": []string{host}}}, "handle": handlers, "terminal": true}
	}
	for _, v := range []variant{base, chain, many} {
		servers := obj{}
		switch v {
		case base:
			servers["plain"] = obj{"listen": []string{plain}, "routes": []obj{hostRoute(benchHost, proxy)}, "automatic_https": obj{"disable": true}}
			servers["secure"] = obj{"listen": []string{secure}, "routes": []obj{hostRoute(benchHost, proxy)},
				"automatic_https": obj{"disable": true}, "tls_connection_policies": []obj{{}}}
		case chain:
			auth := obj{"handler": "authentication", "providers": obj{"http_basic": obj{
				"accounts":   []obj{{"username": user, "password": base64.StdEncoding.EncodeToString(hash)}},
				"hash":       obj{"algorithm": "bcrypt"},
				"hash_cache": obj{},
			}}}
			hdr := obj{"handler": "headers", "request": obj{"set": obj{"X-Bench-Request": []string{"1"}}}, "response": obj{"set": obj{"X-Bench-Response": []string{"1"}}}}
			strip := obj{"handler": "rewrite", "strip_path_prefix": "/api"}
			route := obj{"match": []obj{{"host": []string{benchHost}, "path": []string{"/api/*"}}}, "handle": []obj{hdr, strip, auth, proxy}, "terminal": true}
			servers["plain"] = obj{"listen": []string{plain}, "routes": []obj{route}, "automatic_https": obj{"disable": true}}
		case many:
			routes := make([]obj, manyRoutes)
			for i := range routes {
				routes[i] = hostRoute(hostOf(i), proxy)
			}
			servers["plain"] = obj{"listen": []string{plain}, "routes": routes, "automatic_https": obj{"disable": true}}
		}
		cfg := obj{
			"admin":   obj{"disabled": true},
			"logging": obj{"logs": obj{"default": obj{"level": "ERROR"}}},
			"apps": obj{
				"http": obj{"servers": servers},
				"tls":  obj{"certificates": obj{"load_files": []obj{{"certificate": f.cert, "key": f.key}}}},
			},
		}
		b, err := json.MarshalIndent(cfg, "", " ")
		if err != nil {
			return nil, err
		}
		if err := write(filepath.Join(dir, fmt.Sprintf("caddy-%d.json", v)), string(b)); err != nil {
			return nil, err
		}
	}
	return &product{
		name: "Caddy", version: firstLine(versionOf("caddy", "version")), plain: plain, secure: secure,
		command: func(v variant) []string {
			return []string{"caddy", "run", "--config", filepath.Join(dir, fmt.Sprintf("caddy-%d.json", v))}
		},
		env: []string{"GOMAXPROCS=2", "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir},
	}, nil
}

func versionOf(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
