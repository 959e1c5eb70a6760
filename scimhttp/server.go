// Package scimhttp serves the SCIM 2.0 API of Roster's directories under
// /v1/scim/{idp_id}, plus /healthz and /metrics. Every error it writes is a
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
	"runtime/debug"
	"strconv"
	"strings"
	"time"

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
	ready   func() bool
	// recorder receives the request log; nil leaves it off (requestlog.go).
	recorder RequestRecorder
}

// New returns a server. profiles holds the attribute profiles directories
// may name (nil: the built-in ones); prom receives the HTTP metrics and is
// what /metrics serves.
func New(store scim.Store, admin roster.AdminStore, profiles *scim.ProfileSet, log *slog.Logger, prom *prometheus.Registry, cfg Config) *Server {
	return &Server{store: store, admin: admin, reg: scim.NewRegistry(), profs: profiles, log: log, cfg: cfg, metrics: newMetrics(prom), ready: func() bool { return true }}
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
	mux.Handle("GET /healthz", s.wrap("/healthz", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write([]byte(`{"status":"ok"}` + "\n"))
		return err
	}))
	mux.Handle("GET /metrics", s.wrap("/metrics", func(w http.ResponseWriter, r *http.Request) error {
		promhttp.HandlerFor(prom, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return nil
	}))
	mux.HandleFunc("/v1/scim/{idp}/{rest...}", s.serveSCIM)
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
	return s.requestID(mux)
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
			if status >= 500 {
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
}

// writeError is the one place that turns an error into a response: a SCIM
// error body (RFC 7644 §3.12) with status as a string. Internal errors are
// logged with the request id and shown only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
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
	body := map[string]any{"schemas": []string{scim.ErrorURN}, "status": strconv.Itoa(status), "detail": detail}
	if t := roster.ErrorSCIMType(err); t != "" {
		body["scimType"] = t
	}
	writeJSON(w, status, body)
}

// writeJSON writes a SCIM JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // this is an API, not HTML: keep "<" readable in details
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"schemas":["` + scim.ErrorURN + `"],"status":"500","detail":"internal error"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
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
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return roster.Errorf(roster.ETOOLARGE, "the request body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes)
		case errors.As(err, &typeErr):
			if typeErr.Field == "" {
				return roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body must be a JSON object")
			}
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s has the wrong type: expected %s", typeErr.Field, typeErr.Type)
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
