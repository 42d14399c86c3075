//go:build !linux

package main

import "log/slog"

// releaseStartupPages is Linux-only (MADV_PAGEOUT).
func releaseStartupPages(*slog.Logger) {}
