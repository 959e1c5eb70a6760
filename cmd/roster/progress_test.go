package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster/provision"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf) // a buffer is not a terminal: plain lines
	if p.terminal {
		t.Fatal("a buffer taken for a terminal")
	}
	p.update(provision.Progress{Phase: "users", Done: 50, Total: 200, Counts: provision.Counts{Failed: 2}})
	p.update(provision.Progress{Phase: "users", Done: 60, Total: 200}) // within the interval: not printed
	p.finish()
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "users 50/200 objects") || !strings.Contains(out, "failed 2") || !strings.Contains(out, "left") {
		t.Errorf("plain progress: %q", out)
	}

	buf.Reset()
	p = &progress{w: &buf, terminal: true, start: time.Now().Add(-time.Second), every: 0}
	p.update(provision.Progress{Phase: "users", Done: 100, Total: 200})
	p.update(provision.Progress{Phase: "groups", Done: 200, Total: 200})
	p.finish()
	out = buf.String()
	if !strings.Contains(out, "\r\033[K[###############...............] users 100/200") || !strings.HasSuffix(out, "\n") ||
		!strings.Contains(out, "[##############################] groups 200/200") {
		t.Errorf("terminal progress: %q", out)
	}
}
