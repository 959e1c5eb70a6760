// Package adminhttp serves Roster's admin API under /v1/admin: JSON over
// HTTP, authenticated by an admin token (never by a SCIM key), with every
// rule in package manage.
package adminhttp

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
)

// Handler is the admin API.
type Handler struct {
	svc    *manage.Service
	admins roster.AdminStore
	log    *slog.Logger
	mux    *http.ServeMux
}

// Route is one endpoint, listed in Routes for the mux and the OpenAPI file.
type route struct {
	method, path, summary string
	h                     func(h *Handler, ss *manage.Session, r *http.Request) (status int, body any, err error)
}

// routes lists every admin endpoint in one place.
var routes = []route{
	{"GET", "/v1/admin/organizations", "List the organizations you can manage", listOrgs},
	{"POST", "/v1/admin/organizations", "Create an organization (server admins only)", createOrg},
	{"GET", "/v1/admin/organizations/{org}", "Get an organization", getOrg},
	{"GET", "/v1/admin/organizations/{org}/admins", "List the admins of the organization, revoked ones too", listAdmins},
	{"POST", "/v1/admin/organizations/{org}/admins", "Create an admin of the organization; the token is shown once", createAdmin},
	{"DELETE", "/v1/admin/organizations/{org}/admins/{admin}", "Revoke an admin; its token stops working at once", revokeAdmin},
	{"GET", "/v1/admin/server-admins", "List the server admins (server admins only)", listAdmins},
	{"POST", "/v1/admin/server-admins", "Create a server admin; the token is shown once (server admins only)", createAdmin},
	{"DELETE", "/v1/admin/server-admins/{admin}", "Revoke a server admin (server admins only)", revokeAdmin},
	{"GET", "/v1/admin/organizations/{org}/keys", "List API keys", listKeys},
	{"POST", "/v1/admin/organizations/{org}/keys", "Create an API key; the secret is shown once", createKey},
	{"GET", "/v1/admin/organizations/{org}/keys/{key}", "Get an API key", getKey},
	{"DELETE", "/v1/admin/organizations/{org}/keys/{key}", "Revoke an API key", revokeKey},
	{"GET", "/v1/admin/organizations/{org}/directories", "List IdP configurations", listDirs},
	{"POST", "/v1/admin/organizations/{org}/directories", "Create an IdP configuration", createDir},
	{"GET", "/v1/admin/organizations/{org}/directories/{dir}", "Get an IdP configuration", getDir},
	{"PATCH", "/v1/admin/organizations/{org}/directories/{dir}", "Change an IdP configuration", updateDir},
	{"DELETE", "/v1/admin/organizations/{org}/directories/{dir}", "Delete an IdP configuration with its users and groups", deleteDir},
	{"GET", "/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", "List OAuth clients", listClients},
	{"POST", "/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", "Create an OAuth client; the secret is shown once", createClient},
	{"POST", "/v1/admin/organizations/{org}/oauth-clients/{client}/secrets", "Add a client secret; shown once", addSecret},
	{"DELETE", "/v1/admin/organizations/{org}/oauth-clients/{client}/secrets/{secret}", "Revoke a client secret", revokeSecret},
	{"GET", "/v1/admin/organizations/{org}/requests", "Read the request log (query: directory, since, until, status, resource_id, operation, limit, before)", queryRequests},
	{"GET", "/v1/admin/organizations/{org}/jobs", "List provisioning jobs with their state (no definitions, no secrets)", listJobs},
	{"GET", "/v1/admin/organizations/{org}/jobs/{job}", "Get a provisioning job by name or id: state, link counts and definition with secrets hidden", getJob},
	{"GET", "/v1/admin/organizations/{org}/jobs/{job}/logs", "Read a job's provisioning log, newest first (query: failed, object, cycle, limit, before); next pages on", queryJobLog},
	{"GET", "/v1/admin/profiles", "List attribute profiles", listProfiles},
	{"GET", "/v1/admin/profiles/{name}", "Get an attribute profile", getProfile},
}

// New returns the admin API handler.
func New(svc *manage.Service, admins roster.AdminStore, log *slog.Logger) *Handler {
	h := &Handler{svc: svc, admins: admins, log: log, mux: http.NewServeMux()}
	for _, rt := range routes {
		h.mux.HandleFunc(rt.method+" "+rt.path, h.adapt(rt))
	}
	h.mux.HandleFunc("GET /v1/admin/openapi.json", h.openAPI)
	h.mux.HandleFunc("/v1/admin/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, roster.Errorf(roster.ENOTFOUND, "no admin endpoint %s %s; see /v1/admin/openapi.json", r.Method, r.URL.Path))
	})
	return h
}

// ServeHTTP dispatches to the admin routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// adapt authenticates the admin and turns a route function into a handler.
func (h *Handler) adapt(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		admin, err := h.authenticate(r)
		if err != nil {
			h.writeError(w, err)
			return
		}
		if !plainRequest(r) {
			h.writeError(w, roster.Errorf(roster.EINVALID, "the path or query of %s contains a NUL character or invalid UTF-8; ids and filters are UTF-8 text", r.URL.EscapedPath()))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		status, body, err := rt.h(h, h.svc.As(admin), r)
		if err != nil {
			h.writeError(w, err)
			return
		}
		writeJSON(w, status, body)
	}
}

func (h *Handler) authenticate(r *http.Request) (*roster.Admin, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "send the admin token as Authorization: Bearer <token>")
	}
	return h.admins.AuthenticateAdmin(r.Context(), roster.HashSecret(strings.TrimSpace(token)))
}

var statusOf = map[string]int{
	roster.EINVALID: 400, roster.EUNAUTHORIZED: 401, roster.EFORBIDDEN: 403, roster.ENOTFOUND: 404,
	roster.ECONFLICT: 409, roster.ETOOLARGE: 413, roster.EUNSUPPORTED: 415, roster.ENOTIMPL: 501,
	roster.EUNAVAILABLE: 503,
}

// ErrorBody is the JSON of every admin API error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError writes the ErrorBody of err. Internal errors are logged and
// shown as "internal error"; a store error that the store classifies as an
// outage (roster.Unavailable) is logged too, and answered 503 with
// Retry-After and code "unavailable", so that scripts and the CLI can tell
// "try again" from "this is broken".
func (h *Handler) writeError(w http.ResponseWriter, err error) {
	if u := roster.Unavailable(err, h.admins); u != nil {
		h.log.Error("admin API: store unavailable", slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("error", err))
		err = u
	}
	code := roster.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
		h.log.Error("admin API internal error", slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("error", err))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster-admin"`)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(roster.RetryAfterSeconds))
	}
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, roster.ErrorMessage(err)
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // responses may carry secrets shown once
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxBody bounds admin request bodies; they are small objects.
const maxBody = 64 << 10

// decode reads a JSON object body; adapt has already capped its size.
// Unknown fields are errors, so a misspelt option is not silently ignored.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return roster.Errorf(roster.ETOOLARGE, "the request body is larger than %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return roster.Errorf(roster.EINVALID, "the request body is empty; send a JSON object")
		}
		return roster.Errorf(roster.EINVALID, "the request body is not valid: %v", err)
	}
	// One object and nothing after it: a second object, say from a script
	// that concatenated two requests, must not be silently dropped.
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return roster.Errorf(roster.ETOOLARGE, "the request body is larger than %d bytes", maxBody)
		}
		return roster.Errorf(roster.EINVALID, "the request body has data after the JSON object")
	}
	return nil
}

// plainRequest reports whether the decoded path and query values are UTF-8
// without NUL characters: no id or name Roster stores holds anything else,
// and PostgreSQL refuses such text as a query argument (a 500 otherwise).
func plainRequest(r *http.Request) bool {
	plain := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	if !plain(r.URL.Path) {
		return false
	}
	for k, vs := range r.URL.Query() {
		if !plain(k) {
			return false
		}
		for _, v := range vs {
			if !plain(v) {
				return false
			}
		}
	}
	return true
}
