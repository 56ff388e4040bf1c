package statistics

import (
	"context"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/authz"
)

// Indicator is one table of the indicator report.
type Indicator struct {
	// Name is the indicator's stable code ("CASES_BY_CATEGORY_MONTH").
	Name       string
	Definition Input
	Table      *Table
	// Rates are, for indicators that are rates (overdue cases), each row's
	// share of the column RateOf among the row's shown cells; nil where a
	// cell it needs is suppressed.
	Rates  []*Rate
	RateOf string
}

// Rate is one row's rate.
type Rate struct {
	Key   []string
	Value *float64
}

// Report is the action plan's indicator report.
type Report struct {
	From, To    *time.Time
	Indicators  []*Indicator
	GeneratedAt time.Time
}

// ReportInput is the period of a report (dates of filing, inclusive).
type ReportInput struct {
	From *time.Time
	To   *time.Time
}

// indicators are the report's tables, after the national action plan:
// cases and complaints by violation category and month, by department, by
// age band and sex, by population status and by entry point; referrals by
// service asked for and response time; overdue cases by institution.
var indicators = []struct {
	name    string
	measure string
	rows    []string
	columns []string
	rateOf  string
}{
	{"CASES_BY_CATEGORY_MONTH", Cases, []string{ViolationCategory}, []string{Month}, ""},
	{"COMPLAINTS_BY_CATEGORY_MONTH", Complaints, []string{ViolationCategory}, []string{Month}, ""},
	{"CASES_BY_DEPARTMENT", Cases, []string{Department}, nil, ""},
	{"COMPLAINTS_BY_DEPARTMENT", Complaints, []string{Department}, nil, ""},
	{"CASES_BY_AGE_SEX", Cases, []string{AgeBand}, []string{Sex}, ""},
	{"COMPLAINTS_BY_AGE_SEX", Complaints, []string{AgeBand}, []string{Sex}, ""},
	{"CASES_BY_POPULATION_STATUS", Cases, []string{PopulationStatus}, nil, ""},
	{"COMPLAINTS_BY_POPULATION_STATUS", Complaints, []string{PopulationStatus}, nil, ""},
	{"CASES_BY_ENTRY_POINT", Cases, []string{EntryPoint}, nil, ""},
	{"COMPLAINTS_BY_ENTRY_POINT", Complaints, []string{EntryPoint}, nil, ""},
	{"REFERRALS_BY_SERVICE_RESPONSE_TIME", Referrals, []string{ReferralService}, []string{ResponseTime}, ""},
	{"OVERDUE_BY_INSTITUTION", Cases, []string{Institution}, []string{Overdue}, "OVERDUE"},
}

// IndicatorReport computes every indicator of the action plan over the
// period, within the caller's scope, and audits the report's definition.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without stats:read; BAD_USER_INPUT for
// a bad period; UNAVAILABLE.
func (s *Service) IndicatorReport(ctx context.Context, in ReportInput) (*Report, error) {
	const op = "statistics.IndicatorReport"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r, err := s.report(ctx, d, in)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if err := s.audit(ctx, PermRead, "statistics_report", "", r.codes()); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return r, nil
}

func (s *Service) report(ctx context.Context, d *authz.Decision, in ReportInput) (*Report, error) {
	r := &Report{From: in.From, To: in.To, GeneratedAt: s.now().UTC()}
	for _, ind := range indicators {
		def := Input{Measure: ind.measure, Rows: ind.rows, Columns: ind.columns, From: in.From, To: in.To}
		t, err := s.compute(ctx, d, &def)
		if err != nil {
			return nil, err
		}
		i := &Indicator{Name: ind.name, Definition: def, Table: t, RateOf: ind.rateOf}
		if ind.rateOf != "" {
			i.Rates = rates(t, ind.rateOf)
		}
		r.Indicators = append(r.Indicators, i)
	}
	return r, nil
}

// codes is the report's definition for the audit trail.
func (r *Report) codes() map[string]any {
	names := make([]string, len(r.Indicators))
	for i, ind := range r.Indicators {
		names[i] = ind.Name
	}
	c := map[string]any{"indicators": names}
	if r.From != nil {
		c["from"] = r.From.Format(time.DateOnly)
	}
	if r.To != nil {
		c["to"] = r.To.Format(time.DateOnly)
	}
	return c
}

// rates is, per row, the shown value of column of over the sum of the
// row's shown cells but closed ones: computed from published figures only,
// so it tells nothing they do not.
func rates(t *Table, of string) []*Rate {
	var out []*Rate
	for _, row := range t.Rows {
		r := &Rate{Key: row.Key}
		var num, den int
		ok := true
		for _, c := range row.Cells {
			if len(c.Column) == 1 && c.Column[0] == "CLOSED" {
				continue
			}
			if c.Suppressed {
				ok = false
				break
			}
			den += *c.Value
			if len(c.Column) == 1 && c.Column[0] == of {
				num = *c.Value
			}
		}
		if ok && den > 0 {
			v := float64(num) / float64(den)
			r.Value = &v
		}
		out = append(out, r)
	}
	return out
}
