package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// amparoBinary builds the amparo binary once per test process.
func amparoBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "amparo-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "amparo")
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binPath, ".")
		binOut, binErr = build.CombinedOutput()
	})
	if binErr != nil {
		tb.Fatalf("go build: %v\n%s", binErr, binOut)
	}
	return binPath
}

// proc is `amparo serve` running as a child process.
type proc struct {
	url string
	cmd *exec.Cmd
}

// serveProcess runs `amparo serve` with env (AMPARO_LISTEN defaults to a
// free port) and returns once it listens; it is stopped when the test ends.
// Its log lines go to the test's log, prefixed with name.
func serveProcess(tb testing.TB, name string, env map[string]string) *proc {
	tb.Helper()
	cmd := exec.Command(amparoBinary(tb), "serve")
	cmd.Env = os.Environ()
	if env["AMPARO_LISTEN"] == "" {
		cmd.Env = append(cmd.Env, "AMPARO_LISTEN=127.0.0.1:0")
	}
	cmd.Env = append(cmd.Env, "AMPARO_LOG_LEVEL=info") // for the "serving" line with the address
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &proc{cmd: cmd}
	exited := make(chan struct{})
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			var line struct {
				Msg   string `json:"msg"`
				Level string `json:"level"`
				Addr  string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" && !sent {
				addr <- line.Addr
				sent = true
				continue
			}
			if testing.Verbose() && line.Level != "INFO" {
				tb.Logf("%s: %s", name, sc.Text())
			}
		}
		if !sent {
			close(addr)
		}
		_ = cmd.Wait()
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(time.Minute):
	}
	if a == "" {
		tb.Fatalf("%s: amparo serve did not report its address", name)
	}
	p.url = "http://" + a
	return p
}

// kill ends the process at once, as a crash or a lost machine would.
func (p *proc) kill(tb testing.TB) {
	tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
}
