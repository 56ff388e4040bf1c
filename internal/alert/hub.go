package alert

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/postgres"
)

// Observer hears what a Hub does, for metrics.
type Observer interface {
	// Delivered: an alert of kind was pushed to a subscription, lag after
	// it was raised.
	Delivered(kind Kind, lag time.Duration)
	// CaughtUp: alerts were read back from the table after notifications
	// may have been missed.
	CaughtUp(n int)
}

// HubConfig bounds a Hub.
type HubConfig struct {
	// PerUser caps a user's open subscriptions, and their open connections,
	// on this replica (5).
	PerUser int
	// PerReplica caps the subscriptions, and the connections, of this
	// replica (2,000).
	PerReplica int
	// Backstop is how often the Hub reads back recent alerts and checks
	// that connected users are still enabled, whatever it heard (30 s).
	Backstop time.Duration
	// CommitMargin is how long a transaction may run between raising an
	// alert and committing it: reading back after an outage starts this
	// long before it (1 min).
	CommitMargin time.Duration
}

// Hub pushes committed alerts to this replica's open subscriptions. It
// listens on one PostgreSQL connection (channel amparo_alerts, and the
// authorization changes channel to cut off disabled users), and reads back
// from the table whenever it may have missed notifications: after its
// connection was re-established, and every Backstop. A subscription never
// receives an alert twice.
type Hub struct {
	db    *sqlx.DB
	dbURL string
	log   *slog.Logger
	obs   Observer
	cfg   HubConfig

	mu       sync.Mutex
	subs     map[uuid.UUID]map[*sub]struct{} // by recipient
	nsubs    int
	sessions map[uuid.UUID]map[*session]struct{}
	nsess    int
	stopped  bool
	lostAt   time.Time // since when the listener is down; zero while up
	ready    chan struct{}
}

type sub struct {
	ch        chan *Alert
	since     time.Time
	delivered map[uuid.UUID]time.Time // alert id → its time, to never push twice
}

type session struct{ cancel context.CancelCauseFunc }

// subBuffer is how many alerts wait for a slow subscriber before its
// subscription is closed (it then reads its inbox).
const subBuffer = 64

// NewHub returns a Hub over db, listening through its own connection to
// dbURL. Run it.
func NewHub(db *sqlx.DB, dbURL string, log *slog.Logger, obs Observer, cfg HubConfig) *Hub {
	if cfg.PerUser <= 0 {
		cfg.PerUser = 5
	}
	if cfg.PerReplica <= 0 {
		cfg.PerReplica = 2000
	}
	if cfg.Backstop <= 0 {
		cfg.Backstop = 30 * time.Second
	}
	if cfg.CommitMargin <= 0 {
		cfg.CommitMargin = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{db: db, dbURL: dbURL, log: log, obs: obs, cfg: cfg,
		subs: map[uuid.UUID]map[*sub]struct{}{}, sessions: map[uuid.UUID]map[*session]struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the Hub listens.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Subscribers is the number of open subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nsubs
}

// Connections is the number of open sessions (websocket connections).
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nsess
}

// ErrDisabled ends the sessions of a user who was disabled.
var ErrDisabled = apperr.New(apperr.Unauthenticated, "usuario deshabilitado", "user disabled")

// errStopped ends sessions when the Hub stops.
var errStopped = apperr.New(apperr.Unavailable, "el servidor se detiene", "the server is stopping")

func tooMany(what string) error {
	return apperr.New(apperr.RateLimited, "demasiadas "+what+" abiertas", "too many open "+what)
}

// Session registers a connection of user: the context it returns ends, with
// ErrDisabled as its cause, within a second of the user being disabled, and
// when the Hub stops. release ends it.
//
// Errors: RATE_LIMITED over the caps; UNAVAILABLE once the Hub stopped.
func (h *Hub) Session(ctx context.Context, user uuid.UUID) (context.Context, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, nil, errStopped
	}
	if h.nsess >= h.cfg.PerReplica || len(h.sessions[user]) >= h.cfg.PerUser {
		return nil, nil, tooMany("conexiones")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	s := &session{cancel: cancel}
	if h.sessions[user] == nil {
		h.sessions[user] = map[*session]struct{}{}
	}
	h.sessions[user][s] = struct{}{}
	h.nsess++
	var once sync.Once
	release := func() {
		once.Do(func() {
			cancel(nil)
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.sessions[user], s)
			if len(h.sessions[user]) == 0 {
				delete(h.sessions, user)
			}
			h.nsess--
		})
	}
	context.AfterFunc(ctx, release)
	return ctx, release, nil
}

// subscribe opens a subscription of user until ctx ends, when its channel
// closes. The channel also closes when the subscriber falls subBuffer alerts
// behind.
//
// It registers before it reads the inbox, so that an alert committed while
// it opens is heard or read, never neither: a client reads the inbox and
// subscribes at about the same time, and an alert committed between the two
// would otherwise reach it only when it read the inbox again. Of the alerts
// raised in the CommitMargin before it opened, the newest unread ones (up to
// maxReplay) are pushed at once, and the rest count as delivered so that no
// later read back pushes them. A client merges what it is pushed with its
// inbox by id.
//
// Errors: RATE_LIMITED over the caps; UNAVAILABLE once the Hub stopped.
func (h *Hub) subscribe(ctx context.Context, user uuid.UUID) (<-chan *Alert, error) {
	since := time.Now()
	s := &sub{ch: make(chan *Alert, subBuffer), since: since, delivered: map[uuid.UUID]time.Time{}}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil, errStopped
	}
	if h.nsubs >= h.cfg.PerReplica || len(h.subs[user]) >= h.cfg.PerUser {
		h.mu.Unlock()
		return nil, tooMany("suscripciones")
	}
	if h.subs[user] == nil {
		h.subs[user] = map[*sub]struct{}{}
	}
	h.subs[user][s] = struct{}{}
	h.nsubs++
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.drop(user, s)
	})

	var recent []*Alert
	if err := sqlx.SelectContext(ctx, h.db, &recent, `SELECT`+columns+` FROM alerts a
WHERE a.recipient_id = $1 AND a.at >= $2 ORDER BY a.at DESC, a.id DESC`, user, since.Add(-h.cfg.CommitMargin)); err != nil {
		h.mu.Lock()
		h.drop(user, s)
		h.mu.Unlock()
		return nil, postgres.MapError(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, open := h.subs[user][s]; !open { // ended meanwhile: its channel is closed
		return s.ch, nil
	}
	replay := make([]*Alert, 0, maxReplay)
	for _, a := range recent {
		if _, had := s.delivered[a.ID]; had {
			continue
		}
		if a.ReadAt == nil && len(replay) < maxReplay {
			replay = append(replay, a)
			continue
		}
		s.delivered[a.ID] = a.At
	}
	for i := len(replay) - 1; i >= 0; i-- { // oldest first, as they were raised
		h.push(s, replay[i], time.Now())
	}
	return s.ch, nil
}

// maxReplay is how many recent unread alerts a new subscription is pushed:
// well under subBuffer, so that the replay never closes it.
const maxReplay = subBuffer / 4

// drop removes s and closes its channel, once; the caller holds h.mu.
func (h *Hub) drop(user uuid.UUID, s *sub) {
	if _, ok := h.subs[user][s]; !ok {
		return
	}
	delete(h.subs[user], s)
	if len(h.subs[user]) == 0 {
		delete(h.subs, user)
	}
	h.nsubs--
	close(s.ch)
}

// Run listens until ctx ends, then closes every session and subscription.
func (h *Hub) Run(ctx context.Context) {
	events := make(chan pq.ListenerEventType, 8)
	l := pq.NewListener(listenerURL(h.dbURL), 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			h.log.Warn("alert listener", "event", ev, "err", err)
		}
		if ev == pq.ListenerEventDisconnected || ev == pq.ListenerEventConnectionAttemptFailed {
			h.mu.Lock()
			if h.lostAt.IsZero() {
				h.lostAt = time.Now()
			}
			h.mu.Unlock()
		}
		select {
		case events <- ev:
		default:
		}
	})
	defer h.stop(l)
	for _, ch := range []string{channel, authz.ChangesChannel} {
		if err := l.Listen(ch); err != nil {
			h.log.Error("alert listener: listen", "channel", ch, "err", err)
		}
	}
	close(h.ready)
	tick := time.NewTicker(h.cfg.Backstop)
	defer tick.Stop()
	lastBackstop := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-l.Notify:
			if n == nil { // re-established: what was sent meanwhile is lost
				h.recover(ctx)
				continue
			}
			if n.Channel == authz.ChangesChannel {
				h.checkSessions(ctx)
				continue
			}
			h.pushNotified(ctx, n, l.Notify)
		case ev := <-events:
			if ev == pq.ListenerEventReconnected {
				h.recover(ctx)
			}
		case <-tick.C:
			from := lastBackstop.Add(-h.cfg.CommitMargin)
			lastBackstop = time.Now()
			h.catchUp(ctx, from)
			h.checkSessions(ctx)
			h.prune()
		}
	}
}

// stop closes the listener, every subscription and every session.
func (h *Hub) stop(l *pq.Listener) {
	_ = l.Close()
	h.mu.Lock()
	h.stopped = true
	for user, set := range h.subs {
		for s := range set {
			h.drop(user, s)
		}
	}
	var cancels []context.CancelCauseFunc
	for _, set := range h.sessions {
		for s := range set {
			cancels = append(cancels, s.cancel)
		}
	}
	h.mu.Unlock()
	for _, c := range cancels {
		c(errStopped)
	}
}

// recover reads back what was raised while the listener was down, and
// checks the sessions it could not hear about.
func (h *Hub) recover(ctx context.Context) {
	h.mu.Lock()
	lost := h.lostAt
	h.lostAt = time.Time{}
	h.mu.Unlock()
	if lost.IsZero() {
		lost = time.Now()
	}
	h.catchUp(ctx, lost.Add(-h.cfg.CommitMargin))
	h.checkSessions(ctx)
}

// maxPushBatch is how many notifications one read of the table serves.
const maxPushBatch = 200

// pushNotified pushes the alert of n, and of the notifications already
// waiting behind it, to their recipients' subscriptions here.
func (h *Hub) pushNotified(ctx context.Context, n *pq.Notification, more <-chan *pq.Notification) {
	var ids []uuid.UUID
	add := func(n *pq.Notification) {
		id, user, ok := strings.Cut(n.Extra, ":")
		if !ok {
			return
		}
		u, err1 := uuid.Parse(user)
		a, err2 := uuid.Parse(id)
		if err1 != nil || err2 != nil {
			return
		}
		h.mu.Lock()
		_, here := h.subs[u]
		h.mu.Unlock()
		if here {
			ids = append(ids, a)
		}
	}
	add(n)
drain:
	for len(ids) < maxPushBatch {
		select {
		case n := <-more:
			if n == nil {
				h.recover(ctx)
				break drain
			}
			if n.Channel == authz.ChangesChannel {
				h.checkSessions(ctx)
				continue
			}
			add(n)
		default:
			break drain
		}
	}
	if len(ids) == 0 {
		return
	}
	var rows []*Alert
	if err := sqlx.SelectContext(ctx, h.db, &rows, `SELECT`+columns+` FROM alerts a WHERE a.id = ANY($1::uuid[])`, postgres.UUIDs(ids)); err != nil {
		// Not lost: the next backstop reads them back.
		h.log.Error("alert hub: read notified alerts", "err", err)
		return
	}
	h.deliver(rows, false)
}

// catchUp pushes the alerts raised since from to this replica's
// subscribers that have not had them yet.
func (h *Hub) catchUp(ctx context.Context, from time.Time) {
	h.mu.Lock()
	users := make([]uuid.UUID, 0, len(h.subs))
	for u := range h.subs {
		users = append(users, u)
	}
	h.mu.Unlock()
	if len(users) == 0 {
		return
	}
	var rows []*Alert
	for start := 0; start < len(users); start += authz.MaxBatch {
		batch := users[start:min(start+authz.MaxBatch, len(users))]
		var got []*Alert
		if err := sqlx.SelectContext(ctx, h.db, &got, `SELECT`+columns+` FROM alerts a
WHERE a.recipient_id = ANY($1::uuid[]) AND a.at >= $2 ORDER BY a.at, a.id`, postgres.UUIDs(batch), from); err != nil {
			h.log.Error("alert hub: catch up", "err", err)
			return
		}
		rows = append(rows, got...)
	}
	if n := h.deliver(rows, true); n > 0 && h.obs != nil {
		h.obs.CaughtUp(n)
	}
}

// deliver pushes rows to their recipients' subscriptions, skipping what a
// subscription already had or found in the inbox when it opened (and,
// reading back, what was raised before any read back could reach). It
// returns how many pushes it made.
func (h *Hub) deliver(rows []*Alert, readBack bool) int {
	now := time.Now()
	n := 0
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range rows {
		for s := range h.subs[a.Recipient] {
			if _, had := s.delivered[a.ID]; had {
				continue
			}
			if readBack && a.At.Before(s.since.Add(-h.cfg.CommitMargin)) {
				continue
			}
			if h.push(s, a, now) {
				n++
			}
		}
	}
	return n
}

// push sends a to s, or closes s when it is too far behind; the caller
// holds h.mu. It reports whether a was sent.
func (h *Hub) push(s *sub, a *Alert, now time.Time) bool {
	select {
	case s.ch <- a:
		s.delivered[a.ID] = a.At
		if h.obs != nil {
			h.obs.Delivered(a.Kind, now.Sub(a.At))
		}
		return true
	default:
		h.log.Warn("alert hub: subscriber too slow, closing its subscription", "recipient", a.Recipient)
		h.drop(a.Recipient, s)
		return false
	}
}

// prune forgets deliveries too old for any read back to reach again.
func (h *Hub) prune() {
	h.mu.Lock()
	defer h.mu.Unlock()
	floor := time.Now()
	if !h.lostAt.IsZero() {
		floor = h.lostAt
	}
	floor = floor.Add(-2*h.cfg.CommitMargin - h.cfg.Backstop)
	for _, set := range h.subs {
		for s := range set {
			for id, at := range s.delivered {
				if at.Before(floor) {
					delete(s.delivered, id)
				}
			}
		}
	}
}

// checkSessions ends the sessions of users no longer enabled.
func (h *Hub) checkSessions(ctx context.Context) {
	h.mu.Lock()
	users := make([]uuid.UUID, 0, len(h.sessions))
	for u := range h.sessions {
		users = append(users, u)
	}
	h.mu.Unlock()
	for start := 0; start < len(users); start += authz.MaxBatch {
		batch := users[start:min(start+authz.MaxBatch, len(users))]
		var enabled []uuid.UUID
		if err := sqlx.SelectContext(ctx, h.db, &enabled, `SELECT id FROM users WHERE id = ANY($1::uuid[]) AND disabled_at IS NULL`,
			postgres.UUIDs(batch)); err != nil {
			h.log.Error("alert hub: check sessions", "err", err)
			return
		}
		ok := make(map[uuid.UUID]bool, len(enabled))
		for _, id := range enabled {
			ok[id] = true
		}
		var cancels []context.CancelCauseFunc
		h.mu.Lock()
		for _, u := range batch {
			if ok[u] {
				continue
			}
			for s := range h.sessions[u] {
				cancels = append(cancels, s.cancel)
			}
		}
		h.mu.Unlock()
		for _, c := range cancels {
			c(ErrDisabled)
		}
	}
}

// ListenerName is the application_name of a Hub's listening connection, as
// pg_stat_activity shows it.
const ListenerName = "amparo-alerts"

// listenerURL names the listening connection, for operators (and tests)
// who look for it.
func listenerURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("application_name", ListenerName)
	u.RawQuery = q.Encode()
	return u.String()
}

// columns are an alert's columns, aliased a.
const columns = ` a.id, a.recipient_id, a.kind, a.at, a.case_id, a.complaint_id, a.referral_id, a.urgency, a.read_at`
