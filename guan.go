// Package guan is an API gateway and edge router configured in Traefik v3's
// format. The command lives in cmd/gateway; this package only embeds the
// default static configuration so the binary runs anywhere.
package guan

import _ "embed"

// DefaultStaticConfig is traefik-style.toml as shipped with the source.
//
//go:embed traefik-style.toml
var DefaultStaticConfig []byte

// Version and Codename are set at link time (-ldflags "-X ...").
var (
	Version  = "dev"
	Codename = "pass"
)
