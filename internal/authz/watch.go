package authz

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// channel is the PostgreSQL notification channel of authorization changes.
const channel = "amparo_authz"

// Notify tells every replica, once tx commits, that grants or rules
// changed. PostgreSQL delivers notifications at commit and drops them on
// rollback, so a refused change never triggers a reload.
func Notify(ctx context.Context, tx sqlx.ExecerContext) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, channel); err != nil {
		return fmt.Errorf("authz: notify: %w", err)
	}
	return nil
}

// Watch reloads the authorizer whenever a notification arrives, whenever the
// listening connection is re-established (notifications sent while it was
// down are lost), and every backstop interval regardless. It returns when
// ctx ends.
func (a *Authorizer) Watch(ctx context.Context, dbURL string, backstop time.Duration, log *slog.Logger) {
	events := make(chan pq.ListenerEventType, 4)
	l := pq.NewListener(dbURL, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			log.Warn("authz listener", "event", ev, "err", err)
		}
		select {
		case events <- ev:
		default:
		}
	})
	defer l.Close()
	defer a.setListening(false)
	reload := func(why string) {
		if err := a.Reload(); err != nil {
			log.Error("authz reload failed", "why", why, "err", err)
		}
	}
	if err := l.Listen(channel); err != nil {
		log.Error("authz listener: listen", "err", err)
	} else {
		// From now on every change is heard; reload once so that nothing
		// changed before the first LISTEN is missed.
		a.setListening(true)
		reload("listening")
	}
	tick := time.NewTicker(backstop)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.Notify:
			reload("notify")
		case ev := <-events:
			switch ev {
			case pq.ListenerEventReconnected:
				a.setListening(true)
				reload("reconnected")
			case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
				a.setListening(false)
			}
		case <-tick.C:
			reload("backstop")
		}
	}
}
