package audit

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sealerLagQuery is the age of the oldest committed event not yet sealed
// (0 when every event is): events are sealed in id order, so those after the
// newest leaf's event are the unsealed ones.
const sealerLagQuery = `
SELECT coalesce(extract(epoch FROM now() - min(e.occurred_at)), 0)::float8
FROM audit.events e
WHERE e.id > coalesce((SELECT max(event_id) FROM audit.leaves), 0)`

// Collector returns the sealer's Prometheus metrics:
// amparo_audit_sealer_leader (1 on the replica that leads, 0 elsewhere: the
// sum over replicas should be 1) and amparo_audit_sealer_lag_seconds (how
// long the oldest unsealed event has waited; every replica reports it, as
// read from the database, so it keeps growing when no replica leads).
func (s *Sealer) Collector() prometheus.Collector { return sealerCollector{s} }

type sealerCollector struct{ s *Sealer }

var (
	leaderDesc = prometheus.NewDesc("amparo_audit_sealer_leader",
		"1 when this replica's audit sealer is the leader, else 0.", nil, nil)
	lagDesc = prometheus.NewDesc("amparo_audit_sealer_lag_seconds",
		"Age of the oldest committed audit event not yet sealed into the tree (0 when all are sealed).", nil, nil)
)

func (c sealerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- leaderDesc
	ch <- lagDesc
}

func (c sealerCollector) Collect(ch chan<- prometheus.Metric) {
	leader := 0.0
	if c.s.Leader() {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, leader)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var lag float64
	if err := c.s.db.QueryRowContext(ctx, sealerLagQuery).Scan(&lag); err != nil {
		// No sample rather than a wrong one (the rules alert on its
		// absence); readiness reports the database.
		return
	}
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag)
}
