package validate

import (
	"log/slog"
	"os"
	"reflect"
	"testing"

	monitoring "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

const rulesFile = "../prometheus/amparo-rules.yaml"

// TestAlertRulesParse runs the rules file through Prometheus' own rule
// parser (what promtool check rules does): unknown fields, bad PromQL and bad
// templates fail. It also asks for the three alerts the issue names.
func TestAlertRulesParse(t *testing.T) {
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.FailNow()
	}
	alerts := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = r.Expr
		}
	}
	for _, name := range []string{"AmparoAuditSealerLagging", "AmparoNotReady", "AmparoErrorRate"} {
		if alerts[name] == "" {
			t.Errorf("no alert %s", name)
		}
	}
}

// TestBrokenRulesAreRefused: the parser above can fail.
func TestBrokenRulesAreRefused(t *testing.T) {
	bad := []byte("groups:\n- name: x\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m])\n")
	if _, errs := rulefmt.Parse(bad, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler)); len(errs) == 0 {
		t.Fatal("unbalanced PromQL parsed")
	}
}

// TestPrometheusRuleMatchesRulesFile: the PrometheusRule in the Kubernetes
// manifests carries the same groups as the plain rules file.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	var pr *monitoring.PrometheusRule
	for _, o := range manifests(t) {
		if v, ok := o.v.(*monitoring.PrometheusRule); ok {
			pr = v
		}
	}
	if pr == nil {
		t.Fatal("no PrometheusRule")
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var file monitoring.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(b, &file); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file, pr.Spec) {
		t.Error("the PrometheusRule's groups differ from deploy/prometheus/amparo-rules.yaml")
	}
}
