package reference_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"amparo/internal/child"
	"amparo/internal/postgres/postgrestest"
	"amparo/internal/reference"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// catalog is the reference data as migrated from the reviewed CSV files.
func catalog(t *testing.T) *reference.Catalog {
	t.Helper()
	db := postgrestest.New(t)
	cat, err := reference.Load(context.Background(), db.App)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

var gt = child.Guatemala

func local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, gt)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDeadlines computes deadlines from the migrated rules across
// midnight, weekends and Guatemala's public holidays.
func TestDeadlines(t *testing.T) {
	cat := catalog(t)
	tests := []struct {
		name                  string
		record, step, urgency string
		anchor                string // Guatemala time
		want                  string // Guatemala time, to the minute
	}{
		{"ImmediateSameDay", "case", "REGISTERED", "IMMEDIATE", "2026-11-30 09:00", "2026-11-30 23:59"},
		{"ImmediateNeverUnderFourHoursAcrossMidnight", "case", "REGISTERED", "IMMEDIATE", "2026-11-30 23:50", "2026-12-01 03:50"},
		{"ImmediateAtEightInTheEvening", "case", "REGISTERED", "IMMEDIATE", "2026-11-30 20:00", "2026-12-01 00:00"},
		{"High24Hours", "case", "REGISTERED", "HIGH", "2026-11-30 23:50", "2026-12-01 23:50"},
		{"Medium72Hours", "case", "REGISTERED", "MEDIUM", "2026-11-30 10:00", "2026-12-03 10:00"},
		{"Low5Days", "case", "REGISTERED", "LOW", "2026-11-30 10:00", "2026-12-05 10:00"},
		{"Assessment14DaysFromRegistration", "case", "ASSESSMENT", "LOW", "2026-11-30 10:00", "2026-12-14 10:00"},
		{"CasePlan30Days", "case", "CASE_PLAN", "HIGH", "2026-11-30 10:00", "2026-12-30 10:00"},
		{"FollowUpHighRisk30Days", "case", "FOLLOW_UP", "HIGH", "2026-11-30 10:00", "2026-12-30 10:00"},
		{"FollowUpLowRisk90Days", "case", "IMPLEMENTATION", "LOW", "2026-11-30 10:00", "2027-02-28 10:00"},
		{"ClosureDecisionSkipsChristmasAndTheWeekend", "case", "CLOSURE_REQUESTED", "MEDIUM", "2026-12-18 16:00", "2026-12-28 23:59"},
		{"AcknowledgementIn24Hours", "complaint", "RECEIVED", "*", "2026-12-04 17:00", "2026-12-05 17:00"},
		{"TriageSkipsHolyWeek", "complaint", "ACKNOWLEDGED", "*", "2026-04-01 10:00", "2026-04-08 23:59"},
		{"TriageFromASaturday", "complaint", "ACKNOWLEDGED", "*", "2026-12-05 08:00", "2026-12-09 23:59"},
		{"TriageFromAFridayNight", "complaint", "ACKNOWLEDGED", "*", "2026-12-11 23:30", "2026-12-16 23:59"},
		{"Response30Days", "complaint", "TRIAGED", "*", "2026-12-01 10:00", "2026-12-31 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := cat.Deadline(tt.record, tt.step, tt.urgency)
			if !ok {
				t.Fatalf("no rule for %s %s %s", tt.record, tt.step, tt.urgency)
			}
			got := cat.Due(r, local(tt.anchor), gt).In(gt).Format("2006-01-02 15:04")
			if got != tt.want {
				t.Errorf("due %s, want %s (rule %+v)", got, tt.want, *r)
			}
		})
	}
	t.Run("ClosedHasNoDeadline", func(t *testing.T) {
		if r, ok := cat.Deadline("case", "CLOSED", "HIGH"); ok {
			t.Errorf("rule %+v", *r)
		}
	})
	t.Run("WorkingDays", func(t *testing.T) {
		for day, want := range map[string]bool{"2026-12-24": true, "2026-12-25": false, "2026-12-26": false,
			"2026-09-15": false, "2026-09-16": true, "2027-03-26": false} {
			if got := cat.WorkingDay(local(day+" 12:00"), gt); got != want {
				t.Errorf("%s working: %v", day, got)
			}
		}
	})
}

// TestRulesAreValid checks the reviewed data against the taxonomy: every
// routing rule names a known violation or category, perpetrator, situation
// and institution, and every step of the workflow has its deadlines.
func TestRulesAreValid(t *testing.T) {
	cat := catalog(t)
	perpetrators := "FAMILY_CAREGIVER COMMUNITY_MEMBER CRIMINAL_GROUP SMUGGLER_TRAFFICKER EMPLOYER STATE_POLICE STATE_MIGRATION STATE_OTHER_OFFICIAL SHELTER_OR_SERVICE_STAFF HUMANITARIAN_WORKER UNKNOWN"
	fallbacks := 0
	for _, r := range cat.RoutingRules {
		v, isCat := strings.CutPrefix(r.Violation, "category:")
		if _, ok := cat.Category(v); isCat && !ok {
			t.Errorf("%s: unknown category %s", r.ID, v)
		}
		if _, ok := cat.ViolationType(v); !isCat && v != "*" && !ok {
			t.Errorf("%s: unknown violation %s", r.ID, v)
		}
		if r.Perpetrator != "*" && !strings.Contains(" "+perpetrators+" ", " "+r.Perpetrator+" ") {
			t.Errorf("%s: unknown perpetrator %s", r.ID, r.Perpetrator)
		}
		if r.Situation != "*" && r.Situation != "UNACCOMPANIED" && r.Situation != "SEPARATED" && r.Situation != "WITH_FAMILY" {
			t.Errorf("%s: unknown situation %s", r.ID, r.Situation)
		}
		if inst, ok := cat.Institution(r.Institution); !ok || !strings.Contains(strings.Join(inst.Functions, " "), "receives") {
			t.Errorf("%s: %s does not receive complaints", r.ID, r.Institution)
		}
		if r.Fallback {
			fallbacks++
		}
	}
	if fallbacks != 1 {
		t.Errorf("%d fallback rules, want 1", fallbacks)
	}
	for _, step := range []string{"REGISTERED", "ASSESSMENT", "CASE_PLAN", "IMPLEMENTATION", "FOLLOW_UP", "CLOSURE_REQUESTED"} {
		for _, u := range []string{"IMMEDIATE", "HIGH", "MEDIUM", "LOW"} {
			if _, ok := cat.Deadline("case", step, u); !ok {
				t.Errorf("no deadline for a %s case at %s", u, step)
			}
		}
	}
	for _, step := range []string{"RECEIVED", "ACKNOWLEDGED", "TRIAGED", "FORWARDED"} {
		if _, ok := cat.Deadline("complaint", step, "*"); !ok {
			t.Errorf("no deadline for a complaint at %s", step)
		}
	}
}

// TestTablesInREADME checks that README.md shows the routing rules and
// deadlines the code uses: the tables are rendered from the migrated data.
func TestTablesInREADME(t *testing.T) {
	cat := catalog(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var routing strings.Builder
	routing.WriteString("| rule | violation | perpetrator | child | institution | reason |\n|---|---|---|---|---|---|\n")
	for _, r := range cat.RoutingRules {
		v := r.Violation
		if r.Fallback {
			v += " (only when no other rule applies)"
		}
		fmt.Fprintf(&routing, "| %s | %s | %s | %s | %s | %s |\n", r.ID, v, r.Perpetrator, r.Situation, r.Institution, r.Reason)
	}
	var deadlines strings.Builder
	deadlines.WriteString("| record | step | urgency | counted from | due | reason |\n|---|---|---|---|---|---|\n")
	for _, r := range cat.DeadlineRules {
		due := fmt.Sprintf(map[string]string{"HOURS": "%d hours", "DAYS": "%d days",
			"WORKING_DAYS": "end of working day %d after", "END_OF_DAY": "end of the day, +%d days"}[r.Unit], r.Amount)
		if r.Unit == "END_OF_DAY" && r.Amount == 0 {
			due = "end of the same day"
		}
		if r.MinHours > 0 {
			due += fmt.Sprintf(", at least %d hours", r.MinHours)
		}
		fmt.Fprintf(&deadlines, "| %s | %s | %s | %s | %s | %s |\n", r.Record, r.Step, r.Urgency, r.Anchor, due, r.Reason)
	}
	for name, table := range map[string]string{"routing": routing.String(), "deadlines": deadlines.String()} {
		if !strings.Contains(string(readme), table) {
			t.Errorf("README.md does not show the %s table the code uses; it should read:\n%s", name, table)
		}
	}
}
