//go:build !linux

package sockio

const supported = false

func (c *Conn) readOnce(uintptr) bool      { panic("sockio: unsupported") }
func (c *Conn) writeOnce(uintptr) bool     { panic("sockio: unsupported") }
func (c *Conn) writeThenRead(uintptr) bool { panic("sockio: unsupported") }
func peekOne(uintptr) error                { panic("sockio: unsupported") }
