package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads url's Prometheus text exposition.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sample returns the value of the series of family name whose labels
// include want, and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsShowOperationsPoolSealerAndUploads drives a few requests and
// expects each series the dashboards and alert rules use, with labels a
// client cannot choose.
func TestMetricsShowOperationsPoolSealerAndUploads(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "metrics-0001")
	app.mustUpload("officer@pgn.demo", caseID, "informe.pdf", pdf(t, 4096))
	// A client-chosen operation name must not become a label value.
	app.do(app.token("officer@pgn.demo"), `query AttackerChosenName123 { case(id: "`+caseID+`") { id } }`, nil)
	app.do(app.token("officer@pgn.demo"), `query { case(id: "00000000-0000-0000-0000-000000000000") { id } }`, nil)
	app.do(app.token("officer@pgn.demo"), `query { nosuchfield }`, nil)

	fams := scrape(t, app.srv.URL+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"amparo_graphql_operations_total", map[string]string{"operation": "fileCase", "code": "OK"}, 1},
		{"amparo_graphql_operations_total", map[string]string{"operation": "uploadEvidence", "code": "OK"}, 1},
		{"amparo_graphql_operations_total", map[string]string{"operation": "case", "code": "OK"}, 1},
		{"amparo_graphql_operations_total", map[string]string{"operation": "case", "code": "NOT_FOUND"}, 1},
		{"amparo_graphql_operations_total", map[string]string{"operation": "invalid", "code": "BAD_USER_INPUT"}, 1},
		{"amparo_graphql_operation_duration_seconds", map[string]string{"operation": "fileCase"}, 1},
		{"amparo_db_pool_open_connections", nil, 1},
		{"amparo_db_pool_wait_count_total", nil, 0},
		{"amparo_upload_bytes_total", map[string]string{"code": "OK"}, 4096},
		{"amparo_upload_duration_seconds", map[string]string{"code": "OK"}, 1},
		{"amparo_audit_sealer_leader", nil, 0},
		{"amparo_audit_sealer_lag_seconds", nil, 0},
		{"amparo_dependency_up", map[string]string{"dependency": "postgres"}, 1},
		{"amparo_dependency_up", map[string]string{"dependency": "minio"}, 1},
		{"amparo_http_requests_total", map[string]string{"route": "/graphql", "status": "200"}, 1},
	} {
		v, ok := sample(fams, c.name, c.labels)
		if !ok || v < c.min {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}
	for _, m := range fams["amparo_graphql_operations_total"].Metric {
		for _, l := range m.Label {
			if strings.Contains(l.GetValue(), "AttackerChosen") {
				t.Errorf("client-chosen operation name became a label: %v", m.Label)
			}
		}
	}

	// Nothing seals in this app yet: the events wait, and no replica leads.
	if lag, _ := sample(fams, "amparo_audit_sealer_lag_seconds", nil); lag <= 0 {
		t.Errorf("lag with unsealed events = %v, want > 0", lag)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = app.server.sealer.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams = scrape(t, app.srv.URL+"/metrics")
		leader, _ := sample(fams, "amparo_audit_sealer_leader", nil)
		lag, ok := sample(fams, "amparo_audit_sealer_lag_seconds", nil)
		if leader == 1 && ok && lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sealer running: leader = %v, lag = %v (present %v), want 1 and 0", leader, lag, ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMetricsOnTheirOwnListener: with AMPARO_METRICS_LISTEN, /metrics
// leaves the public listener for its own.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	app := newTestApp(t, func(c *config) { c.MetricsListen = addr })
	res, err := http.Get(app.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Errorf("public listener still serves /metrics")
	}
	if app.server.metrics == nil {
		t.Fatal("no metrics handler of its own")
	}
	srv := &http.Server{Handler: app.server.metrics}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	if _, ok := sample(scrape(t, "http://"+addr+"/metrics"), "amparo_db_pool_open_connections", nil); !ok {
		t.Error("metrics listener lacks amparo_db_pool_open_connections")
	}
}
