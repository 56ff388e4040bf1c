package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"amparo/internal/alert"
)

// alertConfig is the configuration of alerts and subscriptions.
type alertConfig struct {
	Origins      []string      // browser origins allowed besides the server's own (AMPARO_CORS_ORIGINS, read with CORS)
	PerUser      int           // AMPARO_ALERTS_MAX_SUBSCRIPTIONS_PER_USER
	PerReplica   int           // AMPARO_ALERTS_MAX_SUBSCRIPTIONS
	DeadlineSoon time.Duration // AMPARO_ALERTS_DEADLINE_SOON
	WatchEvery   time.Duration // AMPARO_ALERTS_WATCH_INTERVAL
	KeepAlive    time.Duration // AMPARO_ALERTS_KEEPALIVE: how often the server pings graphql-ws clients
}

// loadAlertConfig reads the AMPARO_ALERTS_* variables.
func loadAlertConfig(getenv func(string) string) (alertConfig, error) {
	c := alertConfig{PerUser: 5, PerReplica: 2000, DeadlineSoon: 2 * time.Hour, WatchEvery: 15 * time.Second,
		KeepAlive: 15 * time.Second}
	for _, v := range []struct {
		dst      *int
		name     string
		min, max int
	}{
		{&c.PerUser, "AMPARO_ALERTS_MAX_SUBSCRIPTIONS_PER_USER", 1, 100},
		{&c.PerReplica, "AMPARO_ALERTS_MAX_SUBSCRIPTIONS", 1, 1000000},
	} {
		if s := strings.TrimSpace(getenv(v.name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.min || n > v.max {
				return c, &configError{v.name, "must be a number from " + strconv.Itoa(v.min) + " to " + strconv.Itoa(v.max)}
			}
			*v.dst = n
		}
	}
	for _, v := range []struct {
		dst  *time.Duration
		name string
		min  time.Duration
	}{
		{&c.DeadlineSoon, "AMPARO_ALERTS_DEADLINE_SOON", time.Minute},
		{&c.WatchEvery, "AMPARO_ALERTS_WATCH_INTERVAL", 100 * time.Millisecond},
		{&c.KeepAlive, "AMPARO_ALERTS_KEEPALIVE", 100 * time.Millisecond},
	} {
		if s := strings.TrimSpace(getenv(v.name)); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < v.min {
				return c, &configError{v.name, "must be a duration such as 2h or 15s, at least " + v.min.String()}
			}
			*v.dst = d
		}
	}
	return c, nil
}

// alertMetrics are the Prometheus series of alerts.
type alertMetrics struct {
	delivered *prometheus.CounterVec
	lag       prometheus.Histogram
	caughtUp  prometheus.Counter
}

func newAlertMetrics() *alertMetrics {
	return &alertMetrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amparo_alerts_sent_total", Help: "Alerts pushed to subscriptions on this replica, by kind.",
		}, []string{"kind"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "amparo_alerts_fanout_lag_seconds", Help: "From an alert raised (on any replica) to its push to a subscription here.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		caughtUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "amparo_alerts_caught_up_total", Help: "Alerts pushed after reading them back from the table (missed notifications).",
		}),
	}
}

// Delivered implements alert.Observer.
func (m *alertMetrics) Delivered(kind alert.Kind, lag time.Duration) {
	m.delivered.WithLabelValues(string(kind)).Inc()
	m.lag.Observe(lag.Seconds())
}

// CaughtUp implements alert.Observer.
func (m *alertMetrics) CaughtUp(n int) { m.caughtUp.Add(float64(n)) }

// register adds the series, with the hub's and watcher's gauges, to reg.
func (m *alertMetrics) register(reg prometheus.Registerer, hub *alert.Hub, w *alert.Watcher) {
	reg.MustRegister(m.delivered, m.lag, m.caughtUp,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "amparo_alerts_subscribers", Help: "Open alert subscriptions on this replica."},
			func() float64 { return float64(hub.Subscribers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "amparo_alerts_connections", Help: "Open graphql-ws connections on this replica."},
			func() float64 { return float64(hub.Connections()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "amparo_alerts_watcher_leader", Help: "1 when this replica's deadline watcher leads."},
			func() float64 {
				if w.Leader() {
					return 1
				}
				return 0
			}))
}
