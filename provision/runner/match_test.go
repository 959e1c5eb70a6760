package runner_test

import (
	"context"
	"testing"
)

// TestMatchedNotCreated: an object that already exists in the target is
// matched and updated, without the create-only mappings and defaults, and a
// SelectUniqueValue create-only mapping does not turn it into a second
// object under another value.
func TestMatchedNotCreated(t *testing.T) {
	ctx := context.Background()
	const rows = "1,ada@example.com,Ada,Lovelace,,ada@example.com,Math,,true,\n"
	f := newFixtureWith(t, rows, `, "mappings": {"users": [
		{"target": "title", "source": "jobTitle", "default": "Staff"},
		{"target": "nickName", "constant": "new hire", "apply": "create"},
		{"target": "displayName", "apply": "create",
		 "expression": "SelectUniqueValue(Join(\" \", [givenName], [surname]), Join(\" \", [givenName], [surname], \"2\"))"}]},
		"matching": {"users": [{"target": "userName"}]}`)
	// Ada exists in the app already, created by hand.
	f.tg.send(t, "POST", "/Users", map[string]any{"userName": "ada@example.com", "displayName": "Ada Lovelace", "title": "Countess"})
	s := f.run(ctx)
	if s.Counts.Created != 0 || s.Counts.Failed != 0 {
		t.Fatalf("cycle: %+v", s.Counts)
	}
	users := f.tg.users(t)
	ada := users["ada@example.com"]
	if len(users) != 1 || ada["displayName"] != "Ada Lovelace" || ada["title"] != "Countess" || ada["nickName"] != nil {
		t.Errorf("ada after matching: %v (of %d users)", ada, len(users))
	}
	// A new user gets the create-only values and the default.
	f.write(rows + "2,alan@example.com,Alan,Turing,,alan@example.com,Math,,true,\n")
	f.run(ctx)
	alan := f.tg.users(t)["alan@example.com"]
	if alan["displayName"] != "Alan Turing" || alan["title"] != "Staff" || alan["nickName"] != "new hire" {
		t.Errorf("alan created: %v", alan)
	}
}
