package scimhttp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/roster-scim/roster"
)

// RequestRecorder receives one entry per request to a directory's SCIM API,
// for the request log; *reqlog.Recorder is one. Record runs on the request
// path after the response is written, so it must not block. rawQuery and
// body are the request's; body holds what the handler read, at most
// Config.MaxBodyBytes, and is the recorder's to keep.
type RequestRecorder interface {
	Record(e roster.RequestEntry, rawQuery string, body []byte)
}

// SetRequestRecorder turns the request log on. Call it before Handler.
// Without a recorder, requests are not copied at all.
func (s *Server) SetRequestRecorder(r RequestRecorder) {
	s.recorder = r
}

// scimRoutePrefix starts the route label of every request to a directory.
const scimRoutePrefix = "/v1/scim/{idp}/"

type pendingKey struct{}

// pendingRecord is what the request log learns about a request while it
// runs: wrap creates it, authenticate names the credential, and wrap turns
// it into an entry once the response is written.
type pendingRecord struct {
	cred    *roster.Credential
	body    *teeBody
	ignored []string
}

// startRecord prepares the log entry of a request to a directory. It
// returns the request the handler must see (with the pending record in its
// context and its body teed) or r itself and nil when nothing is recorded.
//
// Every request under /v1/scim/{idp}/ is recorded, including those that
// fail authentication or name no endpoint: a wrong tenant URL or an expired
// key is exactly what an admin asking "why didn't my user show up?" needs
// to see. The recorder drops entries of directories that do not exist.
func (s *Server) startRecord(r *http.Request, route string) (*http.Request, *pendingRecord) {
	if s.recorder == nil || !strings.HasPrefix(route, scimRoutePrefix) {
		return r, nil
	}
	p := &pendingRecord{}
	r = r.WithContext(context.WithValue(r.Context(), pendingKey{}, p))
	if r.Body != nil && r.Body != http.NoBody {
		p.body = &teeBody{ReadCloser: r.Body, max: s.cfg.MaxBodyBytes}
		r.Body = p.body // r is a copy: the server still closes the original
	}
	return r, p
}

// noteCredential tells the request log which credential authenticated a
// request. authenticate calls it before checking privileges, so that a 403
// names the key that lacked the privilege.
func noteCredential(ctx context.Context, c *roster.Credential) {
	if p, ok := ctx.Value(pendingKey{}).(*pendingRecord); ok {
		p.cred = c
	}
}

// noteIgnored tells the request log which attributes the directory's
// profile dropped from the request.
func noteIgnored(ctx context.Context, paths []string) {
	if p, ok := ctx.Value(pendingKey{}).(*pendingRecord); ok {
		p.ignored = append(p.ignored, paths...)
	}
}

// finishRecord hands the entry of a finished request to the recorder. err
// is what the handler returned, for the scimType of an error response.
// Nothing secret goes in: the credential by id and name only, never the
// Authorization header.
func (s *Server) finishRecord(p *pendingRecord, r *http.Request, w http.ResponseWriter, route string, start time.Time, status int, err error) {
	if p == nil {
		return
	}
	e := roster.RequestEntry{
		Time:        start,
		DirectoryID: r.PathValue("idp"),
		Method:      r.Method,
		Route:       route,
		Status:      status,
		SCIMType:    roster.ErrorSCIMType(err),
		Latency:     time.Since(start),
		RequestID:   requestIDOf(r.Context()),
	}
	if c := p.cred; c != nil {
		e.OrgID, e.CredentialKind, e.CredentialID, e.CredentialName = c.OrgID, c.Kind, c.ID, c.Name
	}
	e.Ignored = p.ignored
	// The same matching as serveSCIM, so the entry names the resource the
	// handler worked on.
	var segs []string
	if rest := strings.Trim(r.PathValue("rest"), "/"); rest != "" {
		segs = strings.Split(rest, "/")
	}
	if _, rt, id := s.route(segs); rt != nil {
		e.ResourceType, e.ResourceID = rt.Name, id
		if id == "" && status == http.StatusCreated {
			if loc := w.Header().Get("Location"); loc != "" {
				e.ResourceID = path.Base(loc)
			}
		}
	}
	var body []byte
	if p.body != nil {
		body = p.body.buf.Bytes()
	}
	s.recorder.Record(e, r.URL.RawQuery, body)
}

// teeBody copies what the handler reads of a request body, up to max bytes:
// the handler rejects larger bodies with 413 anyway.
type teeBody struct {
	io.ReadCloser
	buf bytes.Buffer
	max int64
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := b.max - int64(b.buf.Len()); room > 0 {
		b.buf.Write(p[:min(int64(n), room)])
	}
	return n, err
}
