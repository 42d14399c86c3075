package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan"
	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/services/transport"
)

const defaultConfigFile = "traefik-style.toml"

// loadStatic reads, defaults and validates the static configuration. With no
// path it uses ./traefik-style.toml, or the embedded copy when absent.
func loadStatic(path string) (*static.Configuration, string, error) {
	var (
		cfg  *static.Configuration
		meta *decode.Meta
		err  error
	)
	switch {
	case path != "":
		cfg, meta, err = static.Load(path)
	default:
		if _, statErr := os.Stat(defaultConfigFile); statErr == nil {
			path = defaultConfigFile
			cfg, meta, err = static.Load(path)
		} else if errors.Is(statErr, fs.ErrNotExist) {
			path = "embedded:" + defaultConfigFile
			cfg, meta, err = static.Parse(path, guan.DefaultStaticConfig)
		} else {
			return nil, "", statErr
		}
	}
	if err != nil {
		return nil, path, err // Load and Parse apply defaults and validate
	}
	if err := checkServersTransport(cfg, meta); err != nil {
		return nil, path, err
	}
	return cfg, path, nil
}

// checkServersTransport loads the TLS material (rootCAs, certificates) of
// the static serversTransport, so a missing or bad file stops the start
// instead of failing every service that uses default@internal.
func checkServersTransport(cfg *static.Configuration, meta *decode.Meta) error {
	st := cfg.ServersTransport
	if st == nil {
		return nil
	}
	var errs config.Errors
	for i, ca := range st.RootCAs {
		if _, err := transport.TLSConfig(&dynamic.ServersTransport{RootCAs: []string{ca}}, cfg.BaseDir()); err != nil {
			_, msg, _ := strings.Cut(err.Error(), ": ") // drop "rootCAs[0]: "
			errs = append(errs, &config.Error{Pos: meta.Pos("serversTransport", "rootCAs", strconv.Itoa(i)),
				Msg: fmt.Sprintf("serversTransport.rootCAs[%d]: %s", i, msg)})
		}
	}
	for i, c := range st.Certificates {
		if _, err := transport.TLSConfig(&dynamic.ServersTransport{Certificates: []dynamic.Certificate{c}}, cfg.BaseDir()); err != nil {
			errs = append(errs, &config.Error{Pos: meta.Pos("serversTransport", "certificates", strconv.Itoa(i)),
				Msg: fmt.Sprintf("serversTransport.%s", strings.Replace(err.Error(), "certificates[0]", fmt.Sprintf("certificates[%d]", i), 1))})
		}
	}
	return errs.Err()
}

// describe prefixes a multi-line configuration error for the log.
func describe(path string, err error) string {
	return fmt.Sprintf("static configuration %s:\n%v", path, err)
}
