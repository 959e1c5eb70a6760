// Package scimhttp serves the SCIM 2.0 API of Roster's directories under
// /v1/scim/{idp_id}, plus /healthz, /readyz and /metrics. Every error it writes is a
// SCIM error body; handlers return errors and one function writes them.
package scimhttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// Config holds the HTTP layer's settings.
type Config struct {
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// MaxResults is the largest page a list returns (advertised as
	// filter.maxResults); DefaultCount is the page size when none is asked.
	MaxResults   int
	DefaultCount int
}

// DefaultConfig returns the defaults documented in the README.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 1 << 20, MaxResults: 1000, DefaultCount: 100}
}

// Server is the HTTP front of the SCIM directories.
type Server struct {
	mounts  []mount
	store   scim.Store
	admin   roster.AdminStore
	reg     *scim.Registry // the RFC resource types, for routing only
	profs   *scim.ProfileSet
	log     *slog.Logger
	cfg     Config
	metrics *metrics
	// draining is set by Drain when the server is about to shut down.
	draining atomic.Bool
	// recorder receives the request log; nil leaves it off (requestlog.go).
	recorder RequestRecorder
}

// New returns a server. profiles holds the attribute profiles directories
// may name (nil: the built-in ones); prom receives the HTTP metrics and is
// what /metrics serves.
func New(store scim.Store, admin roster.AdminStore, profiles *scim.ProfileSet, log *slog.Logger, prom *prometheus.Registry, cfg Config) *Server {
	return &Server{store: store, admin: admin, reg: scim.NewRegistry(), profs: profiles, log: log, cfg: cfg, metrics: newMetrics(prom)}
}

// mount is another API served next to SCIM (the admin API, the OAuth token
// endpoint), with the same request ids, logs and metrics.
type mount struct {
	pattern string
	h       http.Handler
}

// Mount serves h at a ServeMux pattern; call it before Handler. The
// handler writes its own responses, errors included.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.mounts = append(s.mounts, mount{pattern, h})
}

// handlerFunc is a handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handler returns the root handler. All routes are listed here; the SCIM
// subtree is dispatched by route() because SCIM endpoint names match
// case-insensitively, which ServeMux patterns cannot express.
func (s *Server) Handler(prom *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/healthz", s.wrap("/healthz", getOnly(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write([]byte(`{"status":"ok"}` + "\n"))
		return err
	})))
	mux.Handle("/readyz", s.wrap("/readyz", getOnly(s.readyz)))
	mux.Handle("/metrics", s.wrap("/metrics", getOnly(func(w http.ResponseWriter, r *http.Request) error {
		promhttp.HandlerFor(prom, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return nil
	})))
	mux.HandleFunc("/v1/scim/{idp}/{rest...}", s.serveSCIM)
	// The tenant URL itself, without a slash, would otherwise get the
	// ServeMux's HTML redirect rather than a SCIM answer.
	mux.HandleFunc("/v1/scim/{idp}", s.serveSCIM)
	for _, m := range s.mounts {
		mux.Handle(m.pattern, s.wrap(m.pattern, func(w http.ResponseWriter, r *http.Request) error {
			m.h.ServeHTTP(w, r)
			return nil
		}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.wrap("unmatched", func(w http.ResponseWriter, r *http.Request) error {
			return roster.Errorf(roster.ENOTFOUND, "no such endpoint: %s; the SCIM API is at /v1/scim/<idp_id>/", r.URL.Path)
		}).ServeHTTP(w, r)
	})
	return s.requestID(collapseSlashes(mux))
}

// readyTimeout bounds the store ping of /readyz, so that a database that
// accepts connections but does not answer fails the probe rather than
// hanging it.
const readyTimeout = 2 * time.Second

// readyz is the readiness probe: 200 when the store answers a ping, 503 with
// Retry-After when it does not, so that a load balancer takes this replica
// out of rotation during a database outage and back in when it recovers.
// /healthz stays a liveness probe that only says the process serves:
// failing it on an outage would get replicas restarted, which cannot help
// and which they do not need, since the pool reconnects by itself. Stores
// without a Ping method (SQLite, a file) are always ready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return roster.Errorf(roster.EUNAVAILABLE, "not ready: this server is shutting down; send requests to another replica")
	}
	if p, ok := s.store.(interface{ Ping(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelError, "readiness check failed: the store does not answer",
				slog.String("request_id", requestIDOf(r.Context())), slog.Any("error", err))
			return roster.Errorf(roster.EUNAVAILABLE, "not ready: the database does not answer; retry later (see Retry-After)")
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write([]byte(`{"status":"ready"}` + "\n"))
	return err
}

// Drain makes /readyz answer 503 from now on while every other endpoint
// keeps serving: the first step of a graceful shutdown behind a load
// balancer, which stops routing requests here once its readiness check
// fails. Closing connections before that would race with requests the
// balancer is sending on them at that moment.
func (s *Server) Drain() { s.draining.Store(true) }

// getOnly answers methods other than GET and HEAD with a SCIM 405.
func getOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return roster.Errorf(roster.EMETHOD, "%s is not allowed here; allowed: GET, HEAD", r.Method)
		}
		return h(w, r)
	}
}

// collapseSlashes turns "//" in a path into "/" before routing. A tenant
// URL entered with a trailing slash makes IdPs send /v1/scim/<id>//Users,
// which the ServeMux would answer with an HTML redirect that IdPs do not
// follow for POST and PATCH.
func collapseSlashes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			p := r.URL.Path
			for strings.Contains(p, "//") {
				p = strings.ReplaceAll(p, "//", "/")
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = p, ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	keyKey
)

// requestID gives every request an id, in the X-Request-Id response header
// and on every log line, so a user's report can be matched to the logs.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < '!' || c > '~' }) {
			id = rand.Text()[:16]
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap turns a handlerFunc into an http.Handler that writes its error, logs
// the request (never its body or credentials), records metrics under the
// route label, and turns a panic into a 500.
func (s *Server) wrap(route string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r, rec := s.startRecord(r, route)
		var herr error // for the request log's scimType
		defer func() {
			if p := recover(); p != nil {
				// The stack goes to the log only (writeError shows the
				// client "internal error"); without it a panic is
				// undebuggable.
				herr = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				s.writeError(sw, r, herr)
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.observe(r.Method, route, status, time.Since(start))
			level := slog.LevelInfo
			// A failing readiness probe is not an error of this request:
			// readyz logs a database that does not answer itself, and a
			// draining server answers 503 on purpose.
			if status >= 500 && route != "/readyz" {
				level = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", requestIDOf(r.Context())),
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Duration("duration", time.Since(start)))
			s.finishRecord(rec, r, sw, route, start, status, herr)
		}()
		if herr = h(sw, r); herr != nil {
			s.writeError(sw, r, herr)
		}
	})
}

var statusOf = map[string]int{
	roster.EINVALID:      http.StatusBadRequest,
	roster.EUNAUTHORIZED: http.StatusUnauthorized,
	roster.EFORBIDDEN:    http.StatusForbidden,
	roster.ENOTFOUND:     http.StatusNotFound,
	roster.EMETHOD:       http.StatusMethodNotAllowed,
	roster.ECONFLICT:     http.StatusConflict,
	roster.EPRECONDITION: http.StatusPreconditionFailed,
	roster.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	roster.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	roster.ENOTIMPL:      http.StatusNotImplemented,
	roster.EINTERNAL:     http.StatusInternalServerError,
	roster.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// writeError is the one place that turns an error into a response: a SCIM
// error body (RFC 7644 §3.12) with status as a string. Internal errors are
// logged with the request id and shown only as "internal error". A store
// error that the store classifies as an outage (roster.Unavailable) is
// logged the same way but answered 503 with Retry-After: a transient failure
// that clients should retry, not a bug.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if u := roster.Unavailable(err, s.store, s.admin); u != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "store unavailable", slog.String("request_id", requestIDOf(r.Context())), slog.Any("error", err))
		err = u
	}
	code := roster.ErrorCode(err)
	if code == roster.ENOTMODIFIED {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	detail := roster.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		id := requestIDOf(r.Context())
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("request_id", id), slog.Any("error", err))
		detail = "internal error; quote request id " + id + " when reporting it"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(roster.RetryAfterSeconds))
	}
	body := map[string]any{"schemas": []string{scim.ErrorURN}, "status": strconv.Itoa(status), "detail": detail}
	if t := roster.ErrorSCIMType(err); t != "" {
		body["scimType"] = t
	}
	writeJSON(w, status, body)
}

// kindOf names a Go type the way a JSON client thinks of it.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Pointer:
		return kindOf(t.Elem())
	}
	return "a " + t.Kind().String()
}

// bodyBufs holds response body buffers for reuse: a page of 100 users is
// about 100 KB, which grown from nothing each time was copied over and
// over and left to the collector. Larger buffers are not kept, so one big
// response does not pin its memory.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBody = 1 << 20

// writeJSON writes a SCIM JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	// Not HTML-escaped: this is an API, so "<" stays readable in details.
	buf := bodyBufs.Get().(*[]byte)
	body, err := appendJSON((*buf)[:0], v)
	if err != nil {
		status = http.StatusInternalServerError
		body = append((*buf)[:0], `{"schemas":["`+scim.ErrorURN+`"],"status":"500","detail":"internal error"}`...)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	if cap(body) <= maxPooledBody {
		*buf = body
		bodyBufs.Put(buf)
	}
}

// decodeBody reads a JSON object body within the size limit. It accepts
// application/scim+json and application/json (and a missing Content-Type,
// which some scripts omit).
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
		if mt != "application/scim+json" && mt != "application/json" {
			return roster.Errorf(roster.EUNSUPPORTED, "Content-Type %q is not supported; send application/scim+json or application/json", mt)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return roster.Errorf(roster.ETOOLARGE, "the request body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes)
	} else if err != nil {
		return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body could not be read: %v", err)
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and store a
	// value the client never sent.
	if !utf8.Valid(body) {
		return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			if typeErr.Field == "" {
				return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body must be a JSON object")
			}
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be %s, got a JSON %s", typeErr.Field, kindOf(typeErr.Type), typeErr.Value)
		case errors.Is(err, io.EOF):
			return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body is empty; send a JSON object")
		}
		return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body has data after the JSON object")
	}
	return nil
}
