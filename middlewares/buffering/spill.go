package buffering

import (
	"bytes"
	"errors"
	"io"
	"os"
)

var errTooLarge = errors.New("body larger than the configured maximum")

// spill stores a body in memory up to memLimit bytes and the rest in a
// temporary file, refusing to grow beyond max (0 = no maximum). It can be
// read from the start any number of times, also concurrently.
type spill struct {
	mem      *bytes.Buffer
	memLimit int64
	max      int64
	file     *os.File
	fileLen  int64
}

func newSpill(mem *bytes.Buffer, memLimit, max int64) *spill {
	return &spill{mem: mem, memLimit: memLimit, max: max}
}

func (s *spill) Len() int64 { return int64(s.mem.Len()) + s.fileLen }

func (s *spill) Write(p []byte) (int, error) {
	if s.max > 0 && s.Len()+int64(len(p)) > s.max {
		return 0, errTooLarge
	}
	if s.file == nil {
		room := s.memLimit - int64(s.mem.Len())
		if int64(len(p)) <= room {
			return s.mem.Write(p)
		}
		f, err := os.CreateTemp("", "guan-buffer-*")
		if err != nil {
			return 0, err
		}
		s.file = f
	}
	n, err := s.file.Write(p)
	s.fileLen += int64(n)
	return n, err
}

// ReadFrom copies r in, stopping with errTooLarge past the maximum.
func (s *spill) ReadFrom(r io.Reader) (int64, error) {
	var chunk [32 << 10]byte
	var total int64
	for {
		n, err := r.Read(chunk[:])
		if n > 0 {
			if _, werr := s.Write(chunk[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// reader returns the body from its start.
func (s *spill) reader() io.Reader {
	m := bytes.NewReader(s.mem.Bytes())
	if s.file == nil {
		return m
	}
	return io.MultiReader(m, io.NewSectionReader(s.file, 0, s.fileLen))
}

// Close deletes the temporary file, if any.
func (s *spill) Close() error {
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	s.file = nil
	return err
}
