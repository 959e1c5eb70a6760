package scimclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OAuth is an OAuth 2.0 client-credentials grant (RFC 6749 §4.4): the
// client trades ClientID and ClientSecret at TokenURL for an access token,
// as Entra does for apps that want no long-lived bearer token.
type OAuth struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scope is sent when not empty.
	Scope string
}

// tokenSource fetches access tokens and keeps the current one until
// shortly before it expires, so that a cycle of thousands of requests
// costs one token request.
type tokenSource struct {
	cfg  OAuth
	http *http.Client
	now  func() time.Time

	// lock is held while fetching, so that concurrent requests wait for
	// one fetch instead of each starting their own; it is a channel so
	// that waiting respects the caller's context.
	lock   chan struct{}
	token  string
	expiry time.Time
}

func newTokenSource(cfg OAuth, hc *http.Client) *tokenSource {
	return &tokenSource{cfg: cfg, http: hc, now: time.Now, lock: make(chan struct{}, 1)}
}

// tokenError is a failure to get an access token. Its message names the
// token endpoint and what it said, never the secret.
type tokenError struct {
	msg       string
	retryable bool
	err       error
}

func (e *tokenError) Error() string { return e.msg }
func (e *tokenError) Unwrap() error { return e.err }

// get returns a valid access token, fetching one when there is none or
// the current one is about to expire.
func (t *tokenSource) get(ctx context.Context) (string, error) {
	select {
	case t.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.lock }()
	if t.token != "" && t.now().Before(t.expiry) {
		return t.token, nil
	}
	tok, lifetime, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	// Refresh a minute early (a tenth of the lifetime for short ones), so
	// that a token does not expire between being read and being checked.
	margin := min(time.Minute, lifetime/10)
	t.token, t.expiry = tok, t.now().Add(lifetime-margin)
	return tok, nil
}

// invalidate forgets tok if it is still the current token: the target
// rejected it (revoked, or the target's clock disagrees about expiry).
func (t *tokenSource) invalidate(tok string) {
	t.lock <- struct{}{}
	if t.token == tok {
		t.token = ""
	}
	<-t.lock
}

// secrets returns what must never appear in an error: the client secret
// and the current access token.
func (t *tokenSource) secrets() []string {
	t.lock <- struct{}{}
	defer func() { <-t.lock }()
	return []string{t.cfg.ClientSecret, t.token}
}

// fetch asks the token endpoint for a token. The client authenticates
// with HTTP Basic (client_secret_basic), which RFC 6749 §2.3.1 requires
// every server to support, with both halves form-encoded first as that
// section says; the secret thus never sits in a form body that a proxy
// might log.
func (t *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if t.cfg.Scope != "" {
		form.Set("scope", t.cfg.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", t.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, &tokenError{msg: "the token URL is not valid: " + err.Error(), err: err}
	}
	req.SetBasicAuth(url.QueryEscape(t.cfg.ClientID), url.QueryEscape(t.cfg.ClientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	where := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	resp, err := t.http.Do(req)
	if err != nil {
		return "", 0, &tokenError{
			msg:       fmt.Sprintf("could not get an access token from %s: %s", where, describe(err, req.URL.Scheme+"://"+req.URL.Host)),
			retryable: !permanent(err),
			err:       err,
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, &tokenError{msg: fmt.Sprintf("could not read the answer of %s: %v", where, err), retryable: true, err: err}
	}
	var tr struct {
		AccessToken string      `json:"access_token"`
		TokenType   string      `json:"token_type"`
		ExpiresIn   json.Number `json:"expires_in"`
		Error       string      `json:"error"`
		Description string      `json:"error_description"`
	}
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("the token endpoint %s answered %s", where, resp.Status)
		if tr.Error != "" {
			msg += " (" + tr.Error + ")"
		}
		if tr.Description != "" {
			msg += ": " + tr.Description
		}
		if tr.Error == "invalid_client" || resp.StatusCode == http.StatusUnauthorized {
			msg += ": check the client id and secret"
		}
		return "", 0, &tokenError{msg: msg, retryable: resp.StatusCode == 429 || resp.StatusCode >= 500}
	}
	if jsonErr != nil || tr.AccessToken == "" {
		return "", 0, &tokenError{msg: fmt.Sprintf("the token endpoint %s answered 200 without an access_token in a JSON body", where)}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", 0, &tokenError{msg: fmt.Sprintf("the token endpoint %s issued a %q token; only Bearer tokens are supported", where, tr.TokenType)}
	}
	// Without expires_in, assume an hour, the shortest lifetime Entra's
	// validator accepts; a 401 before then fetches a new token anyway.
	lifetime := time.Hour
	if s, err := tr.ExpiresIn.Int64(); err == nil && s > 0 {
		lifetime = time.Duration(s) * time.Second
	}
	return tr.AccessToken, lifetime, nil
}
