package adminhttp

import (
	"net/http"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// openAPI serves an OpenAPI 3.1 description generated from the route list,
// so the document cannot drift from the routes that exist.
func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		op := map[string]any{
			"summary":  rt.summary,
			"security": []any{map[string]any{"adminToken": []string{}}},
			"responses": map[string]any{
				"2XX":     map[string]any{"description": "Success; the JSON body is the object or list named in the summary."},
				"default": map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.method == "POST" || rt.method == "PATCH" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]string{"type": "object"}}}}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Roster admin API", "version": "1", "description": "Organizations, API keys, IdP configurations and OAuth clients. Authenticate with an admin token: Authorization: Bearer <token>."},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"adminToken": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "object", "properties": map[string]any{"code": map[string]string{"type": "string"}, "message": map[string]string{"type": "string"}}},
			}}},
		},
	})
}
