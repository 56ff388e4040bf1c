package reference

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RoutingRule sends complaints to an institution: those alleging a
// violation (a type code, "category:CODE" or "*"), by a perpetrator type
// ("*" any), about a child in a situation (a care status, "*" any). A
// fallback rule applies only when no other rule does. Reason says why the
// institution must act, as reviewed in migrations/reference/routing_rules.csv.
type RoutingRule struct {
	ID          string
	Violation   string
	Perpetrator string
	Situation   string
	Institution string
	Fallback    bool
	Reason      string
}

// DeadlineRule is the deadline of one step of a case (by urgency, "*" any)
// or of a complaint, as reviewed in migrations/reference/deadlines.csv.
type DeadlineRule struct {
	Record   string // "case" or "complaint"
	Step     string
	Urgency  string // an urgency, or "*"
	Anchor   string // AnchorStep, AnchorCycle or AnchorReceipt
	Amount   int
	Unit     string // UnitHours, UnitDays, UnitWorkingDays or UnitEndOfDay
	MinHours int
	Reason   string
}

// Anchors and units of deadline rules.
const (
	AnchorStep    = "STEP"    // when the step began
	AnchorCycle   = "CYCLE"   // when the case was registered or last reopened
	AnchorReceipt = "RECEIPT" // when the complaint arrived

	UnitHours       = "HOURS"
	UnitDays        = "DAYS"         // of 24 hours
	UnitWorkingDays = "WORKING_DAYS" // to the end of the nth working day after the anchor's day
	UnitEndOfDay    = "END_OF_DAY"   // to the end of the anchor's day, plus Amount days
)

// Holiday is a national public holiday: not a working day.
type Holiday struct {
	Day   string // YYYY-MM-DD
	Name  Label
	Basis string
}

// lifecycle is the reference data of the case and complaint lifecycle.
type lifecycle struct {
	RoutingRules  []RoutingRule
	DeadlineRules []DeadlineRule
	Holidays      []Holiday

	holidays  map[string]bool
	deadlines map[[3]string]*DeadlineRule
}

func (c *Catalog) loadLifecycle(ctx context.Context, db sqlx.QueryerContext) error {
	if err := sqlx.SelectContext(ctx, db, &c.RoutingRules, `
SELECT id AS "id", violation AS "violation", perpetrator AS "perpetrator", situation AS "situation",
  institution_code AS "institution", fallback AS "fallback", reason AS "reason"
FROM complaint_routing_rules ORDER BY id`); err != nil {
		return fmt.Errorf("reference: routing rules: %w", err)
	}
	if err := sqlx.SelectContext(ctx, db, &c.DeadlineRules, `
SELECT record AS "record", step AS "step", urgency AS "urgency", anchor AS "anchor", amount AS "amount",
  unit AS "unit", min_hours AS "minhours", reason AS "reason"
FROM deadline_rules ORDER BY record, step, urgency`); err != nil {
		return fmt.Errorf("reference: deadline rules: %w", err)
	}
	rows, err := db.QueryxContext(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), name_es, name_en, basis FROM public_holidays ORDER BY day`)
	if err != nil {
		return fmt.Errorf("reference: holidays: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Holiday
		if err := rows.Scan(&h.Day, &h.Name.ES, &h.Name.EN, &h.Basis); err != nil {
			return fmt.Errorf("reference: holidays: %w", err)
		}
		c.Holidays = append(c.Holidays, h)
	}
	return rows.Err()
}

// WithLifecycle adds routing rules, deadline rules and holidays to a
// catalog built with New, for tests of pure logic.
func (c *Catalog) WithLifecycle(rules []RoutingRule, deadlines []DeadlineRule, holidays []Holiday) *Catalog {
	c.RoutingRules, c.DeadlineRules, c.Holidays = rules, deadlines, holidays
	c.index()
	return c
}

func (c *Catalog) indexLifecycle() {
	c.holidays = map[string]bool{}
	for _, h := range c.Holidays {
		c.holidays[h.Day] = true
	}
	c.deadlines = map[[3]string]*DeadlineRule{}
	for i := range c.DeadlineRules {
		r := &c.DeadlineRules[i]
		c.deadlines[[3]string{r.Record, r.Step, r.Urgency}] = r
	}
}

// Deadline returns the deadline rule of a step of record ("case" or
// "complaint") for urgency: the rule for that urgency, else the rule for
// any ("*"). False when the step has no deadline.
func (c *Catalog) Deadline(record, step, urgency string) (*DeadlineRule, bool) {
	if r, ok := c.deadlines[[3]string{record, step, urgency}]; ok {
		return r, true
	}
	r, ok := c.deadlines[[3]string{record, step, "*"}]
	return r, ok
}

// WorkingDay reports whether the calendar day of t in loc is a working
// day: Monday to Friday, and not a public holiday.
func (c *Catalog) WorkingDay(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.holidays[l.Format(time.DateOnly)]
}

// Due is when a step governed by r is due, counting from anchor; calendar
// days and their ends are those of loc (Guatemala). Never sooner than
// r.MinHours after the anchor.
func (c *Catalog) Due(r *DeadlineRule, anchor time.Time, loc *time.Location) time.Time {
	l := anchor.In(loc)
	endOf := func(day time.Time) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), 23, 59, 59, 0, loc)
	}
	var due time.Time
	switch r.Unit {
	case UnitHours:
		due = anchor.Add(time.Duration(r.Amount) * time.Hour)
	case UnitEndOfDay:
		due = endOf(l.AddDate(0, 0, r.Amount))
	case UnitWorkingDays:
		day := time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, loc)
		for n := 0; n < r.Amount; {
			day = day.AddDate(0, 0, 1)
			if c.WorkingDay(day, loc) {
				n++
			}
		}
		due = endOf(day)
	default: // UnitDays
		due = anchor.Add(time.Duration(r.Amount) * 24 * time.Hour)
	}
	if min := anchor.Add(time.Duration(r.MinHours) * time.Hour); due.Before(min) {
		due = min
	}
	return due.UTC()
}
