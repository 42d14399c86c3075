package dynamic

// Empty reports whether c defines nothing at all: no router, service,
// middleware, transport, certificate, TLS option or store. A provider
// that yields such a configuration is usually caught mid-write (an editor
// truncating a file before writing it again), so it is not applied, as
// in Traefik.
func (c *Configuration) Empty() bool {
	if c == nil {
		return true
	}
	if h := c.HTTP; h != nil && len(h.Routers)+len(h.Services)+len(h.Middlewares)+len(h.ServersTransports) > 0 {
		return false
	}
	if t := c.TCP; t != nil && len(t.Routers)+len(t.Services)+len(t.Middlewares)+len(t.ServersTransports) > 0 {
		return false
	}
	if t := c.TLS; t != nil && len(t.Certificates)+len(t.Options)+len(t.Stores) > 0 {
		return false
	}
	if m := c.MQTT; m != nil && len(m.Routers)+len(m.Services)+len(m.Middlewares) > 0 {
		return false
	}
	return true
}
