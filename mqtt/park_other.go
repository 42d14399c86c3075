//go:build !linux

package mqtt

import "syscall"

// Without an idle poller every side keeps a goroutine blocked in Read.

func canPark() bool                     { return false }
func park(syscall.RawConn, func()) bool { return false }
func unpark(syscall.RawConn)            {}
func readable(syscall.RawConn) bool     { return true }
