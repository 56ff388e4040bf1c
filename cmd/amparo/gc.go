package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// serverGCPercent is the collector's target growth when the operator has
// not set GOGC: the heap may grow to five times what is live before the
// next collection, where Go's default is twice.
//
// Why: Amparo's live heap is small (tens of MiB: caches, pools, the
// per-replica principals), while a page of 50 cases allocates about 1 MB
// of short-lived objects (gqlgen's field contexts above all). At Go's
// default the collector ran every dozen pages and took a fifth of a page's
// CPU; at 400 it takes about a third less CPU per page (README, "At the
// size of a country"), for a heap bounded at five times the live one, and
// by gcMemoryShare of the container's memory when it has a limit.
const serverGCPercent = 400

// gcMemoryShare is the share of a container's memory limit (cgroup v2
// memory.max) given to Go as its soft limit when GOMEMLIMIT is not set:
// the collector works harder as the heap nears it, instead of the
// container being killed, and the rest is left to the stacks, the page
// cache of evidence streams and the runtime's own.
const gcMemoryShare = 0.8

// gcSettings is what tuneGC chose, for the start-up log.
type gcSettings struct {
	Percent     int   // -1: left as GOGC says
	MemoryLimit int64 // 0: none set here
}

// tuneGC sets the collector for a server, leaving alone what the operator
// set through GOGC or GOMEMLIMIT (the runtime has read them already).
// cgroupMax is the content of the container's memory.max, "" if none.
func tuneGC(getenv func(string) string, cgroupMax string) gcSettings {
	s := gcSettings{Percent: -1}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
		s.Percent = serverGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		if max, err := strconv.ParseInt(strings.TrimSpace(cgroupMax), 10, 64); err == nil && max > 0 {
			s.MemoryLimit = int64(float64(max) * gcMemoryShare)
			debug.SetMemoryLimit(s.MemoryLimit)
		}
	}
	return s
}

// cgroupMemoryMax is this process's cgroup v2 memory limit, "" where there
// is none ("max") or no cgroup v2.
func cgroupMemoryMax() string {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil || strings.TrimSpace(string(b)) == "max" {
		return ""
	}
	return string(b)
}
