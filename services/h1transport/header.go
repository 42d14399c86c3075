package h1transport

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/guan-gateway/guan/h1wire"
)

// maxHeaderBytes bounds the status line plus header fields of a response,
// and separately its trailer block (net/http's default is the same).
const maxHeaderBytes = 1 << 20

var errHeaderTooLarge = errors.New("h1transport: upstream response header exceeds 1 MiB")

// parseFields parses an upstream header block (see h1wire.ParseFields).
func parseFields(block string, lines int, h http.Header) error {
	if err := h1wire.ParseFields(block, lines, h); err != nil {
		return fmt.Errorf("h1transport: upstream response: %w", err)
	}
	return nil
}

func truncate(s string) string { return h1wire.Truncate(s) }
