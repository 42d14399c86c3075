package compress

import (
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const (
	gzipName     = "gzip"
	brotliName   = "br"
	zstdName     = "zstd"
	maxEncodings = 3
)

// encoder is what gzip, brotli and zstd writers have in common.
type encoder interface {
	io.Writer
	Flush() error
	Close() error
	Reset(io.Writer)
}

// Compressors are expensive to allocate (zstd and brotli hold large
// tables), so each encoding keeps a pool of them shared by all middlewares.
var pools = map[string]*sync.Pool{
	gzipName: {New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression) // level is valid
		return encoder(w)
	}},
	// Quality 4 keeps brotli's CPU cost close to gzip's default while
	// compressing better; the higher levels are meant for static assets.
	brotliName: {New: func() any { return encoder(brotli.NewWriterLevel(nil, 4)) }},
	zstdName: {New: func() any {
		w, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1), // one response, one goroutine
			zstd.WithWindowSize(1<<20),     // bounded memory per response
			zstd.WithLowerEncoderMem(true),
		)
		if err != nil {
			panic("compress: zstd options rejected: " + err.Error()) // static options
		}
		return encoder(w)
	}},
}

func getEncoder(name string, w io.Writer) encoder {
	e := pools[name].Get().(encoder)
	e.Reset(w)
	return e
}

func putEncoder(name string, e encoder) {
	pools[name].Put(e)
}
