package main

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// TestUserNameUniqueness checks the userName map: a case-insensitive clash is
// a 409 uniqueness error, and renaming (PUT or PATCH) or deleting a user frees
// its old name.
func TestUserNameUniqueness(t *testing.T) {
	h := &handler{store: newStore("userName"), schema: schema.CoreUserSchema(), ext: []schema.Schema{schema.ExtensionEnterpriseUser()}}
	r := httptest.NewRequest("GET", "/", nil)
	create := func(name string) (scim.Resource, error) {
		return h.Create(r, scim.ResourceAttributes{"userName": name})
	}
	isUniqueness := func(err error) bool {
		var se scimerrors.ScimError
		return errors.As(err, &se) && se.Status == 409 && se.ScimType == scimerrors.ScimTypeUniqueness
	}

	alice, err := create("Alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create("aLICE@EXAMPLE.com"); !isUniqueness(err) {
		t.Fatalf("second Alice: got %v, want 409 uniqueness", err)
	}
	bob, err := create("bob@example.com")
	if err != nil {
		t.Fatal(err)
	}

	// PUT onto another user's name conflicts; onto its own name (other case) does not.
	if _, err := h.Replace(r, bob.ID, scim.ResourceAttributes{"userName": "ALICE@example.com"}); !isUniqueness(err) {
		t.Fatalf("PUT bob -> Alice: got %v, want 409 uniqueness", err)
	}
	if _, err := h.Replace(r, alice.ID, scim.ResourceAttributes{"userName": "ALICE@example.com"}); err != nil {
		t.Fatalf("PUT alice -> ALICE: %v", err)
	}

	// PUT rename frees the old name.
	if _, err := h.Replace(r, alice.ID, scim.ResourceAttributes{"userName": "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := create("Carol@Example.com"); !isUniqueness(err) {
		t.Fatalf("Carol after rename: got %v, want 409 uniqueness", err)
	}
	alice2, err := create("alice@example.com")
	if err != nil {
		t.Fatalf("alice after rename: %v", err)
	}

	// PATCH rename frees the old name; a PATCH onto a taken name leaves both as they were.
	p, err := filter.ParsePath([]byte("userName"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Patch(r, bob.ID, []scim.PatchOperation{{Op: scim.PatchOperationReplace, Path: &p, Value: "Carol@example.com"}}); !isUniqueness(err) {
		t.Fatalf("PATCH bob -> Carol: got %v, want 409 uniqueness", err)
	}
	if _, err := h.Patch(r, bob.ID, []scim.PatchOperation{{Op: scim.PatchOperationReplace, Path: &p, Value: "dave@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := create("BOB@example.com"); err != nil {
		t.Fatalf("bob after PATCH rename: %v", err)
	}
	if _, err := create("Dave@example.com"); !isUniqueness(err) {
		t.Fatalf("Dave after PATCH rename: got %v, want 409 uniqueness", err)
	}

	// Delete frees the name.
	if err := h.Delete(r, alice2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := create("ALICE@example.com"); err != nil {
		t.Fatalf("alice after delete: %v", err)
	}

	// The map holds exactly one entry per stored user.
	if got, want := len(h.store.byUnique), len(h.store.byID); got != want {
		t.Fatalf("byUnique has %d entries, byID %d", got, want)
	}
	for k, id := range h.store.byUnique {
		if name, _ := h.store.byID[id].attrs["userName"].(string); name == "" || k != strings.ToLower(name) {
			t.Fatalf("byUnique[%q] = %s, whose userName is %q", k, id, name)
		}
	}
}
