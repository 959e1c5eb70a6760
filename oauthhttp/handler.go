// Package oauthhttp is Roster's OAuth 2.0 token endpoint: the client
// credentials grant (RFC 6749 §4.4) that Entra ID's newer provisioning
// connectors use instead of a long-lived secret token. A client trades its
// client_id and client_secret for a short-lived access token, which the
// SCIM endpoint then accepts as a bearer token of the client's directory.
//
// Errors here follow RFC 6749 §5.2, not RFC 7644: OAuth clients parse
// {"error","error_description"} and would not understand a SCIM error body.
package oauthhttp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roster-scim/roster"
)

// Path is where the token endpoint is served. Mount the Handler on the path
// without a method in the pattern ("/v1/oauth/token", not "POST ..."), so
// that a GET gets an OAuth error body from the Handler rather than the
// ServeMux's plain-text 405.
const Path = "/v1/oauth/token"

// TokenPrefix starts every access token, so that secret scanners and humans
// can tell a leaked access token ("rat_") from a long-lived key ("rst_").
const TokenPrefix = "rat_"

// maxBodyBytes bounds the form body. A token request is a few hundred bytes;
// anything much larger is not one, and must not be buffered.
const maxBodyBytes = 16 << 10

// Store is what the token endpoint needs from the admin store; any
// roster.AdminStore satisfies it. It is narrower than AdminStore so that
// the endpoint's dependencies are visible at a glance.
type Store interface {
	// FindOAuthClient returns a client with all its secrets, revoked and
	// expired ones too. Returns ENOTFOUND.
	FindOAuthClient(ctx context.Context, clientID string) (*roster.OAuthClient, error)
	// CreateAccessToken stores an issued token by hash.
	CreateAccessToken(ctx context.Context, t *roster.AccessToken) error
}

// Handler serves POST /v1/oauth/token. It is an http.Handler of its own,
// rather than a route of scimhttp, because its error format and its
// authentication (client credentials, not a bearer token) differ from
// every SCIM route.
type Handler struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns the token endpoint. store is usually the roster.AdminStore
// the SCIM server authenticates against, so that the tokens issued here are
// the ones it accepts. log receives one line per request, never a secret or
// token; nil discards. now is the clock for secret expiry and token
// lifetimes; nil means time.Now. Tests pass the same clock to the store, so
// that "expires" means the same instant on both sides.
func New(store Store, log *slog.Logger, now func() time.Time) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Handler{store: store, log: log, now: now}
}

// tokenResponse is the RFC 6749 §5.1 success body. No refresh token: in the
// client credentials grant the client simply asks again (§4.4.3).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// oauthError is an RFC 6749 §5.2 error. Handlers return it like any
// error; writeError is the one place that turns it into a response.
type oauthError struct {
	status int
	code   string
	desc   string
	basic  bool   // the client tried HTTP Basic: challenge it in WWW-Authenticate
	allow  string // the Allow header of a 405
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

// errorf builds an oauthError with status 400, the status §5.2 gives every
// error but invalid_client.
func errorf(code, format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: fmt.Sprintf(format, args...)}
}

// clientError is invalid_client. RFC 6749 §5.2 requires 401 with a
// challenge when the client authenticated with an Authorization header and
// allows it otherwise; Roster always answers 401 with a Basic challenge,
// because RFC 9110 §15.5.2 requires WWW-Authenticate on every 401 and
// because the challenge tells a client that tried neither method which
// one the server supports.
func clientError(format string, args ...any) *oauthError {
	e := errorf("invalid_client", format, args...)
	e.status, e.basic = http.StatusUnauthorized, true
	return e
}

// credentials are the client_id and client_secret of a request, and how
// they came.
type credentials struct {
	id, secret string
	basic      bool
}

// ServeHTTP answers one token request and logs its outcome.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := requestID(r)
	w.Header().Set("X-Request-Id", reqID)
	// §5.1: token responses must not be cached. Errors get the same
	// headers: they name clients and carry nothing worth caching.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	client, err := h.serve(w, r)
	attrs := []slog.Attr{
		slog.String("request_id", reqID), slog.String("method", r.Method), slog.String("route", Path),
		slog.Duration("duration", time.Since(start)),
	}
	// The client_id is logged only once it named a real client: an unknown
	// client_id is often a secret pasted into the wrong field.
	if client != nil {
		attrs = append(attrs, slog.String("client_id", client.ID), slog.String("directory_id", client.DirectoryID))
	}
	if err != nil {
		status := h.writeError(w, reqID, err)
		var oe *oauthError
		if errors.As(err, &oe) {
			attrs = append(attrs, slog.String("error", oe.code), slog.String("error_description", oe.desc))
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
			attrs = append(attrs, slog.Any("internal_error", err))
		}
		h.log.LogAttrs(r.Context(), level, "token request", append(attrs, slog.Int("status", status))...)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "token issued", append(attrs, slog.Int("status", http.StatusOK))...)
}

// requestID keeps a sane X-Request-Id from a proxy, as scimhttp does, so
// that one id follows a request through every log; otherwise it makes one.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < '!' || c > '~' }) {
		id = rand.Text()[:16]
	}
	return id
}

// serve parses, authenticates, issues and responds. It returns the client
// once known, for the log line.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (*roster.OAuthClient, error) {
	form, err := parseRequest(w, r)
	if err != nil {
		return nil, err
	}
	creds, err := clientCredentials(r, form)
	if err != nil {
		return nil, err
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		return nil, errorf("invalid_request", "grant_type is missing; send grant_type=client_credentials in the form body")
	case "client_credentials":
	default:
		return nil, errorf("unsupported_grant_type", "grant_type %s is not supported; this endpoint issues tokens for grant_type=client_credentials only", quoteSafe(gt))
	}
	client, err := h.authenticate(r.Context(), creds)
	if err != nil {
		return client, err
	}
	// A client with no privilege could only ever get 403s; refusing its
	// token makes a forgotten privilege show up at Test Connection, with a
	// message that says what to fix.
	if client.Users == roster.PrivNone && client.Groups == roster.PrivNone {
		return client, errorf("unauthorized_client", "client %s has no privilege on Users or Groups; an admin must grant read or write before it can get tokens", quoteSafe(client.ID))
	}
	now := h.now()
	ttl := h.ttl(r.Context(), client)
	token := TokenPrefix + rand.Text()
	if err := h.store.CreateAccessToken(r.Context(), &roster.AccessToken{Hash: roster.HashSecret(token), ClientID: client.ID, Expires: now.Add(ttl)}); err != nil {
		return client, err
	}
	// §5.1: scope may be omitted when it equals the request's. Roster has no
	// scopes (privileges live on the client), so it grants whatever was
	// asked and says so, which keeps clients that check the echo happy.
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: form.Get("scope")})
	return client, nil
}

// ttl is the client's token lifetime. An unset lifetime means roster.DefaultTokenTTL;
// one outside the allowed range (written before ValidTokenTTL existed, or by
// hand) is clamped and logged rather than refused, so that a bad setting
// never takes a directory's provisioning down.
func (h *Handler) ttl(ctx context.Context, c *roster.OAuthClient) time.Duration {
	ttl := c.TokenTTL
	switch {
	case ttl == 0:
		return roster.DefaultTokenTTL
	case ttl < roster.MinTokenTTL:
		ttl = roster.MinTokenTTL
	case ttl > roster.MaxTokenTTL:
		ttl = roster.MaxTokenTTL
	default:
		return ttl.Truncate(time.Second)
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "OAuth client token lifetime out of range; clamped",
		slog.String("client_id", c.ID), slog.Duration("stored", c.TokenTTL), slog.Duration("used", ttl))
	return ttl
}

// parseRequest checks method and content type and returns the form body.
// Parameters come only from the body (RFC 6749 §4.4.2); the URL query is
// not read, because URLs end up in proxy and access logs.
func parseRequest(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		e := errorf("invalid_request", "the token endpoint takes POST only (RFC 6749 section 3.2), not %s", quoteSafe(r.Method))
		e.status, e.allow = http.StatusMethodNotAllowed, http.MethodPost
		return nil, e
	}
	q := r.URL.Query()
	if q.Has("client_secret") {
		return nil, errorf("invalid_request", "client_secret must not be sent in the URL, where logs keep it; send it in the form body or as HTTP Basic, and consider rotating it")
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/x-www-form-urlencoded" {
		got := "none"
		if ct != "" {
			got = quoteSafe(ct)
		}
		return nil, errorf("invalid_request", "the request body must be application/x-www-form-urlencoded (got Content-Type %s), e.g. grant_type=client_credentials&client_id=...&client_secret=...", got)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errorf("invalid_request", "the request body is larger than %d bytes; a token request is a few form parameters", maxBodyBytes)
	} else if err != nil {
		return nil, errorf("invalid_request", "the request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errorf("invalid_request", "the request body is not valid application/x-www-form-urlencoded data")
	}
	for name, vs := range form {
		// §3.2: parameters must not repeat. Two different client_ids or
		// grant_types would make any choice between them a guess.
		if len(vs) > 1 {
			return nil, errorf("invalid_request", "parameter %s appears %d times; send each parameter once", quoteSafe(name), len(vs))
		}
	}
	if !form.Has("grant_type") && q.Has("grant_type") {
		return nil, errorf("invalid_request", "grant_type is in the URL query; send the parameters in the form-encoded request body")
	}
	return form, nil
}

// clientCredentials extracts the client's credentials from HTTP Basic
// (client_secret_basic) or the form body (client_secret_post). RFC 6749
// §2.3 forbids using both; a client_id in the body next to Basic is
// tolerated when it names the same client, since several client libraries
// send it anyway.
func clientCredentials(r *http.Request, form url.Values) (credentials, error) {
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		return credentials{}, clientError("client assertions (RFC 7523, workload identity federation) are not supported; authenticate with client_id and client_secret")
	}
	bodyID, bodySecret := form.Get("client_id"), form.Get("client_secret")
	auth := r.Header.Get("Authorization")
	if auth == "" {
		switch {
		case bodyID == "" && bodySecret == "":
			return credentials{}, clientError("client authentication is missing; send client_id and client_secret in the form body or as HTTP Basic")
		case bodyID == "":
			return credentials{}, clientError("client_id is missing; send it next to client_secret")
		case bodySecret == "":
			return credentials{}, clientError("client_secret is missing; this endpoint only serves confidential clients")
		}
		return credentials{id: bodyID, secret: bodySecret}, nil
	}
	scheme, _, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return credentials{}, clientError("Authorization scheme %s is not supported here; use HTTP Basic with client_id and client_secret, or send them in the form body", quoteSafe(scheme))
	}
	if bodySecret != "" {
		return credentials{}, errorf("invalid_request", "the client authenticated twice, with HTTP Basic and with client_secret in the body; use one method only (RFC 6749 section 2.3)")
	}
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return credentials{}, clientError("the HTTP Basic credentials are malformed; send base64(client_id:client_secret)")
	}
	// §2.3.1: id and secret are form-urlencoded before Basic encoding, so
	// that a colon in the id survives. Roster's own ids and secrets contain
	// nothing that encoding changes, so clients that skip it still work.
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return credentials{}, clientError("the HTTP Basic client_id or client_secret is not valid form-urlencoded text (RFC 6749 section 2.3.1)")
	}
	if id == "" || secret == "" {
		return credentials{}, clientError("the HTTP Basic credentials need both a client_id and a client_secret")
	}
	if bodyID != "" && bodyID != id {
		return credentials{}, errorf("invalid_request", "client_id in the body differs from the one in HTTP Basic; send one client_id")
	}
	return credentials{id: id, secret: secret, basic: true}, nil
}

// authenticate finds the client and checks the secret against every secret
// the client holds. Each comparison is constant-time and the loop never
// stops early, so the time taken does not reveal how close a guess came or
// which of the client's secrets it matched.
func (h *Handler) authenticate(ctx context.Context, c credentials) (*roster.OAuthClient, error) {
	client, err := h.store.FindOAuthClient(ctx, c.id)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, clientError("no OAuth client has this client_id; copy the client_id from the IdP configuration in Roster")
	} else if err != nil {
		return nil, err
	}
	hash := roster.HashSecret(c.secret)
	match := -1
	for i, s := range client.Secrets {
		if subtle.ConstantTimeCompare(s.Hash, hash) == 1 {
			match = i
		}
	}
	if match < 0 {
		return client, clientError("the client_secret is not valid for this client_id")
	}
	switch s := client.Secrets[match]; {
	case s.Revoked:
		return client, clientError("this client_secret has been revoked; create a new secret for the client and update the IdP")
	case s.Expires != nil && !h.now().Before(*s.Expires):
		return client, clientError("this client_secret expired at %s; create a new secret for the client and update the IdP", s.Expires.UTC().Format(time.RFC3339))
	}
	return client, nil
}

// writeError writes an RFC 6749 §5.2 error and returns its status. Errors
// that are not oauthErrors are internal: the log gets the details, the
// client only the request id. server_error is not one of §5.2's codes, but
// it is the code §4.1.2.1 gives for the same situation and the one clients
// already know. A store error that the store classifies as an outage
// (roster.Unavailable) is temporarily_unavailable, §4.1.2.1's code for it,
// with the 503 and Retry-After that a redirect could not carry there but a
// token response can; ServeHTTP logs the cause like any 5xx.
func (h *Handler) writeError(w http.ResponseWriter, reqID string, err error) int {
	var oe *oauthError
	if u := roster.Unavailable(err, h.store); u != nil {
		oe = &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: u.Message}
		w.Header().Set("Retry-After", strconv.Itoa(roster.RetryAfterSeconds))
	} else if !errors.As(err, &oe) {
		oe = &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "internal error; quote request id " + reqID + " when reporting it"}
	}
	if oe.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="roster"`)
	}
	if oe.allow != "" {
		w.Header().Set("Allow", oe.allow)
	}
	writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": descriptionSafe(oe.desc)})
	return oe.status
}

// writeJSON writes an OAuth JSON response (§5.1 requires application/json).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// quoteSafe shows client-supplied text inside an error description: single
// quotes (§5.2 forbids double quotes and backslashes there), cut to a
// length that keeps descriptions readable.
func quoteSafe(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "'" + s + "'"
}

// descriptionSafe replaces every character that RFC 6749 §5.2 does not
// allow in error_description (only printable ASCII without '"' and '\').
func descriptionSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return '?'
		}
		return c
	}, s)
}
