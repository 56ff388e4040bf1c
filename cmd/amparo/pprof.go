package main

import (
	"net"
	"net/http"
	"net/http/pprof"
)

// profiling is /debug/pprof, for a listener of its own (AMPARO_PPROF_LISTEN;
// `amparo dev` opens one on loopback): profiles show where the server spends
// its time and memory, and goroutine dumps what it is waiting on, which is
// the operators' business and nobody else's, so it is never on the public
// listener. net/http/pprof also registers itself on http.DefaultServeMux,
// which no listener of Amparo serves.
func profiling() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, mutex, ...
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return m
}

// loopback tells whether addr (host:port) listens on a loopback address
// only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
