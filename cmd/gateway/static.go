package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/guan-gateway/guan"
	"github.com/guan-gateway/guan/config/static"
)

const defaultConfigFile = "traefik-style.toml"

// loadStatic reads, defaults and validates the static configuration. With no
// path it uses ./traefik-style.toml, or the embedded copy when absent.
func loadStatic(path string) (*static.Configuration, string, error) {
	var (
		cfg *static.Configuration
		err error
	)
	switch {
	case path != "":
		cfg, _, err = static.Load(path)
	default:
		if _, statErr := os.Stat(defaultConfigFile); statErr == nil {
			path = defaultConfigFile
			cfg, _, err = static.Load(path)
		} else if errors.Is(statErr, fs.ErrNotExist) {
			path = "embedded:" + defaultConfigFile
			cfg, _, err = static.Parse(path, guan.DefaultStaticConfig)
		} else {
			return nil, "", statErr
		}
	}
	if err != nil {
		return nil, path, err // Load and Parse apply defaults and validate
	}
	return cfg, path, nil
}

// describe prefixes a multi-line configuration error for the log.
func describe(path string, err error) string {
	return fmt.Sprintf("static configuration %s:\n%v", path, err)
}
