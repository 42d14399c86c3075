package decode

import "strings"

// unsupported lists sections of Traefik v3's configuration that Guan knows
// but does not implement. A key found here is still an error, like any
// unknown key; the table only makes the message say what the section is
// instead of suggesting a look-alike key. Paths are matched from the root
// of the file, case-insensitively; "*" matches one name (a router, a
// middleware, an entrypoint...).
var unsupported = []struct {
	path string
	what string // what the section is, shown in parentheses
	hint string // optional: what to use instead
}{
	// Static configuration.
	{"providers.docker", "Traefik's Docker provider", providerHint},
	{"providers.swarm", "Traefik's Swarm provider", providerHint},
	{"providers.kubernetesIngress", "Traefik's Kubernetes Ingress provider", providerHint},
	{"providers.kubernetesIngressNGINX", "Traefik's Kubernetes Ingress NGINX provider", providerHint},
	{"providers.kubernetesCRD", "Traefik's Kubernetes CRD provider", providerHint},
	{"providers.kubernetesGateway", "Traefik's Kubernetes Gateway API provider", providerHint},
	{"providers.knative", "Traefik's Knative provider", providerHint},
	{"providers.rest", "Traefik's REST provider", providerHint},
	{"providers.consulCatalog", "Traefik's Consul Catalog provider", providerHint},
	{"providers.nomad", "Traefik's Nomad provider", providerHint},
	{"providers.ecs", "Traefik's ECS provider", providerHint},
	{"providers.consul", "Traefik's Consul KV provider", providerHint},
	{"providers.etcd", "Traefik's etcd provider", providerHint},
	{"providers.zooKeeper", "Traefik's ZooKeeper provider", providerHint},
	{"providers.redis", "Traefik's Redis provider", providerHint},
	{"providers.http", "Traefik's HTTP provider", providerHint},
	{"providers.plugin", "provider plugins", providerHint},
	{"metrics.datadog", "Traefik's Datadog metrics exporter", metricsHint},
	{"metrics.statsD", "Traefik's StatsD metrics exporter", metricsHint},
	{"metrics.influxDB2", "Traefik's InfluxDB v2 metrics exporter", metricsHint},
	{"metrics.otlp", "Traefik's OpenTelemetry metrics exporter", metricsHint},
	{"log.otlp", "exporting logs with OpenTelemetry", "log to stdout or to log.filePath"},
	{"accessLog.otlp", "exporting access logs with OpenTelemetry", "write them to stdout or to accessLog.filePath"},
	{"tracing", "Traefik's OpenTelemetry tracing", ""},
	{"hostResolver", "Traefik's CNAME flattening", ""},
	{"certificatesResolvers", "ACME certificate resolvers", "load certificates with tls.certificates in the dynamic configuration"},
	{"experimental", "Traefik's experimental features: plugins, fastProxy...", ""},
	{"spiffe", "SPIFFE identities", ""},
	{"ocsp", "OCSP stapling", ""},
	{"serversTransport.spiffe", "SPIFFE identities", ""},
	{"tcpServersTransport.tls.spiffe", "SPIFFE identities", ""},
	{"entryPoints.*.proxyProtocol", "the PROXY protocol", ""},
	{"entryPoints.*.udp", "UDP entrypoints", ""},
	{"entryPoints.*.allowACMEByPass", "ACME challenges", ""},

	// Dynamic configuration.
	{"udp", "UDP routing", ""},
	{"http.middlewares.*.plugin", "middleware plugins", ""},
	{"http.serversTransports.*.spiffe", "SPIFFE identities", ""},
	{"tcp.services.*.loadBalancer.proxyProtocol", "the PROXY protocol", ""},
	{"tcp.serversTransports.*.proxyProtocol", "the PROXY protocol", ""},
	{"tcp.serversTransports.*.tls.spiffe", "SPIFFE identities", ""},
	{"tls.stores.*.defaultGeneratedCert", "a default certificate from an ACME resolver", "set tls.stores.default.defaultCertificate"},
}

const (
	providerHint = "Guan reads dynamic configuration from files (providers.file)"
	metricsHint  = "Guan exports Prometheus metrics (metrics.prometheus)"
)

// unsupportedMessage returns the message for key found at path (canonical
// names from the root) when it names a known Traefik section Guan does
// not support, or "" otherwise.
func unsupportedMessage(path []string, key string) string {
	full := append(path[:len(path):len(path)], key)
	for _, u := range unsupported {
		pat := strings.Split(u.path, ".")
		if len(pat) != len(full) {
			continue
		}
		ok := true
		for i, p := range pat {
			if p != "*" && !strings.EqualFold(p, full[i]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		msg := "not supported yet (" + u.what + ")"
		if u.hint != "" {
			msg += "; " + u.hint
		}
		return msg
	}
	return ""
}
