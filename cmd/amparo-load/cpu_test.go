package main

import (
	"crypto/sha256"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestListener: the process listening on a port is found by it, over IPv4
// and IPv6, and a port nobody listens on is an error.
func TestListener(t *testing.T) {
	for network, addr := range map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"} {
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		pid, err := listener(port)
		if err != nil || pid != os.Getpid() {
			t.Errorf("%s: listener(%d) = %d, %v; want %d", network, port, pid, err, os.Getpid())
		}
		l.Close()
		if pid, err := listener(port); err == nil {
			t.Errorf("%s: closed port %d still found, pid %d", network, port, pid)
		}
	}
}

// TestCPUTicks: CPU spent shows in a process's reading, and with children,
// in its children's too, also once they have exited.
func TestCPUTicks(t *testing.T) {
	self := cpuTarget{name: "test", pid: os.Getpid(), children: true}
	before, err := cpuTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	burn(300 * time.Millisecond)
	mid, err := cpuTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	if mid-before < 10 { // 0.1 s of 0.3 s burnt
		t.Errorf("burning 300 ms of CPU moved the reading by %d ticks", mid-before)
	}
	// A child that burns CPU and exits: reaped, its time is its parent's.
	cmd := exec.Command(os.Args[0], "-test.run=^TestBurnHelper$")
	cmd.Env = append(os.Environ(), "AMPARO_LOAD_BURN=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	after, err := cpuTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	if after-mid < 10 {
		t.Errorf("a child that burnt 300 ms moved its parent's reading by %d ticks", after-mid)
	}
}

// TestBurnHelper burns CPU when run by TestCPUTicks as its child.
func TestBurnHelper(t *testing.T) {
	if os.Getenv("AMPARO_LOAD_BURN") == "" {
		t.Skip("run by TestCPUTicks")
	}
	burn(300 * time.Millisecond)
}

// burnt keeps burn's work from being optimized away.
var burnt [32]byte

func burn(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		burnt = sha256.Sum256(burnt[:])
	}
}

func TestPortOf(t *testing.T) {
	for raw, want := range map[string]int{
		"http://127.0.0.1:8091/graphql":                     8091,
		"http://localhost/graphql":                          80,
		"postgres://amparo:secret@127.0.0.1:54321/amparo?x": 54321,
		"postgres://amparo@localhost/amparo":                5432,
	} {
		if got, err := portOf(raw); err != nil || got != want {
			t.Errorf("portOf(%q) = %d, %v; want %d", raw, got, err, want)
		}
	}
	if err := localOnly("http://10.0.0.8:8080/graphql"); err == nil {
		t.Error("a remote server was accepted for --cpu")
	}
}
