package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
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

// staticSource is what the command line and the environment offer for the
// static configuration.
type staticSource struct {
	configFile string           // --configFile
	configFlag string           // that flag as written
	flags      []decode.Setting // static flags
	environ    []string         // os.Environ()
}

// Names of the sources in messages and logs.
const (
	sourceFlags = "command-line flags"
	sourceEnv   = "environment variables"
)

// loadStatic reads, defaults and validates the static configuration from
// one source, as Traefik does (sources are never merged), in this order:
//
//  1. the file of --configFile;
//  2. static flags, if any: they are the whole configuration;
//  3. GUAN_* / TRAEFIK_* environment variables, if any;
//  4. ./traefik-style.toml, or the copy embedded in the binary when absent.
//
// It returns the configuration and the source used, for messages.
func loadStatic(src staticSource) (*static.Configuration, string, error) {
	var (
		cfg  *static.Configuration
		meta *decode.Meta
		err  error
		used string
	)
	switch env := static.Environ(src.environ); {
	case src.configFile != "":
		used = src.configFile
		cfg, meta, err = static.Load(used)
	case len(src.flags) > 0:
		used = sourceFlags
		cfg, meta, err = static.FromSettings(used, src.flags)
	case len(env) > 0:
		used = sourceEnv
		cfg, meta, err = static.FromSettings(used, env)
	default:
		if _, statErr := os.Stat(defaultConfigFile); statErr == nil {
			used = defaultConfigFile
			cfg, meta, err = static.Load(used)
		} else if errors.Is(statErr, fs.ErrNotExist) {
			used = "embedded:" + defaultConfigFile
			cfg, meta, err = static.Parse(used, guan.DefaultStaticConfig)
		} else {
			return nil, "", statErr
		}
	}
	if err != nil {
		return nil, used, err // Load, Parse and FromSettings apply defaults and validate
	}
	if err := checkServersTransport(cfg, meta); err != nil {
		return nil, used, err
	}
	return cfg, used, nil
}

// logSource logs where the static configuration came from, and warns when
// environment variables were ignored because another source won.
func logSource(log *slog.Logger, src staticSource, used string) {
	switch used {
	case sourceFlags:
		log.Info("static configuration loaded from command-line flags", "flags", len(src.flags))
	case sourceEnv:
		log.Info("static configuration loaded from environment variables", "variables", len(static.Environ(src.environ)))
	default:
		log.Info("static configuration loaded from a file", "file", used)
	}
	if used != sourceEnv {
		if env := static.Environ(src.environ); len(env) > 0 {
			log.Warn("static configuration environment variables ignored: the configuration comes from one source only",
				"source", used, "first", env[0].Name, "count", len(env))
		}
	}
}

// checkServersTransport loads the TLS material (rootCAs, certificates) of
// the static serversTransport and tcpServersTransport, so a missing or bad
// file stops the start instead of failing every service that uses
// default@internal.
func checkServersTransport(cfg *static.Configuration, meta *decode.Meta) error {
	var errs config.Errors
	check := func(at []string, rootCAs []string, certs []dynamic.Certificate) {
		key := strings.Join(at, ".")
		for i, ca := range rootCAs {
			if _, err := transport.TLSConfig(&dynamic.ServersTransport{RootCAs: []string{ca}}, cfg.BaseDir()); err != nil {
				_, msg, _ := strings.Cut(err.Error(), ": ") // drop "rootCAs[0]: "
				errs = append(errs, &config.Error{Pos: meta.Pos(append(at, "rootCAs", strconv.Itoa(i))...),
					Msg: fmt.Sprintf("%s.rootCAs[%d]: %s", key, i, msg)})
			}
		}
		for i, c := range certs {
			if _, err := transport.TLSConfig(&dynamic.ServersTransport{Certificates: []dynamic.Certificate{c}}, cfg.BaseDir()); err != nil {
				errs = append(errs, &config.Error{Pos: meta.Pos(append(at, "certificates", strconv.Itoa(i))...),
					Msg: fmt.Sprintf("%s.%s", key, strings.Replace(err.Error(), "certificates[0]", fmt.Sprintf("certificates[%d]", i), 1))})
			}
		}
	}
	if st := cfg.ServersTransport; st != nil {
		check([]string{"serversTransport"}, st.RootCAs, st.Certificates)
	}
	if st := cfg.TCPServersTransport; st != nil && st.TLS != nil {
		check([]string{"tcpServersTransport", "tls"}, st.TLS.RootCAs, st.TLS.Certificates)
	}
	return errs.Err()
}

// describe prefixes a multi-line configuration error for the log.
func describe(used string, err error) string {
	if used == sourceFlags || used == sourceEnv {
		return fmt.Sprintf("static configuration from %s:\n%v", used, err)
	}
	return fmt.Sprintf("static configuration %s:\n%v", used, err)
}
