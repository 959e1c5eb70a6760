package scimclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// Error is every error the client returns for a request: an answer the
// target gave (Status is set), or no answer (Status is 0 and Err says why).
// Its message is meant for the person running the job, so it says what
// went wrong in plain words and never carries the token or client secret.
type Error struct {
	Method string
	// Path is the request's path relative to the tenant URL, such as
	// /Users or /Users/2819c223; the host is left out.
	Path string
	// Status is the HTTP status of the answer, 0 when none arrived.
	Status int
	// SCIMType and Detail come from a SCIM error body when there is one.
	SCIMType string
	Detail   string
	// Retryable reports that a later attempt (a later cycle) may succeed:
	// 429, 5xx, timeouts and dropped connections are; 4xx answers,
	// untrusted certificates and unknown hosts are not.
	Retryable bool
	// Attempts is how many requests were sent, the first included.
	Attempts int
	// Err is the underlying error: a transport error, or ctx.Err() when
	// the caller gave up while the client waited to retry.
	Err error

	server  string   // scheme://host of the target, to name it in messages
	secrets []string // what the message must never show
}

// Error implements error.
func (e *Error) Error() string {
	return redact(e.message(), e.secrets)
}

func (e *Error) message() string {
	var b strings.Builder
	b.WriteString(e.Method + " " + e.Path + ": ")
	if e.Status != 0 {
		b.WriteString(fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status)))
		if e.SCIMType != "" {
			b.WriteString(" (" + e.SCIMType + ")")
		}
		if hint := statusHint(e.Status); hint != "" {
			b.WriteString(": " + hint)
		}
		if e.Detail != "" {
			b.WriteString(": " + e.Detail)
		}
		if e.Err != nil { // the caller gave up while waiting to retry
			b.WriteString(": " + e.Err.Error())
		}
	} else {
		if e.Err != nil {
			b.WriteString(describe(e.Err, e.server))
		}
		if e.Detail != "" {
			b.WriteString(": " + e.Detail)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a 404 answer: the object does not
// exist in the target.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsConflict reports whether err is a 409 answer, which SCIM apps give to
// a create whose userName or displayName is taken.
func IsConflict(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// statusHint says what a status usually means for a provisioning job.
func statusHint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the target rejected the token"
	case http.StatusForbidden:
		return "the token is not allowed to do this"
	case http.StatusTooManyRequests:
		return "the target is rate limiting this job"
	}
	return ""
}

// describe says in plain words why a request got no answer. server is the
// target's scheme://host, named so the reader knows which host to check.
func describe(err error, server string) string {
	var (
		tokErr *tokenError
		gave   *gaveUp
	)
	if errors.As(err, &tokErr) {
		return tokErr.Error()
	}
	if errors.As(err, &gave) {
		return gave.Error()
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		header    tls.RecordHeaderError
		dnsErr    *net.DNSError
	)
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err // url.Error repeats the whole URL; the path is already said
	}
	switch {
	case errors.Is(err, context.Canceled):
		return inner.Error()
	case errors.As(err, &hostErr):
		return "the server's TLS certificate is not valid for its host name: " + hostErr.Error()
	case errors.As(err, &unknownCA), errors.As(err, &verify), errors.As(err, &invalid):
		return "the server's TLS certificate is not trusted: " + inner.Error()
	case errors.As(err, &header):
		return "the server does not speak TLS: should the URL start with http:// rather than https://? (" + inner.Error() + ")"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("there is no host named %q: check the tenant URL", dnsErr.Name)
		}
		return "the host name could not be looked up: " + dnsErr.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused: is the server at %s running?", server)
	case isTimeout(err):
		return "no answer in time: " + inner.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "the connection was closed before an answer arrived (" + inner.Error() + ")"
	}
	return inner.Error()
}

// isTimeout reports whether err is a deadline that passed.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// permanent reports whether a transport error will happen again however
// often the request is sent: a certificate the client does not trust, a
// host that does not exist, a URL that cannot be built.
func permanent(err error) bool {
	var (
		unknownCA *x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		header    tls.RecordHeaderError
		dnsErr    *net.DNSError
		tokErr    *tokenError
	)
	switch {
	case errors.As(err, &tokErr):
		return !tokErr.retryable
	case errors.As(err, &dnsErr):
		return dnsErr.IsNotFound
	}
	return errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &header)
}

// scimError is the body of a SCIM error answer (RFC 7644 §3.12).
type scimError struct {
	SCIMType string `json:"scimType"`
	Detail   string `json:"detail"`
}
