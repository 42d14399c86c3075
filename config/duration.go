// Package config holds the value types shared by the static and dynamic
// configuration: durations and source positions used in error messages.
package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration that decodes from a Go duration string ("10s",
// "1m30s") or, as in Traefik, from a bare number of seconds.
type Duration time.Duration

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// UnmarshalText accepts "10s" style strings and plain integers (seconds).
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "" {
		*d = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number of seconds or a value like \"10s\", \"1m30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText renders the duration in Go notation.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalJSON accepts strings and numbers (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		return d.UnmarshalText([]byte(n.String()))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return d.UnmarshalText([]byte(s))
}
