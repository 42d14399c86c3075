package static

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
)

// Load reads the static configuration file at path (.toml, .yaml, .yml or
// .json), applies the defaults and validates the result. On error the
// configuration is nil and the error is a config.Errors with file:line:col
// positions; the Meta is returned whenever the file could be parsed.
func Load(path string) (*Configuration, *decode.Meta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var perr *fs.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return nil, nil, config.Errors{{Pos: config.Position{File: path}, Msg: "cannot read the static configuration: " + err.Error()}}
	}
	return Parse(path, data)
}

// Parse is Load for data already in memory; filename selects the format and
// names the source in errors.
func Parse(filename string, data []byte) (*Configuration, *decode.Meta, error) {
	var c Configuration
	meta, err := decode.Bytes(filename, data, &c)
	if err != nil {
		return nil, meta, err
	}
	return c.finish(filepath.Dir(filename), meta)
}

// EnvPrefixes name the environment variables of the static configuration:
// GUAN_ENTRYPOINTS_WEB_ADDRESS, or TRAEFIK_ENTRYPOINTS_WEB_ADDRESS as in
// Traefik.
var EnvPrefixes = []string{"GUAN_", "TRAEFIK_"}

// FromSettings is Parse for settings given as command-line flags (see
// decode.Flag) or environment variables (see Environ): the same decoding
// rules, defaults and validation as a file, with errors naming the flag or
// variable at fault. source names the settings as a whole ("flags").
// Relative paths are resolved against the working directory.
func FromSettings(source string, settings []decode.Setting) (*Configuration, *decode.Meta, error) {
	var c Configuration
	meta, err := decode.Settings(source, settings, &c)
	if err != nil {
		return nil, meta, err
	}
	cfg, meta, err := c.finish(".", meta)
	var errs config.Errors
	if errors.As(err, &errs) {
		trimKeys(errs)
	}
	return cfg, meta, err
}

// trimKeys drops the key path that starts a validation message when the
// flag or variable the error names is that very key:
// "--ping.entryPoint: entrypoint "x" does not exist", not
// "--ping.entryPoint: ping.entryPoint: entrypoint "x" does not exist".
func trimKeys(errs config.Errors) {
	brackets := strings.NewReplacer("[", ".", "]", "")
	for _, e := range errs {
		key, msg, ok := strings.Cut(e.Msg, ": ")
		if !ok || e.Pos.Line != 0 {
			continue
		}
		name := strings.TrimLeft(e.Pos.File, "-")
		for _, p := range EnvPrefixes {
			if rest, ok := strings.CutPrefix(name, p); ok {
				name = strings.ReplaceAll(rest, "_", ".")
				break
			}
		}
		if strings.EqualFold(brackets.Replace(name), brackets.Replace(key)) {
			e.Msg = msg
		}
	}
}

// Environ returns the static configuration settings among environment
// variables (KEY=VALUE strings): those named GUAN_ or TRAEFIK_ followed by
// a top-level key (GUAN_API_INSECURE, TRAEFIK_ENTRYPOINTS_WEB_ADDRESS).
func Environ(environ []string) []decode.Setting {
	return decode.Environ(environ, EnvPrefixes, &Configuration{})
}

// IsSwitch reports whether the key at path is a boolean or a section, so
// that a flag for it written without "=value" does not take the next
// argument as its value.
func IsSwitch(path []string) bool { return decode.IsSwitch(&Configuration{}, path) }

// finish applies the defaults and validates a decoded configuration.
func (c *Configuration) finish(dir string, meta *decode.Meta) (*Configuration, *decode.Meta, error) {
	c.baseDir = dir
	if abs, err := filepath.Abs(dir); err == nil {
		c.baseDir = abs
	}
	c.SetDefaults()
	if err := c.Validate(meta); err != nil {
		return nil, meta, err
	}
	return c, meta, nil
}

// BaseDir is the directory of the file the configuration was read from (the
// working directory for an embedded one, flags or environment variables): relative paths of
// serversTransport (rootCAs, certificates) are resolved against it.
func (c *Configuration) BaseDir() string { return c.baseDir }
