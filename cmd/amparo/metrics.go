package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// dbPoolCollector reports the database pools as amparo_db_pool_*, summed
// (the main pool and the prepared reads' one): how many connections are
// open, in use and idle, the pools' caps, and how often and how long
// requests waited for a connection (a pool too small for the load shows
// here before it shows as latency).
type dbPoolCollector struct {
	dbs                                       []*sql.DB
	open, inUse, idle, maxOpen, waits, waited *prometheus.Desc
	closedIdle, closedLifetime                *prometheus.Desc
}

func newDBPoolCollector(dbs ...*sql.DB) *dbPoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("amparo_db_pool_"+name, help, nil, nil)
	}
	return &dbPoolCollector{
		dbs:            dbs,
		open:           d("open_connections", "Connections open to PostgreSQL, in use or idle."),
		inUse:          d("in_use_connections", "Connections in use."),
		idle:           d("idle_connections", "Idle connections."),
		maxOpen:        d("max_open_connections", "Most connections the pool opens (0: no limit)."),
		waits:          d("wait_count_total", "Times a request waited for a free connection."),
		waited:         d("wait_duration_seconds_total", "Time spent waiting for a free connection."),
		closedIdle:     d("max_idle_closed_total", "Connections closed because the idle pool was full."),
		closedLifetime: d("max_lifetime_closed_total", "Connections closed because they reached their lifetime."),
	}
}

func (c *dbPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.inUse, c.idle, c.maxOpen, c.waits, c.waited, c.closedIdle, c.closedLifetime} {
		ch <- d
	}
}

func (c *dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	var s sql.DBStats
	for _, db := range c.dbs {
		t := db.Stats()
		s.OpenConnections += t.OpenConnections
		s.InUse += t.InUse
		s.Idle += t.Idle
		s.MaxOpenConnections += t.MaxOpenConnections
		s.WaitCount += t.WaitCount
		s.WaitDuration += t.WaitDuration
		s.MaxIdleClosed += t.MaxIdleClosed
		s.MaxLifetimeClosed += t.MaxLifetimeClosed
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.open, float64(s.OpenConnections))
	g(c.inUse, float64(s.InUse))
	g(c.idle, float64(s.Idle))
	g(c.maxOpen, float64(s.MaxOpenConnections))
	n(c.waits, float64(s.WaitCount))
	n(c.waited, s.WaitDuration.Seconds())
	n(c.closedIdle, float64(s.MaxIdleClosed))
	n(c.closedLifetime, float64(s.MaxLifetimeClosed))
}

// uploadMetrics counts evidence bytes received and times uploads, by
// outcome code (OK, PAYLOAD_TOO_LARGE, UNAVAILABLE, ...).
type uploadMetrics struct {
	bytes    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newUploadMetrics(reg prometheus.Registerer) *uploadMetrics {
	m := &uploadMetrics{
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amparo_upload_bytes_total", Help: "Evidence bytes received, by outcome code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "amparo_upload_duration_seconds", Help: "Evidence upload duration, streaming to commit, by outcome code.",
			// From a photo on a fast link to a video over a border post's line.
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 12),
		}, []string{"code"}),
	}
	reg.MustRegister(m.bytes, m.duration)
	return m
}

func (m *uploadMetrics) observe(bytes int64, took time.Duration, code string) {
	m.bytes.WithLabelValues(code).Add(float64(bytes))
	m.duration.WithLabelValues(code).Observe(took.Seconds())
}

// readinessCollector reports amparo_dependency_up{dependency} (1 reachable,
// 0 not) at every scrape, from the same check as /readyz, so that an alert
// needs no prober.
func readinessCollector(check func(context.Context) (map[string]string, bool)) prometheus.Collector {
	desc := prometheus.NewDesc("amparo_dependency_up",
		"1 when the dependency (postgres, minio) answered the readiness check within 2 s, else 0.", []string{"dependency"}, nil)
	return collectorFunc{desc, func(ch chan<- prometheus.Metric) {
		checks, _ := check(context.Background())
		for dep, state := range checks {
			up := 0.0
			if state == "ok" {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, up, dep)
		}
	}}
}

// collectorFunc is a collector of one family, computed at each scrape.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
