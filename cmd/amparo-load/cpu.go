package main

// What the server and PostgreSQL spend of the CPU during a run, read from
// /proc, so that the README's CPU per operation comes from the load tool
// itself and anyone can measure it again (--cpu). Both must run on this
// machine, as every load here does (127.0.0.1): each is found by the port
// it listens on.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// is 100 on every Linux architecture.
const userHZ = 100

// cpuTarget is a process tree whose CPU a run measures.
type cpuTarget struct {
	name     string
	pid      int
	children bool // count the processes it started too (PostgreSQL's backends)
}

// cpuTargets finds the server listening at serverURL's port (its own CPU:
// `amparo dev` starts PostgreSQL and MinIO as its children, which are not
// Amparo's) and, if dbURL names a local port, the PostgreSQL postmaster
// listening there with its backends. Itself, the load tool, is measured too:
// it shares the machine.
func cpuTargets(serverURL, dbURL string) ([]cpuTarget, error) {
	if err := localOnly(serverURL); err != nil {
		return nil, err
	}
	port, err := portOf(serverURL)
	if err != nil {
		return nil, fmt.Errorf("--cpu: the server's port: %w", err)
	}
	pid, err := listener(port)
	if err != nil {
		return nil, fmt.Errorf("--cpu: the server: %w", err)
	}
	out := []cpuTarget{{name: "amparo", pid: pid}, {name: "load", pid: os.Getpid()}}
	if dbURL == "" {
		return out, nil
	}
	if err := localOnly(dbURL); err != nil {
		return nil, err
	}
	port, err = portOf(dbURL)
	if err != nil {
		return nil, fmt.Errorf("--cpu: PostgreSQL's port (AMPARO_DATABASE_URL): %w", err)
	}
	if pid, err = listener(port); err != nil {
		return nil, fmt.Errorf("--cpu: PostgreSQL: %w", err)
	}
	return append(out, cpuTarget{name: "postgres", pid: pid, children: true}), nil
}

// portOf is the port of a URL (http://host:port/..., postgres://...).
func portOf(raw string) (int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, err
	}
	p := u.Port()
	if p == "" {
		switch u.Scheme {
		case "http":
			p = "80"
		case "postgres", "postgresql":
			p = "5432"
		default:
			return 0, fmt.Errorf("no port in %s", u.Redacted())
		}
	}
	return strconv.Atoi(p)
}

// listener is the process listening on TCP port: the socket's inode in
// /proc/net/tcp{,6}, then the process holding a descriptor of it.
func listener(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := listening(f, port, inodes); err != nil {
			return 0, err
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d here", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd")
	for _, dir := range procs {
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // another user's, or gone
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				return strconv.Atoi(filepath.Base(filepath.Dir(dir)))
			}
		}
	}
	return 0, fmt.Errorf("the process listening on port %d is not readable here", port)
}

// listening adds to inodes the sockets of table (/proc/net/tcp's format)
// that listen on port.
func listening(table string, port int, inodes map[string]bool) error {
	f, err := os.Open(table)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no IPv6
	}
	if err != nil {
		return err
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || !strings.HasSuffix(fields[1], want) || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		inodes[fields[9]] = true
	}
	return sc.Err()
}

// cpuTicks is what target has spent so far, in USER_HZ ticks: its own user
// and system time with that of its reaped children, plus, with children,
// that of the children still running. A child that exits between two
// readings moves its time into its parent's, so the difference of two
// readings is what the tree spent between them.
func cpuTicks(t cpuTarget) (int64, error) {
	_, total, err := procStat(t.pid)
	if err != nil || !t.children {
		return total, err
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || pid == t.pid {
			continue
		}
		ppid, ticks, err := procStat(pid)
		if err == nil && ppid == t.pid {
			total += ticks
		}
	}
	return total, nil
}

// procStat reads /proc/<pid>/stat: the parent's pid, and utime + stime +
// cutime + cstime.
func procStat(pid int) (ppid int, ticks int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after its last ')', with the state (field 3 of proc(5)) first.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	for _, v := range f[11:15] { // utime stime cutime cstime: fields 14–17
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		ticks += n
	}
	return ppid, ticks, nil
}

// cpuMeter measures targets between start and stop.
type cpuMeter struct {
	targets []cpuTarget
	start   []int64
}

func startCPU(targets []cpuTarget) (*cpuMeter, error) {
	m := &cpuMeter{targets: targets}
	for _, t := range targets {
		n, err := cpuTicks(t)
		if err != nil {
			return nil, fmt.Errorf("--cpu: %s (pid %d): %w", t.name, t.pid, err)
		}
		m.start = append(m.start, n)
	}
	return m, nil
}

// perOp is each target's CPU since start, in milliseconds per operation of
// ops.
func (m *cpuMeter) perOp(ops int) (map[string]float64, error) {
	out := make(map[string]float64, len(m.targets))
	for i, t := range m.targets {
		n, err := cpuTicks(t)
		if err != nil {
			return nil, fmt.Errorf("--cpu: %s (pid %d): %w", t.name, t.pid, err)
		}
		out[t.name] = float64(n-m.start[i]) * 1000 / userHZ / float64(max(ops, 1))
	}
	return out, nil
}

// localOnly refuses a host other than this machine's: --cpu reads /proc.
func localOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--cpu measures processes of this machine, and %s is not", h)
}
