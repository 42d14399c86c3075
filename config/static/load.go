package static

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

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
	c.baseDir = filepath.Dir(filename)
	if abs, err := filepath.Abs(c.baseDir); err == nil {
		c.baseDir = abs
	}
	c.SetDefaults()
	if err := c.Validate(meta); err != nil {
		return nil, meta, err
	}
	return &c, meta, nil
}

// BaseDir is the directory of the file the configuration was read from (the
// working directory for an embedded one): relative paths of
// serversTransport (rootCAs, certificates) are resolved against it.
func (c *Configuration) BaseDir() string { return c.baseDir }
