package pgtest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of the test database, for tests of what
// Roster does when the database goes away and comes back. Stop closes the
// listener and every connection through it, the way a database restart or
// a network partition looks to the client; Start listens again on the same
// address, so a pool configured with the proxy's URL finds it there.
type Proxy struct {
	tb     testing.TB
	target string // host:port of the database
	addr   string // host:port the proxy listens on

	mu    sync.Mutex
	ln    net.Listener // nil while stopped
	conns map[net.Conn]struct{}
}

// NewProxy starts a proxy to the database of the connection URL u (as URL
// returns it) and returns it with u rewritten to connect through it. The
// proxy stops when the test ends.
func NewProxy(tb testing.TB, u string) (*Proxy, string) {
	tb.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("pgtest.NewProxy: %v", err)
	}
	p := &Proxy{tb: tb, target: pu.Host, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.Start()
	tb.Cleanup(p.Stop)
	pu.Host = p.addr
	return p, pu.String()
}

// Start listens on the proxy's address again after Stop; it does nothing
// while the proxy runs.
func (p *Proxy) Start() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.tb.Fatalf("pgtest.Proxy: listen on %s: %v", p.addr, err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	go p.accept(ln)
}

// Stop closes the listener, so that new connections are refused, and every
// open connection through the proxy, so that queries on them fail.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) accept(ln net.Listener) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return // Stop closed the listener
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(ln, client, server) {
			continue
		}
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

// track registers a connection pair, unless Stop ran since ln accepted it,
// in which case it closes both and reports false.
func (p *Proxy) track(ln net.Listener, conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies one direction; when either side ends, both are closed, as a
// TCP connection through a real network would be.
func (p *Proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range []net.Conn{dst, src} {
		c.Close()
		delete(p.conns, c)
	}
}
