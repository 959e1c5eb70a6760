package adminhttp

import (
	"net/http"
	"strconv"

	"github.com/roster-scim/roster"

	"github.com/roster-scim/roster/manage"
)

// ok wraps a call whose result is the 200 body.
func ok[T any](v T, err error) (int, any, error) { return http.StatusOK, v, err }

// created wraps a call whose result is the 201 body.
func created[T any](v T, err error) (int, any, error) { return http.StatusCreated, v, err }

// body decodes a JSON body into a new In.
func body[In any](r *http.Request) (In, error) {
	var in In
	return in, decode(r, &in)
}

func listOrgs(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListOrganizations(r.Context()))
}

func getOrg(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.GetOrganization(r.Context(), r.PathValue("org")))
}

func listAdmins(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListAdmins(r.Context(), r.PathValue("org")))
}

// revokeAdmin answers with the revoked admin, as revokeKey does, so the
// caller sees the new state without another request.
func revokeAdmin(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.RevokeAdmin(r.Context(), r.PathValue("org"), r.PathValue("admin")))
}

func listKeys(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListKeys(r.Context(), r.PathValue("org")))
}

func getKey(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.GetKey(r.Context(), r.PathValue("org"), r.PathValue("key")))
}

func revokeKey(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.RevokeKey(r.Context(), r.PathValue("org"), r.PathValue("key")))
}

func listDirs(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListDirectories(r.Context(), r.PathValue("org")))
}

func getDir(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.GetDirectory(r.Context(), r.PathValue("org"), r.PathValue("dir")))
}

func deleteDir(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, ss.DeleteDirectory(r.Context(), r.PathValue("org"), r.PathValue("dir"))
}

func listClients(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListOAuthClients(r.Context(), r.PathValue("org"), r.PathValue("dir")))
}

func revokeSecret(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, ss.RevokeOAuthSecret(r.Context(), r.PathValue("org"), r.PathValue("client"), r.PathValue("secret"))
}

func createOrg(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.OrganizationInput](r)
	if err != nil {
		return 0, nil, err
	}
	return created(ss.CreateOrganization(r.Context(), in))
}

func createAdmin(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.AdminInput](r)
	if err != nil {
		return 0, nil, err
	}
	return created(ss.CreateAdmin(r.Context(), r.PathValue("org"), in))
}

func createKey(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.KeyInput](r)
	if err != nil {
		return 0, nil, err
	}
	return created(ss.CreateKey(r.Context(), r.PathValue("org"), in))
}

func createDir(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.DirectoryInput](r)
	if err != nil {
		return 0, nil, err
	}
	return created(ss.CreateDirectory(r.Context(), r.PathValue("org"), in))
}

func updateDir(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.DirectoryUpdate](r)
	if err != nil {
		return 0, nil, err
	}
	return ok(ss.UpdateDirectory(r.Context(), r.PathValue("org"), r.PathValue("dir"), in))
}

func createClient(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.OAuthClientInput](r)
	if err != nil {
		return 0, nil, err
	}
	return created(ss.CreateOAuthClient(r.Context(), r.PathValue("org"), r.PathValue("dir"), in))
}

func addSecret(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	in, err := body[manage.SecretInput](r)
	if err != nil {
		return 0, nil, err
	}
	return created(ss.AddOAuthSecret(r.Context(), r.PathValue("org"), r.PathValue("client"), in))
}

func listProfiles(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListProfiles(r.Context()))
}

func getProfile(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.GetProfile(r.Context(), r.PathValue("name")))
}

func queryRequests(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	in := manage.RequestFilter{Directory: q.Get("directory"), Since: q.Get("since"), Until: q.Get("until"),
		Status: q.Get("status"), ResourceID: q.Get("resource_id"), Operation: q.Get("operation")}
	var err error
	if v := q.Get("limit"); v != "" {
		if in.Limit, err = strconv.Atoi(v); err != nil {
			return 0, nil, roster.Errorf(roster.EINVALID, "limit must be an integer, got %q", v)
		}
	}
	if v := q.Get("before"); v != "" {
		if in.Before, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, nil, roster.Errorf(roster.EINVALID, "before must be an entry id, got %q", v)
		}
	}
	return ok(ss.QueryRequests(r.Context(), r.PathValue("org"), in))
}

func listJobs(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.ListJobs(r.Context(), r.PathValue("org")))
}

func getJob(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	return ok(ss.GetJob(r.Context(), r.PathValue("org"), r.PathValue("job")))
}

// queryJobLog reads the query parameters of a provisioning-log page; a
// value that does not parse is a 400, never silently ignored.
func queryJobLog(h *Handler, ss *manage.Session, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "failed", "object", "cycle", "limit", "before":
		default:
			return 0, nil, roster.Errorf(roster.EINVALID, "unknown query parameter %q; use failed, object, cycle, limit or before", k)
		}
	}
	in := manage.JobLogFilter{Object: q.Get("object"), Cycle: q.Get("cycle")}
	var err error
	if v := q.Get("failed"); v != "" {
		if in.Failed, err = strconv.ParseBool(v); err != nil {
			return 0, nil, roster.Errorf(roster.EINVALID, "failed must be true or false, got %q", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if in.Limit, err = strconv.Atoi(v); err != nil || in.Limit < 1 {
			return 0, nil, roster.Errorf(roster.EINVALID, "limit must be an integer from 1 to %d, got %q", manage.MaxJobLogLimit, v)
		}
	}
	if v := q.Get("before"); v != "" {
		if in.Before, err = strconv.ParseInt(v, 10, 64); err != nil || in.Before < 1 {
			return 0, nil, roster.Errorf(roster.EINVALID, "before must be an entry id (the next of the previous page), got %q", v)
		}
	}
	return ok(ss.QueryJobLog(r.Context(), r.PathValue("org"), r.PathValue("job"), in))
}
