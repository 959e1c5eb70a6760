// Command elimity is a benchmark-only SCIM 2.0 peer built on
// github.com/elimity-com/scim. It keeps users and groups in memory and is
// what a user of that library would write for a simple server: the library
// parses, validates and routes; this program stores, filters with the
// library's filter.Validator, paginates and applies PATCH operations.
//
// It is not part of Roster; it exists so `roster bench` has a peer to compare
// against.
package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

func main() {
	addr := flag.String("addr", envOr("ELIMITY_ADDR", "127.0.0.1:0"), "listen address (env ELIMITY_ADDR); port 0 picks a free port")
	token := flag.String("token", os.Getenv("ELIMITY_TOKEN"), "static bearer token required on every request (env ELIMITY_TOKEN); empty disables the check")
	base := flag.String("base", envOr("ELIMITY_BASE", "/scim/v2"), "path prefix the SCIM endpoints are served under (env ELIMITY_BASE)")
	stringValues := flag.Bool("allow-string-values", true, "schema.SetAllowStringValues: accept \"True\"/\"False\" and numeric strings, the switch the library documents for Microsoft's client")
	flag.Parse()

	// The library documents this switch for Microsoft's client, which sends
	// booleans (and numbers) as strings, e.g. "active": "False".
	schema.SetAllowStringValues(*stringValues)

	users := newStore("userName")
	groups := newStore("")
	server, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://github.com/roster-scim/roster/tree/main/bench/peers"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type:        scim.AuthenticationTypeOauthBearerToken,
				Name:        "Bearer token",
				Description: "Static bearer token",
				Primary:     true,
			}},
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			{
				ID:          optional.NewString("User"),
				Name:        "User",
				Endpoint:    "/Users",
				Description: optional.NewString("User Account"),
				Schema:      schema.CoreUserSchema(),
				SchemaExtensions: []scim.SchemaExtension{
					{Schema: schema.ExtensionEnterpriseUser()},
				},
				Handler: &handler{store: users, schema: schema.CoreUserSchema(), ext: []schema.Schema{schema.ExtensionEnterpriseUser()}},
			},
			{
				ID:          optional.NewString("Group"),
				Name:        "Group",
				Endpoint:    "/Groups",
				Description: optional.NewString("Group"),
				Schema:      schema.CoreGroupSchema(),
				Handler:     &handler{store: groups, schema: schema.CoreGroupSchema()},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	prefix := strings.TrimRight(*base, "/")
	if prefix == "" {
		mux.Handle("/", server)
	} else {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, server))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, bearer(*token, mux)))
}

// bearer rejects requests that do not carry "Authorization: Bearer <token>".
func bearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"missing or invalid bearer token"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
