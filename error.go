// Package roster holds Roster's domain: organizations, directories (IdP
// configurations), API keys, the one error type every layer returns, and the
// store interfaces that the storage packages implement. It imports nothing
// else from the project, so every other package may depend on it.
package roster

import (
	"errors"
	"fmt"
)

// Application error codes. Each maps to exactly one HTTP status in the HTTP
// layers; the mapping lives there, not here, so the domain stays transport-free.
const (
	EINVALID      = "invalid"       // 400
	EUNAUTHORIZED = "unauthorized"  // 401
	EFORBIDDEN    = "forbidden"     // 403
	ENOTFOUND     = "not_found"     // 404
	EMETHOD       = "method"        // 405
	ECONFLICT     = "conflict"      // 409
	EPRECONDITION = "precondition"  // 412
	ETOOLARGE     = "too_large"     // 413
	EUNSUPPORTED  = "unsupported"   // 415
	EINTERNAL     = "internal"      // 500
	ENOTMODIFIED  = "not_modified"  // 304, used only for If-None-Match
	ENOTIMPL      = "not_implement" // 501
	EUNAVAILABLE  = "unavailable"   // 503 with Retry-After: the store is temporarily unavailable
)

// RetryAfterSeconds is the Retry-After, in seconds, that the HTTP layers
// send with EUNAVAILABLE: long enough for a connection pool to reconnect
// after a database restart or failover, short enough that IdPs, which
// honour it, do not fall far behind.
const RetryAfterSeconds = 5

// SCIM error types from RFC 7644 §3.12, carried next to EINVALID and
// ECONFLICT so that clients can tell a bad filter from a bad value.
const (
	ScimInvalidFilter = "invalidFilter"
	ScimTooMany       = "tooMany"
	ScimUniqueness    = "uniqueness"
	ScimMutability    = "mutability"
	ScimInvalidSyntax = "invalidSyntax"
	ScimInvalidPath   = "invalidPath"
	ScimNoTarget      = "noTarget"
	ScimInvalidValue  = "invalidValue"
	ScimInvalidVers   = "invalidVers"
	ScimSensitive     = "sensitive"
)

// Error is the application error. Code decides the HTTP status, SCIMType the
// optional scimType of the SCIM error body, and Message is shown to the
// client, so it must never carry internal details. Internal failures are plain
// Go errors; the HTTP layer logs them and answers "internal error".
type Error struct {
	Code     string
	SCIMType string
	Message  string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.SCIMType != "" {
		return fmt.Sprintf("roster error: code=%s scimType=%s message=%s", e.Code, e.SCIMType, e.Message)
	}
	return fmt.Sprintf("roster error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// SCIMErrorf returns an *Error with a SCIM error type. The code is EINVALID
// unless the SCIM type implies another (uniqueness is a conflict).
func SCIMErrorf(scimType, format string, args ...any) *Error {
	code := EINVALID
	if scimType == ScimUniqueness {
		code = ECONFLICT
	}
	return &Error{Code: code, SCIMType: scimType, Message: fmt.Sprintf(format, args...)}
}

// UnavailableChecker is implemented by stores that can recognise their own
// transient failures: a lost database connection, a database restarting,
// a statement stopped by its timeout. Only the store knows its driver's
// errors, so the classification lives there, and the HTTP layers ask the
// store they were given (by type assertion, through Unavailable) instead of
// each being wired to a classifier; a store without the method (SQLite,
// which is a file and cannot be disconnected) keeps answering 500.
type UnavailableChecker interface {
	// Unavailable returns an EUNAVAILABLE error whose message a client can
	// act on when err means the store cannot answer for now and the same
	// request may succeed later; otherwise nil. err is never an *Error.
	Unavailable(err error) *Error
}

// Unavailable returns the EUNAVAILABLE error that the first of stores
// implementing UnavailableChecker reports for err, or nil when none does.
// Application errors (*Error) are never reclassified: a store returns them
// on purpose.
func Unavailable(err error, stores ...any) *Error {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return nil
	}
	for _, s := range stores {
		if c, ok := s.(UnavailableChecker); ok {
			if u := c.Unavailable(err); u != nil {
				return u
			}
		}
	}
	return nil
}

// ErrorCode returns the code of an application error, or EINTERNAL for any
// other error (a disk error, a bug) and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of an error. Internal errors
// become "internal error" so that nothing about the server leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorSCIMType returns the SCIM error type of an application error, or "".
func ErrorSCIMType(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.SCIMType
	}
	return ""
}
