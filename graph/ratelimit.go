package graph

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter admits events at a rate per client address and at a rate for all
// clients together (golang.org/x/time/rate token buckets). Addresses idle
// for longer than it takes their bucket to refill are forgotten.
type Limiter struct {
	perClient rate.Limit
	burst     int
	global    *rate.Limiter

	mu      sync.Mutex
	clients map[string]*clientBucket
	swept   time.Time
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter admits perMinute events a minute from each client address
// (bursts of up to burst) and perSecond events a second in all.
func NewLimiter(perMinute, burst int, perSecond int) *Limiter {
	return &Limiter{
		perClient: rate.Limit(float64(perMinute) / 60),
		burst:     max(burst, 1),
		global:    rate.NewLimiter(rate.Limit(perSecond), max(perSecond, 1)),
		clients:   map[string]*clientBucket{},
	}
}

// allow reports whether one more event from addr is admitted now.
func (l *Limiter) allow(addr string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		idle := time.Duration(float64(l.burst)/float64(l.perClient)*float64(time.Second)) + time.Minute
		for a, b := range l.clients {
			if now.Sub(b.seen) > idle {
				delete(l.clients, a)
			}
		}
		l.swept = now
	}
	b, ok := l.clients[addr]
	if !ok {
		b = &clientBucket{lim: rate.NewLimiter(l.perClient, l.burst)}
		l.clients[addr] = b
	}
	b.seen = now
	// The client's bucket first: a client over its own rate does not use up
	// the global one.
	if !b.lim.AllowN(now, 1) {
		return false
	}
	return l.global.AllowN(now, 1)
}
