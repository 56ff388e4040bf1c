package devstack

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// Restart back-off: the first restart comes quickly, a server that keeps
// dying is retried less and less often, and one that ran for a while
// before it died starts over at the short delay.
const (
	restartFirst  = 100 * time.Millisecond
	restartMax    = 10 * time.Second
	restartReset  = time.Minute // a run this long resets the back-off
	restartStopWt = stopTimeout // how long Stop waits for a restart in progress
)

// keeper keeps a server running: when its process exits without having
// been asked to (killed, crashed, out of memory), the keeper starts it
// again with the same configuration, on the same port, so that clients
// that reconnect find it where it was.
type keeper struct {
	name    string
	log     *slog.Logger
	restart func(ctx context.Context) (*child, error)

	mu  sync.Mutex
	cur *child

	quit chan struct{} // closed by stop
	done chan struct{} // closed when the watching goroutine has returned

	stopOnce sync.Once
	stopErr  error
}

// keep watches c and restarts it with restart whenever it exits on its
// own. restart must start the server again and return once it is ready;
// its context is cancelled when the keeper is stopped.
func keep(name string, c *child, log *slog.Logger, restart func(ctx context.Context) (*child, error)) *keeper {
	k := &keeper{name: name, log: orDiscard(log), restart: restart, cur: c,
		quit: make(chan struct{}), done: make(chan struct{})}
	go k.watch()
	return k
}

// current returns the process running now (or the last one, if it has
// just died and not been restarted yet).
func (k *keeper) current() *child {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

func (k *keeper) watch() {
	defer close(k.done)
	wait := restartFirst
	for {
		c := k.current()
		started := time.Now()
		select {
		case <-k.quit:
			return
		case <-c.done:
		}
		if time.Since(started) > restartReset {
			wait = restartFirst
		}
		k.log.Warn(k.name+" exited unexpectedly; restarting it", "err", c.waitErr, "log", c.logPath)
		if !k.bringBack(&wait) {
			return
		}
	}
}

// bringBack restarts the server, retrying with a growing wait, until it
// runs (true) or the keeper is stopped (false).
func (k *keeper) bringBack(wait *time.Duration) bool {
	for {
		select {
		case <-k.quit:
			return false
		case <-time.After(*wait):
		}
		*wait = min(*wait*2, restartMax)
		nc, err := k.restartOnce()
		switch {
		case err != nil:
			k.log.Warn(k.name+" restart failed; trying again", "err", err, "retry_in", wait.String())
		case nc == nil:
			return false
		default:
			k.log.Info(k.name + " restarted")
			return true
		}
	}
}

// restartOnce starts the server again. It returns nil, nil when the keeper
// was stopped before the server was ready: then nothing is left running
// (or what runs is current, for stop to end).
func (k *keeper) restartOnce() (*child, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-k.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	nc, err := k.restart(ctx)
	select {
	case <-k.quit:
		err = nil
	default:
	}
	if nc == nil || err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.cur = nc
	k.mu.Unlock()
	return nc, nil
}

// stop ends the watching, then stops the server. Only the first call acts;
// later calls return its result.
func (k *keeper) stop() error {
	k.stopOnce.Do(func() {
		close(k.quit)
		select {
		case <-k.done:
		case <-time.After(restartStopWt + readyTimeout):
		}
		k.stopErr = k.current().stop()
	})
	return k.stopErr
}

// crash ends the watching, then kills the server with SIGKILL and waits for
// it to be gone.
func (k *keeper) crash() error {
	var err error
	k.stopOnce.Do(func() {
		close(k.quit)
		<-k.done
		c := k.current()
		if e := c.cmd.Process.Signal(syscall.SIGKILL); e != nil && !errors.Is(e, os.ErrProcessDone) {
			err = e
		}
		<-c.done
		k.stopErr = errors.New("devstack: " + k.name + " was crashed on purpose")
	})
	return err
}
