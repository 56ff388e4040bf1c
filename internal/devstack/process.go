package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts shared by both servers.
const (
	readyTimeout = 30 * time.Second // from start until the server answers
	stopTimeout  = 10 * time.Second // from the polite signal until SIGKILL
	startTries   = 3                // attempts when a picked port was taken meanwhile
	logTailBytes = 4096             // how much of the log an error quotes
	maxLogBytes  = 64 << 20         // when a log is set aside at start
)

// child is one running server process and what is needed to stop it once.
type child struct {
	name     string
	cmd      *exec.Cmd
	logPath  string
	logStart int64         // offset in the log where this run's output begins
	done     chan struct{} // closed when the process has exited
	waitErr  error         // the result of cmd.Wait, valid once done is closed
	stopSig  syscall.Signal

	stopOnce sync.Once
	stopErr  error
}

// startChild starts cmd with its output appended to logPath. The caller
// sets cmd.SysProcAttr. stopSig is the signal that asks the server to shut
// down cleanly.
func startChild(name string, cmd *exec.Cmd, logPath string, stopSig syscall.Signal) (*child, error) {
	// The log outlives runs, for the sake of whoever debugs one; keep one
	// previous generation once it grows large rather than let it grow on.
	if fi, err := os.Stat(logPath); err == nil && fi.Size() > maxLogBytes {
		_ = os.Rename(logPath, logPath+".old")
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("devstack: %s log: %w", name, err)
	}
	// The child writes to the file itself; our copy of the descriptor is
	// only needed until it has been inherited.
	defer f.Close()
	// This run's output, header included, starts at the current end.
	start, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("devstack: %s log: %w", name, err)
	}
	fmt.Fprintf(f, "\n=== devstack: %s %s starting: %s\n", time.Now().Format(time.RFC3339), name, strings.Join(cmd.Args, " "))
	cmd.Stdin = nil
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devstack: start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, logStart: start, done: make(chan struct{}), stopSig: stopSig}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// tail returns the end of what this run wrote to its log, for error
// messages: the server's own words are usually the diagnosis.
func (c *child) tail() string {
	return logTail(c.logPath, c.logStart)
}

// earlyExitError describes a server that ended before it became ready.
func (c *child) earlyExitError() error {
	return fmt.Errorf("devstack: %s exited during start-up (%v); end of %s:\n%s", c.name, c.waitErr, c.logPath, c.tail())
}

// stop asks the process to shut down, waits up to stopTimeout, then kills
// it. Only the first call acts; later calls return its result.
func (c *child) stop() error {
	c.stopOnce.Do(func() {
		if c.exited() {
			if c.waitErr != nil {
				c.stopErr = fmt.Errorf("devstack: %s had already exited: %w", c.name, c.waitErr)
			}
			return
		}
		if err := c.cmd.Process.Signal(c.stopSig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			c.stopErr = fmt.Errorf("devstack: signal %s: %w", c.name, err)
		}
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-c.done:
			if c.waitErr != nil && c.stopErr == nil {
				c.stopErr = fmt.Errorf("devstack: %s exited with %w", c.name, c.waitErr)
			}
		case <-timer.C:
			_ = c.cmd.Process.Kill()
			<-c.done
			c.stopErr = fmt.Errorf("devstack: %s did not stop within %s and was killed", c.name, stopTimeout)
		}
	})
	return c.stopErr
}

// logTail returns at most logTailBytes from the end of path, starting no
// earlier than offset from.
func logTail(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	start := max(from, fi.Size()-logTailBytes)
	b := make([]byte, fi.Size()-start)
	n, _ := f.ReadAt(b, start)
	return strings.TrimSpace(string(b[:n]))
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// Another process may take one before the server binds it; callers retry
// when that happens.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		// Keep each listener open until all are picked, so the kernel
		// does not hand out the same port twice.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("devstack: pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeFileAtomic replaces path with data, so that a crash never leaves a
// half-written secret behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// randomSecret returns a random string of 26 letters and digits (130 bits),
// safe in URLs, environment variables and SQL literals alike.
func randomSecret() string {
	return rand.Text()
}

// environWithout returns os.Environ without the variables whose names
// start with one of prefixes, so the caller's settings (PGPORT, MINIO_*)
// cannot change the servers we configure on the command line.
func environWithout(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// orDiscard returns log, or a logger that drops everything if log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// waitReady polls probe until it succeeds, the process exits, readyTimeout
// passes or ctx ends. Each probe gets a short deadline of its own so a
// server that accepts connections but hangs cannot eat the whole budget.
func (c *child) waitReady(ctx context.Context, probe func(context.Context) error) error {
	tctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, pcancel := context.WithTimeout(tctx, 2*time.Second)
		last := probe(pctx)
		pcancel()
		if last == nil {
			if c.exited() { // someone else answered on our port
				return c.earlyExitError()
			}
			return nil
		}
		select {
		case <-c.done:
			return c.earlyExitError()
		case <-tctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("devstack: waiting for %s: %w", c.name, ctx.Err())
			}
			return fmt.Errorf("devstack: %s not ready after %s (last attempt: %v); end of %s:\n%s",
				c.name, readyTimeout, last, c.logPath, c.tail())
		case <-tick.C:
		}
	}
}

// lostPortRace reports whether the process failed because the port picked
// for it was taken in the meantime, in which case a retry on another port
// will do.
func (c *child) lostPortRace() bool {
	return c.exited() && strings.Contains(strings.ToLower(c.tail()), "already in use")
}

// checkExecutable returns nil if path is a regular file someone may execute.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
