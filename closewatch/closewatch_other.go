//go:build !linux

package closewatch

import (
	"errors"
	"syscall"
)

// Watch is Linux-only: elsewhere the caller keeps its own check.
func Watch(rc syscall.RawConn) (*Entry, error) {
	return nil, errors.ErrUnsupported
}

// Stop does nothing: no entry exists here.
func (e *Entry) Stop() {}

// Watched is the number of sockets being watched: none here.
func Watched() int { return 0 }
