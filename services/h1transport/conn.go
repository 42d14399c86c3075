package h1transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/guan-gateway/guan/cancelhook"
	"github.com/guan-gateway/guan/closewatch"
	"github.com/guan-gateway/guan/h1wire"
	"github.com/guan-gateway/guan/headerpool"
	"github.com/guan-gateway/guan/sockio"
	"golang.org/x/net/http/httpguts"
)

// connBufSize is the size of each pooled connection's read and write
// buffers. They hold a message head and a small body; they live as long as
// the connection, and a gateway in front of busy upstreams keeps hundreds
// of connections, so they are kept small (nginx's proxy buffer is a page
// or two). Large bodies do not go through them: reads into a large slice
// bypass the read buffer, and bodies are written from copyBufSize chunks.
const connBufSize = 8 << 10

// copyBufSize is the chunk a request body is copied in, from a pool: only
// exchanges that send a body hold one, and only while they send it.
const copyBufSize = 32 << 10

// Connections are long-lived; their buffers go back to these pools when
// they close so that churn (server restarts, Connection: close) is cheap.
var (
	readerPool  sync.Pool
	writerPool  sync.Pool
	scratchPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
)

// aLongTimeAgo is a deadline that makes blocked reads and writes return.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one connection to a server. It is used by one exchange at a time:
// the goroutine in RoundTrip, then whoever reads the response body.
type conn struct {
	hp   *hostPool
	nc   net.Conn
	sock *sockio.Conn  // nc's socket without the scheduler's syscall hand-off; nil if not TCP
	br   *bufio.Reader // reads through conn.Read
	bw   *bufio.Writer // writes through conn.Write

	raw     syscall.RawConn   // for the liveness check of a pooled connection
	hup     *closewatch.Entry // nil: not watched (see reusable)
	peekFn  func(uintptr) bool
	peekN   int
	peekErr error
	peekBuf [1]byte

	// The request's last bytes, written by the first read of the
	// response (see sendAndRead); deferFlush makes Write keep them.
	pending    []byte
	deferFlush bool

	hdr     []byte   // header block and chunk-size lines, reused
	scratch [24]byte // number formatting
	one     [1]byte
	lr      io.LimitedReader

	// Per exchange.
	reused      bool
	waiting     atomic.Int64 // see stale.go
	sentFn      func()       // pc.waitBegins, bound once
	nread       int64        // bytes read from the server in this exchange
	nwritten    int64        // bytes written to the server in this exchange
	werr        error        // first write error in this exchange
	bodyTouched bool         // the request body was read from
	uploading   bool         // an upload goroutine sends the body (see startUpload)
	upload      atomic.Int32
	uploadDone  chan error
	upErr       atomic.Pointer[error] // why a failed upload ended the exchange
	closeAfter  bool                  // the connection cannot carry another exchange
	ctx         context.Context
	stopCtx     func() bool      // stops the AfterFunc watching the request context
	slot        *cancelhook.Slot // or the slot of the client connection's context
	cancelFn    func()
	canceled    atomic.Bool
	interim     Interim // nil: the request context's httptrace hook

	// Response body: see body.go.
	state     atomic.Uint64 // gen<<2 | body state
	gen       uint64
	mode      int8
	remaining int64
	needCRLF  bool
	chunkDone bool
	res       *http.Response

	// Guarded by hp.mu.
	idle      bool
	idleAt    time.Time
	idleTimer *time.Timer
	// timerArmed: idleTimer will run. It is not re-armed each time the
	// connection is pooled (a timer reset per request costs more than the
	// request's own parsing); when it runs early, expire arms it again for
	// what is left. Guarded by hp.mu.
	timerArmed bool

	closed atomic.Bool

	// The response header timeout starts when the request is sent: with a
	// streamed upload, when the upload ends, which the upload goroutine
	// learns first. Guarded by dlMu; used only with a header timeout.
	dlMu       sync.Mutex
	hdrWaiting bool // the reader waits for the response header
	uploadEnd  bool // the upload goroutine has finished writing
}

func newConn(hp *hostPool, nc net.Conn) *conn {
	pc := &conn{hp: hp, nc: nc, sock: sockio.New(nc)}
	if pc.sock != nil {
		watchStale(pc)
	}
	if v := readerPool.Get(); v != nil {
		pc.br = v.(*bufio.Reader)
		pc.br.Reset(pc)
	} else {
		pc.br = bufio.NewReaderSize(pc, connBufSize)
	}
	if v := writerPool.Get(); v != nil {
		pc.bw = v.(*bufio.Writer)
		pc.bw.Reset(pc)
	} else {
		pc.bw = bufio.NewWriterSize(pc, connBufSize)
	}
	pc.cancelFn = pc.onCancel
	pc.sentFn = pc.waitBegins
	pc.setupPeek()
	// Only a connection that may be pooled is checked before reuse; without
	// keep-alive the watch would cost an epoll_ctl per request for nothing.
	if pc.raw != nil && hp.t.maxIdle >= 0 {
		pc.hup, _ = closewatch.Watch(pc.raw) // on failure, peeks instead
	}
	return pc
}

// Read and Write count the bytes of an exchange: a request may be retried
// only while no response byte has arrived.
func (pc *conn) Read(p []byte) (int, error) {
	if pc.pending != nil {
		return pc.sendAndRead(p)
	}
	var n int
	var err error
	if pc.sock != nil {
		n, err = pc.sock.Read(p)
	} else {
		n, err = pc.nc.Read(p)
	}
	pc.nread += int64(n)
	return n, err
}

func (pc *conn) Write(p []byte) (int, error) {
	if pc.deferFlush {
		pc.pending = p // the writer's buffer: nothing is written to it before the response is read
		return len(p), nil
	}
	var n int
	var err error
	if pc.sock != nil {
		n, err = pc.sock.Write(p)
	} else {
		n, err = pc.nc.Write(p)
	}
	pc.nwritten += int64(n)
	if err != nil && pc.werr == nil {
		pc.werr = err
	}
	return n, err
}

// sendAndRead writes the request's last bytes and reads the first bytes of
// the response with one wait on the poller (sockio.WriteRead): the read
// that would find no response yet, right after the request, is not made.
//
// Waiting without that read cannot see a close that arrived before the
// request went out: a server that half-closed an idle connection and goes
// on reading would neither answer nor wake the wait. The stale watch
// (stale.go) looks after such waits.
func (pc *conn) sendAndRead(p []byte) (int, error) {
	w := pc.pending
	pc.pending = nil
	written, n, err := pc.sock.WriteRead(w, p, pc.sentFn)
	n, err = pc.endWait(p, n, err)
	pc.nwritten += int64(written)
	if written < len(w) {
		if pc.werr == nil {
			pc.werr = err
		}
		if written > 0 {
			// The server may have answered before it stopped reading
			// and closed: its response is more useful than our error.
			if n, rerr := pc.sock.Read(p); rerr == nil {
				pc.nread += int64(n)
				return n, nil
			}
		}
		return 0, err
	}
	pc.nread += int64(n)
	return n, err
}

// stopCancelWatch stops watching the request context; false when the
// cancel hook has already run.
func (pc *conn) stopCancelWatch() bool {
	stopped := true
	switch {
	case pc.slot != nil:
		stopped = pc.slot.Unregister()
		pc.slot = nil
	case pc.stopCtx != nil:
		stopped = pc.stopCtx()
		pc.stopCtx = nil
	}
	return stopped
}

// onCancel runs when the request context ends: it unblocks any read or
// write in progress. The connection is then never reused.
func (pc *conn) onCancel() {
	pc.canceled.Store(true)
	pc.nc.SetDeadline(aLongTimeAgo)
}

// close closes the connection and recycles its buffers. Only the owner of
// the connection (or the pool, for an idle one) calls it.
func (pc *conn) close() {
	if pc.closed.Swap(true) {
		return
	}
	pc.unwatch()
	pc.nc.Close()
	if pc.idleTimer != nil {
		pc.idleTimer.Stop()
	}
	pc.br.Reset(nil)
	readerPool.Put(pc.br)
	pc.bw.Reset(nil)
	writerPool.Put(pc.bw)
	pc.br, pc.bw, pc.hdr = nil, nil, nil
}

// unwatch takes a connection being closed out of the stale watch and the
// close watch: both keep it in a registry until then.
func (pc *conn) unwatch() {
	unwatchStale(pc)
	if pc.hup != nil {
		pc.hup.Stop()
	}
}

// expire closes the connection when it has been idle for idleConnTimeout.
func (pc *conn) expire() {
	hp := pc.hp
	hp.mu.Lock()
	if !pc.idle {
		pc.timerArmed = false // taken: the next put arms it
		hp.mu.Unlock()
		return
	}
	if left := hp.t.idleTimeout - time.Since(pc.idleAt); left > 0 {
		pc.idleTimer.Reset(left) // pooled again since the timer was set
		hp.mu.Unlock()
		return
	}
	hp.mu.Unlock()
	if hp.remove(pc) {
		pc.close()
	}
}

// finish ends an exchange: the connection goes back to the pool when reuse
// is true and nothing forbids it, otherwise it is closed.
func (pc *conn) finish(reuse bool) {
	if !pc.stopCancelWatch() {
		reuse = false // the cancel hook ran: a deadline is set
	}
	pc.ctx = nil
	pc.res = nil
	pc.interim = nil
	if pc.canceled.Load() || pc.closeAfter || pc.br.Buffered() > 0 {
		reuse = false // Buffered: the server sent more than one response
	}
	if cap(pc.hdr) > 64<<10 {
		pc.hdr = nil // don't keep a huge header buffer per idle connection
	}
	// Last: once an upload is abandoned its goroutine may close pc.
	ok, abandoned := pc.endUpload()
	switch {
	case abandoned:
	case reuse && ok:
		pc.hp.put(pc)
	default:
		pc.close()
	}
}

// fail ends a failed exchange and returns the error to report: the
// context's error when the request was canceled or timed out.
func (pc *conn) fail(err error) error {
	err = pc.mapErr(err)
	pc.finish(false)
	return err
}

func (pc *conn) mapErr(err error) error {
	if pc.ctx != nil {
		if cerr := pc.ctx.Err(); cerr != nil {
			return cerr
		}
	}
	if up := pc.upErr.Load(); up != nil {
		return *up // the upload broke the exchange: the read error is its echo
	}
	return err
}

// roundTrip writes req and reads the response header. streamed reports
// that an upload goroutine took over the body (and closes it). pc must not
// be touched after a successful return: it may be serving another exchange.
func (pc *conn) roundTrip(ctx context.Context, req *http.Request, body io.ReadCloser) (res *http.Response, streamed bool, err error) {
	pc.nread, pc.nwritten, pc.werr, pc.bodyTouched, pc.closeAfter = 0, 0, nil, false, false
	pc.pending = nil
	pc.upErr.Store(nil)
	if ctx.Done() != nil {
		// A blocked exchange has no other way to learn about a
		// cancellation. A client connection's context has a slot for it;
		// any other cancelable context costs an AfterFunc.
		pc.ctx = ctx
		if pc.slot = cancelhook.Register(ctx, pc.cancelFn); pc.slot == nil {
			pc.stopCtx = context.AfterFunc(ctx, pc.cancelFn)
		}
	}
	closeReq := req.Close || pc.hp.t.maxIdle < 0 || httpguts.HeaderValuesContainsToken(req.Header["Connection"], "close")
	if err := pc.writeRequest(req, body, closeReq); err != nil {
		if pc.werr == nil || pc.nwritten == 0 {
			return nil, false, pc.fail(err)
		}
		// The server may have answered before reading the whole body and
		// closed its side: its response is more useful than our error.
		if res, rerr := pc.readResponse(req, true); rerr == nil {
			return res, false, nil
		}
		return nil, false, err
	}
	streamed = pc.uploading
	res, err = pc.readResponse(req, closeReq)
	return res, streamed, err
}

// writeRequest writes the request line, header and body, and flushes.
func (pc *conn) writeRequest(req *http.Request, body io.ReadCloser, closeReq bool) error {
	bw := pc.bw
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	if err := writeRequestURI(bw, req.URL); err != nil {
		return err
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(requestHost(req))
	bw.WriteString("\r\n")
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue // framing is ours to write
		case "User-Agent":
			if len(vv) == 0 || vv[0] == "" {
				continue // an empty User-Agent means "send none"
			}
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if closeReq && !httpguts.HeaderValuesContainsToken(req.Header["Connection"], "close") {
		bw.WriteString("Connection: close\r\n")
	}
	chunked := false
	switch {
	case body == nil:
		switch method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			bw.WriteString("Content-Length: 0\r\n")
		}
	case req.ContentLength > 0 && len(req.TransferEncoding) == 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(pc.scratch[:0], req.ContentLength, 10))
		bw.WriteString("\r\n")
	default:
		chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	bw.WriteString("\r\n")
	if chunked || req.ContentLength > maxInlineBody {
		if err := bw.Flush(); err != nil {
			return err
		}
		pc.startUpload(body, req.ContentLength, chunked)
		return nil
	}
	if body != nil {
		pc.bodyTouched = true
		if err := pc.writeSized(body, req.ContentLength); err != nil {
			return err
		}
	}
	if pc.sock != nil {
		// What is buffered goes out with the first read of the response.
		pc.deferFlush = true
		err := bw.Flush()
		pc.deferFlush = false
		return err
	}
	return bw.Flush()
}

// Upload states.
const (
	uploadIdle      = iota
	uploadRunning   // the goroutine writes the body
	uploadSent      // the body is written and flushed; the goroutine is ending
	uploadAbandoned // the exchange ended first: the goroutine closes the connection
)

// maxInlineBody is the largest body written before the response is read.
// It fits the sockets' buffers (the peer's receive window alone is larger):
// writing it cannot wait on a server that is busy sending its response
// instead of reading.
const maxInlineBody = 16 << 10

// startUpload sends a streamed or large body from a goroutine while the
// response is read: a streamed upload may last as long as the response
// (full-duplex streams), and the server may answer before it ends. Small
// bodies are written inline, which costs nothing extra.
func (pc *conn) startUpload(body io.ReadCloser, n int64, chunked bool) {
	pc.uploading, pc.bodyTouched = true, true
	if pc.uploadDone == nil {
		pc.uploadDone = make(chan error, 1)
	}
	pc.upload.Store(uploadRunning)
	timed := pc.hp.t.respTimeout > 0
	if timed {
		pc.dlMu.Lock()
		pc.uploadEnd = false
		pc.dlMu.Unlock()
	}
	go func() {
		var err error
		if chunked {
			err = pc.writeChunked(body)
		} else {
			err = pc.writeSized(body, n)
		}
		if err == nil {
			err = pc.bw.Flush()
		}
		if err == nil {
			// Written whole: an exchange that ends now (the response
			// can be read before this goroutine runs again) waits for
			// it instead of abandoning a reusable connection.
			pc.upload.CompareAndSwap(uploadRunning, uploadSent)
		}
		body.Close()
		switch {
		case err != nil && pc.werr == nil:
			// The client's body failed or fell short of its length: the
			// server waits for bytes that will never come. Unblock the
			// reader, which reports this error.
			pc.upErr.Store(&err)
			pc.nc.Close()
		case timed:
			pc.dlMu.Lock()
			pc.uploadEnd = true
			if pc.hdrWaiting {
				pc.setHeaderDeadline()
			}
			pc.dlMu.Unlock()
		}
		if pc.upload.CompareAndSwap(uploadRunning, uploadIdle) || pc.upload.CompareAndSwap(uploadSent, uploadIdle) {
			pc.uploadDone <- err
			return
		}
		pc.close() // abandoned by finish
	}()
}

// uploadGrace is how long an exchange that ends during its upload waits
// for the upload to finish before giving up its connection.
const uploadGrace = 10 * time.Millisecond

// endUpload settles a running upload when the exchange ends. It returns
// false when the upload failed or had to be abandoned, in which case the
// connection must not be reused; abandoned reports that the upload
// goroutine now owns closing it.
func (pc *conn) endUpload() (ok, abandoned bool) {
	if !pc.uploading {
		return true, false
	}
	pc.uploading = false
	if pc.upload.Load() == uploadRunning {
		// The response can be read to its end before the goroutine that
		// wrote the last of the body runs again: give it a moment, so a
		// finished upload keeps its connection reusable. Only an upload
		// still going after that (the server answered early) is
		// abandoned.
		t := time.NewTimer(uploadGrace)
		select {
		case err := <-pc.uploadDone:
			t.Stop()
			return err == nil, false
		case <-t.C:
		}
	}
	if pc.upload.CompareAndSwap(uploadRunning, uploadAbandoned) {
		pc.nc.Close() // unblock the writer; it recycles the connection
		return false, true
	}
	return <-pc.uploadDone == nil, false
}

// writeRequestURI writes what url.URL.RequestURI returns without building
// the string, and refuses bytes that would break the request line.
func writeRequestURI(bw *bufio.Writer, u *url.URL) error {
	if u.Opaque != "" {
		uri := u.RequestURI()
		if !validURIPart(uri) {
			return fmt.Errorf("h1transport: invalid request URI %q", uri)
		}
		bw.WriteString(uri)
		return nil
	}
	path := u.EscapedPath() // escapes whatever could break the line
	if path == "" {
		path = "/"
	}
	bw.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
	return nil
}

func validURIPart(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// writeSized copies exactly n bytes of body into the write buffer (no
// intermediate buffer: bufio reads straight into its own).
func (pc *conn) writeSized(body io.Reader, n int64) error {
	pc.lr = io.LimitedReader{R: body, N: n}
	var copied int64
	var err error
	if n <= int64(pc.bw.Available()) {
		copied, err = pc.bw.ReadFrom(&pc.lr) // fits: one write with the head
	} else {
		copied, err = pc.copyLarge(&pc.lr)
	}
	pc.lr.R = nil
	if err != nil {
		return requestBodyErr(pc, err)
	}
	if copied < n {
		return fmt.Errorf("h1transport: request body ended after %d of %d bytes (Content-Length)", copied, n)
	}
	if extra, _ := body.Read(pc.one[:]); extra > 0 {
		return fmt.Errorf("h1transport: request body is longer than its Content-Length %d", n)
	}
	return nil
}

// copyLarge copies a body larger than the write buffer's free space in
// copyBufSize chunks: the buffered writer sends a chunk that does not fit
// its buffer straight to the socket, so the body goes in large writes
// rather than buffer-sized ones. (The writer is wrapped so that io.Copy
// does not hand the copy to its ReadFrom, which fills the buffer instead.)
func (pc *conn) copyLarge(r io.Reader) (int64, error) {
	bufp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bufp)
	return io.CopyBuffer(struct{ io.Writer }{pc.bw}, r, *bufp)
}

// writeChunked sends a body of unknown length, one chunk per read, each
// flushed at once so that streamed uploads stay streamed.
func (pc *conn) writeChunked(body io.Reader) error {
	bufp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bufp)
	buf := *bufp
	bw := pc.bw
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			bw.Write(strconv.AppendInt(pc.scratch[:0], int64(n), 16))
			bw.WriteString("\r\n")
			bw.Write(buf[:n])
			bw.WriteString("\r\n")
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return requestBodyErr(pc, rerr)
		}
	}
	_, err := bw.WriteString("0\r\n\r\n")
	return err
}

func requestBodyErr(pc *conn, err error) error {
	if pc.werr != nil {
		return err // writing to the server failed
	}
	return fmt.Errorf("h1transport: read request body: %w", err)
}

// readResponse reads the response header (skipping interim 1xx responses)
// and sets up the body.
func (pc *conn) readResponse(req *http.Request, closeReq bool) (*http.Response, error) {
	deadline := pc.hp.t.respTimeout > 0
	if deadline {
		pc.dlMu.Lock()
		pc.hdrWaiting = true
		if !pc.uploading || pc.uploadEnd {
			pc.setHeaderDeadline()
		}
		pc.dlMu.Unlock()
	}
	r := &response{}
	res := &r.res
	mode, length, err := pc.readHeader(req, res)
	if deadline {
		pc.dlMu.Lock()
		pc.hdrWaiting = false
		pc.nc.SetReadDeadline(time.Time{})
		pc.dlMu.Unlock()
		if err != nil && !pc.canceled.Load() && isTimeout(err) {
			err = errResponseHeaderTimeout
		}
		if err == nil && pc.canceled.Load() {
			// Canceled while we cleared the deadline: reads would block.
			err = context.Canceled
		}
	}
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("h1transport: upstream closed the connection before answering: %w", io.ErrUnexpectedEOF)
		}
		return nil, pc.fail(err)
	}
	pc.closeAfter = closeReq || res.Close || mode == modeUntilClose
	res.Request = req

	switch {
	case res.StatusCode == http.StatusSwitchingProtocols:
		if !pc.stopCancelWatch() {
			return nil, pc.fail(context.Canceled)
		}
		pc.ctx = nil
		res.ContentLength = -1
		res.Body = &upgradedBody{pc: pc}
		return res, nil
	case mode == modeNone || mode == modeLength && length == 0:
		res.Body = http.NoBody
		pc.finish(true)
		return res, nil
	}
	pc.mode, pc.remaining, pc.needCRLF, pc.chunkDone = mode, length, false, false
	pc.res = res
	pc.gen++
	pc.state.Store(pc.gen<<2 | stOpen)
	r.body = bodyHandle{pc: pc, gen: pc.gen}
	res.Body = &r.body
	return res, nil
}

// setHeaderDeadline starts the response header timeout. A cancellation
// that ran meanwhile set a deadline in the past, which must win.
func (pc *conn) setHeaderDeadline() {
	pc.nc.SetReadDeadline(time.Now().Add(pc.hp.t.respTimeout))
	if pc.canceled.Load() {
		pc.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// gotInterim hands an interim response (103 Early Hints, 102 Processing…)
// to the exchange's Interim hook or else to the request's httptrace
// Got1xxResponse hook, as net/http does, so a proxy can pass it on. Its
// header fields are in pc.hdr.
func (pc *conn) gotInterim(req *http.Request, code, lines int) error {
	hook := pc.interim
	var trace *httptrace.ClientTrace
	if hook == nil {
		if trace = httptrace.ContextClientTrace(req.Context()); trace == nil || trace.Got1xxResponse == nil {
			return nil
		}
	}
	h := make(http.Header, lines)
	if lines > 0 {
		if err := parseFields(string(pc.hdr), lines, h); err != nil {
			return err
		}
	}
	if hook != nil {
		return hook.Interim(code, h)
	}
	return trace.Got1xxResponse(code, textproto.MIMEHeader(h))
}

// Body framing modes.
const (
	modeNone int8 = iota
	modeLength
	modeChunked
	modeUntilClose
)

var chunkedTE = []string{"chunked"}

// readHeader reads the status line and header fields into res and decides
// how the body is framed.
func (pc *conn) readHeader(req *http.Request, res *http.Response) (mode int8, length int64, err error) {
	budget := maxHeaderBytes
	var lines int
	for n1xx := 0; ; n1xx++ {
		pc.hdr = pc.hdr[:0]
		line, err := pc.readLine(&budget)
		if err != nil {
			return 0, 0, err
		}
		if err := parseStatusLine(line, res); err != nil {
			return 0, 0, err
		}
		pc.hdr = pc.hdr[:0]
		if lines, err = pc.readFields(&budget); err != nil {
			return 0, 0, err
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if err := pc.gotInterim(req, res.StatusCode, lines); err != nil {
			return 0, 0, err
		}
		if n1xx == 5 {
			return 0, 0, errors.New("h1transport: upstream sent too many 1xx informational responses")
		}
	}

	h := headerpool.Get() // a proxy puts it back once the response is copied
	if lines > 0 {
		if err := parseFields(string(pc.hdr), lines, h); err != nil {
			return 0, 0, err
		}
	}
	res.Header = h

	conn := h["Connection"]
	res.Close = res.ProtoMinor == 0 && !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	if httpguts.HeaderValuesContainsToken(conn, "close") {
		res.Close = true
		delete(h, "Connection") // as net/http: res.Close says it
	}

	chunked := false
	if te, ok := h["Transfer-Encoding"]; ok {
		if _, ok := h["Content-Length"]; ok {
			return 0, 0, errors.New("h1transport: upstream response has both Content-Length and Transfer-Encoding")
		}
		switch {
		case res.ProtoMinor == 0:
			// HTTP/1.0 has no transfer codings (RFC 9112 §6.1): ignore the
			// field and read to the close, as net/http does, so the body
			// is framed the one way every HTTP/1.0 peer would frame it.
			delete(h, "Transfer-Encoding")
			res.Close = true
		case len(te) != 1 || !asciiEqualFold(te[0], "chunked"):
			return 0, 0, fmt.Errorf("h1transport: unsupported upstream Transfer-Encoding %q", te)
		default:
			chunked = true
			delete(h, "Transfer-Encoding")
			res.TransferEncoding = chunkedTE
		}
	}
	length = -1
	if cl, ok := h["Content-Length"]; ok {
		if length, err = h1wire.ContentLength(cl); err != nil {
			return 0, 0, fmt.Errorf("h1transport: upstream response: %w", err)
		}
		h["Content-Length"] = cl[:1:1] // repeated identical values count once
	}

	code := res.StatusCode
	switch {
	case req.Method == http.MethodHead:
		res.ContentLength = length
		if chunked {
			res.ContentLength = -1
		}
		return modeNone, 0, nil
	case code < 200 || code == http.StatusNoContent || code == http.StatusNotModified:
		res.ContentLength = 0
		if chunked || length > 0 && code != http.StatusNotModified {
			// A body where none may be: a broken server may send it after
			// the header, where the next exchange on this connection would
			// read it as its response. Don't reuse the connection. (A 304
			// may carry the Content-Length of the full response.)
			res.Close = true
		}
		return modeNone, 0, nil
	case chunked:
		res.ContentLength = -1
		if err := pc.announcedTrailers(res); err != nil {
			return 0, 0, err
		}
		return modeChunked, 0, nil
	case length >= 0:
		res.ContentLength = length
		return modeLength, length, nil
	}
	res.ContentLength = -1
	res.Close = true
	return modeUntilClose, 0, nil
}

// announcedTrailers turns the Trailer header of a chunked response into the
// keys of res.Trailer, as net/http does; values arrive after the body.
func (pc *conn) announcedTrailers(res *http.Response) error {
	vv, ok := res.Header["Trailer"]
	if !ok {
		return nil
	}
	delete(res.Header, "Trailer")
	for _, v := range vv {
		for v != "" {
			var name string
			name, v, _ = cutByte(v, ',')
			name = h1wire.TrimOWS(name)
			if name == "" {
				continue
			}
			if !h1wire.ValidToken(name) {
				return fmt.Errorf("h1transport: invalid name %q in upstream Trailer header", truncate(name))
			}
			name = h1wire.CanonicalKey(name)
			switch name {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return fmt.Errorf("h1transport: upstream announces trailer %q, which is not allowed", name)
			}
			if res.Trailer == nil {
				res.Trailer = make(http.Header, 2)
			}
			res.Trailer[name] = nil
		}
	}
	return nil
}

func cutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// statusLines holds "200 OK"-style strings so that known status lines cost
// no allocation.
var statusLines = func() (s [600]string) {
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			s[code] = strconv.Itoa(code) + " " + text
		}
	}
	return s
}()

// parseStatusLine parses "HTTP/1.x SP 3DIGIT [SP reason]" strictly.
func parseStatusLine(line []byte, res *http.Response) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' {
		return fmt.Errorf("h1transport: malformed upstream status line %q", truncate(string(line)))
	}
	d := line[9:12]
	if d[0] < '1' || d[0] > '9' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9' {
		return fmt.Errorf("h1transport: malformed upstream status code in %q", truncate(string(line)))
	}
	if len(line) > 12 && line[12] != ' ' {
		return fmt.Errorf("h1transport: malformed upstream status line %q", truncate(string(line)))
	}
	if !h1wire.ValidValue(string(line[12:])) { // no allocation: converted for the call only
		return fmt.Errorf("h1transport: control byte in upstream status line %q", truncate(string(line)))
	}
	code := int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	res.StatusCode = code
	status := line[9:]
	if code < len(statusLines) && statusLines[code] == string(status) {
		res.Status = statusLines[code]
	} else {
		res.Status = string(status)
	}
	res.ProtoMajor = 1
	if line[7] == '1' {
		res.Proto, res.ProtoMinor = "HTTP/1.1", 1
	} else {
		res.Proto, res.ProtoMinor = "HTTP/1.0", 0
	}
	return nil
}

// readLine appends the next line, without its CR LF, to pc.hdr and returns
// it. budget is decremented by the bytes read; lines longer than the read
// buffer are assembled in pc.hdr.
func (pc *conn) readLine(budget *int) ([]byte, error) {
	start := len(pc.hdr)
	for {
		frag, err := pc.br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return nil, errHeaderTooLarge
		}
		pc.hdr = append(pc.hdr, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(pc.hdr) > start {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	line := pc.hdr[start : len(pc.hdr)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, errors.New("h1transport: bare CR in upstream response header")
	}
	pc.hdr = pc.hdr[:start+len(line)]
	return line, nil
}

// readFields reads header (or trailer) lines up to the empty line into
// pc.hdr, each ended by '\n', with obsolete line folding replaced by a
// space (RFC 9112 §5.2). It returns the number of fields.
func (pc *conn) readFields(budget *int) (int, error) {
	fields := 0
	for {
		start := len(pc.hdr)
		line, err := pc.readLine(budget)
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			return fields, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if fields == 0 {
				return 0, errors.New("h1transport: upstream header starts with a continuation line")
			}
			cont := bytes.TrimLeft(line, " \t")
			prev := bytes.TrimRight(pc.hdr[:start-1], " \t") // drop the '\n' too
			prev = append(prev, ' ')
			pc.hdr = append(append(prev, cont...), '\n')
			continue
		}
		pc.hdr = append(pc.hdr, '\n')
		fields++
	}
}
