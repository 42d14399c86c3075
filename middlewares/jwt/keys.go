package jwt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/guan-gateway/guan/middlewares"
)

// Limits of the JWKS fetcher.
const (
	defaultRefresh   = 5 * time.Minute
	fetchTimeout     = 5 * time.Second
	minOnDemandGap   = time.Second // an unknown kid refreshes at most this often
	maxJWKSBytes     = 1 << 20
	firstRetry       = time.Second
	maxRetryInterval = 5 * time.Minute
)

// parseStaticKeys reads publicKeys entries: PEM text, or a path to a PEM
// file (relative to the configuration file's directory).
func parseStaticKeys(entries []string, baseDir string) (jwk.Set, error) {
	set := jwk.NewSet()
	for i, e := range entries {
		data := []byte(e)
		if !strings.Contains(e, "-----BEGIN") {
			b, err := os.ReadFile(middlewares.ResolvePath(baseDir, e))
			if err != nil {
				return nil, fmt.Errorf("publicKeys[%d]: %w", i, err)
			}
			data = b
		}
		k, err := jwk.ParseKey(data, jwk.WithPEM(true))
		if err != nil {
			return nil, fmt.Errorf("publicKeys[%d]: not a PEM public key: %w", i, err)
		}
		if pub, err := k.PublicKey(); err == nil {
			k = pub // a private key was given: only its public half is needed
		}
		if err := set.AddKey(k); err != nil {
			return nil, fmt.Errorf("publicKeys[%d]: %w", i, err)
		}
	}
	return set, nil
}

// remoteKeys keeps a JWKS document fresh: fetched in the background every
// refresh interval (with growing retries on failure, keeping the last good
// keys), and on demand when a token names a key it does not have yet — a
// rotation — at most once per second.
type remoteKeys struct {
	url     string
	client  *http.Client
	refresh time.Duration
	log     *slog.Logger

	set      atomic.Pointer[jwk.Set]
	mu       sync.Mutex // one fetch at a time
	lastTry  time.Time  // guarded by mu
	stop     chan struct{}
	stopOnce sync.Once
	tried    chan struct{} // closed when the first fetch has succeeded or failed
	tryOnce  sync.Once
}

func newRemoteKeys(url string, refresh time.Duration, log *slog.Logger) *remoteKeys {
	r := &remoteKeys{
		url: url, refresh: refresh, log: log,
		client: &http.Client{Timeout: fetchTimeout},
		stop:   make(chan struct{}), tried: make(chan struct{}),
	}
	go r.loop()
	return r
}

// keys returns the current set; with wait, a request that comes while the
// first fetch is still running waits for it (up to the fetch timeout).
func (r *remoteKeys) keys(ctx context.Context, wait bool) jwk.Set {
	if s := r.set.Load(); s != nil || !wait {
		if s == nil {
			return nil
		}
		return *s
	}
	t := time.NewTimer(fetchTimeout)
	defer t.Stop()
	select {
	case <-r.tried:
	case <-ctx.Done():
	case <-t.C:
	}
	if s := r.set.Load(); s != nil {
		return *s
	}
	return nil
}

// refreshFor fetches again because a token names kid, which the current
// set lacks; it returns the set afterwards.
func (r *remoteKeys) refreshFor(ctx context.Context, kid string) jwk.Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.set.Load(); s != nil {
		if _, ok := (*s).LookupKeyID(kid); ok {
			return *s // another request fetched it meanwhile
		}
	}
	if time.Since(r.lastTry) >= minOnDemandGap {
		if err := r.fetchLocked(ctx); err != nil {
			r.log.Warn("JWKS refresh for an unknown key id failed", "url", r.url, "kid", kid, "error", err)
		}
	}
	if s := r.set.Load(); s != nil {
		return *s
	}
	return nil
}

func (r *remoteKeys) loop() {
	wait := time.Duration(0)
	for {
		select {
		case <-r.stop:
			return
		case <-time.After(wait):
		}
		r.mu.Lock()
		err := r.fetchLocked(context.Background())
		r.mu.Unlock()
		r.tryOnce.Do(func() { close(r.tried) })
		switch {
		case err == nil:
			wait = r.refresh
		case wait == 0 || wait >= r.refresh:
			wait = firstRetry
			r.log.Error("JWKS fetch failed; tokens signed by keys not yet known are refused until it succeeds", "url", r.url, "error", err, "retryIn", wait)
		default:
			wait = min(2*wait, maxRetryInterval, r.refresh)
			r.log.Warn("JWKS fetch failed again", "url", r.url, "error", err, "retryIn", wait)
		}
	}
}

// fetchLocked downloads and parses the document; called with mu held.
func (r *remoteKeys) fetchLocked(ctx context.Context) error {
	r.lastTry = time.Now()
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxJWKSBytes {
		return errors.New("JWKS document larger than 1 MiB")
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return fmt.Errorf("not a JWK set: %w", err)
	}
	r.set.Store(&set)
	return nil
}

// Close stops the background refresh (the state store calls it when the
// middleware's configuration goes away).
func (r *remoteKeys) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	return nil
}
