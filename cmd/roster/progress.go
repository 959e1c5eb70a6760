package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roster-scim/roster/provision"
)

// progress shows a running cycle: a bar redrawn in place on a terminal,
// plain lines every few seconds otherwise (logs, CI), so that a long
// initial cycle is never silent.
type progress struct {
	w        io.Writer
	terminal bool
	start    time.Time
	every    time.Duration

	mu    sync.Mutex
	last  time.Time
	p     provision.Progress
	drawn bool
}

func newProgress(w io.Writer) *progress {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	every := 5 * time.Second
	if terminal {
		every = 200 * time.Millisecond
	}
	return &progress{w: w, terminal: terminal, start: time.Now(), every: every}
}

// update is the engine's Progress callback.
func (p *progress) update(pr provision.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p = pr
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	pr := p.p
	elapsed := time.Since(p.start)
	rate := float64(pr.Done) / max(elapsed.Seconds(), 0.001)
	line := fmt.Sprintf("%s %d", pr.Phase, pr.Done)
	if pr.Total > 0 {
		line += fmt.Sprintf("/%d", pr.Total)
	}
	line += fmt.Sprintf(" objects  %.0f/s  failed %d", rate, pr.Counts.Failed)
	if pr.Total > pr.Done && rate > 0 {
		left := time.Duration(float64(pr.Total-pr.Done) / rate * float64(time.Second))
		line += "  ~" + left.Round(time.Second).String() + " left"
	}
	if !p.terminal {
		fmt.Fprintln(p.w, line)
		return
	}
	bar := ""
	if pr.Total > 0 {
		const width = 30
		n := min(width, pr.Done*width/pr.Total)
		bar = "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] "
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", bar, line)
	p.drawn = true
}

// finish ends the bar's line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
