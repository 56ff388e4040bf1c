package statistics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/export"
	"amparo/internal/postgres"
)

// Exports keeps exported files (export.Bucket).
type Exports interface {
	Put(ctx context.Context, key, contentType string, r io.Reader) (int64, error)
	URL(ctx context.Context, key, filename string) (string, time.Time, error)
}

// Identities reads a child's identity and the case's summary (sealed at
// rest) through its case, authorizing and auditing each read
// (casefile.Service).
type Identities interface {
	IdentityAndSummary(ctx context.Context, caseID uuid.UUID) (*child.Identity, string, error)
}

// Export is an exported file, downloadable for a few minutes.
type Export struct {
	ID        uuid.UUID
	URL       string
	ExpiresAt time.Time
	Rows      int
	SHA256    string
}

// ExportTableInput asks for a table as a file.
type ExportTableInput struct {
	Statistics Input
	Format     string
}

// ExportReportInput asks for the indicator report as a file.
type ExportReportInput struct {
	From, To *time.Time
	Format   string
}

// ExportCasesInput asks for a list of cases as a file. IncludeIdentity
// adds each child's identity and the case's summary, for a caller who may
// read them; each identity read is audited.
type ExportCasesInput struct {
	Filter          *casefile.Filter
	Format          string
	IncludeIdentity bool
}

func checkFormat(format string) error {
	if format != export.CSV && format != export.XLSX {
		var v apperr.Validation
		v.Add("format", "formato desconocido: use CSV o XLSX", "unknown format: use CSV or XLSX")
		return v.Err()
	}
	return nil
}

// ExportTable writes a table as CSV or XLSX to the exports bucket and
// returns its download. The table is the one Table would show, published
// figures only; the export is audited with its definition, row count and
// SHA-256.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without stats:export; BAD_USER_INPUT;
// UNAVAILABLE.
func (s *Service) ExportTable(ctx context.Context, in ExportTableInput) (*Export, error) {
	const op = "statistics.ExportTable"
	d, err := s.guard.Check(ctx, PermExport, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if err := checkFormat(in.Format); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	t, err := s.compute(ctx, d, &in.Statistics)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	ex, err := s.store(ctx, in.Format, "estadisticas", func(w export.Writer) (int, error) {
		return writeTable(w, in.Statistics.Measure, &in.Statistics, t)
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return s.finish(ctx, op, PermExport, ex, map[string]any{"table": in.Statistics.codes(), "format": in.Format})
}

// ExportReport writes the indicator report as CSV (one section per
// indicator) or XLSX (one sheet per indicator).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without stats:export; BAD_USER_INPUT;
// UNAVAILABLE.
func (s *Service) ExportReport(ctx context.Context, in ExportReportInput) (*Export, error) {
	const op = "statistics.ExportReport"
	d, err := s.guard.Check(ctx, PermExport, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if err := checkFormat(in.Format); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r, err := s.report(ctx, d, ReportInput{From: in.From, To: in.To})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	ex, err := s.store(ctx, in.Format, "indicadores", func(w export.Writer) (int, error) {
		n := 0
		for _, ind := range r.Indicators {
			k, err := writeTable(w, ind.Name, &ind.Definition, ind.Table)
			if err != nil {
				return n, err
			}
			n += k
		}
		return n, nil
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	details := r.codes()
	details["format"] = in.Format
	return s.finish(ctx, op, PermExport, ex, details)
}

// writeTable writes t as one sheet: the row dimensions, one column per
// column key, and the row's total; suppressed cells are empty and marked in
// a last column. It returns the rows written (without the header).
func writeTable(w export.Writer, name string, def *Input, t *Table) (int, error) {
	header := append([]string(nil), def.Rows...)
	for _, col := range t.Columns {
		if len(col) == 0 {
			header = append(header, def.Measure)
		} else {
			header = append(header, strings.Join(col, " / "))
		}
	}
	header = append(header, "TOTAL", "SUPPRESSED_CELLS")
	if err := w.Sheet(name, header); err != nil {
		return 0, err
	}
	cells := make([]any, 0, len(header))
	for _, r := range t.Rows {
		cells = cells[:0]
		for _, k := range r.Key {
			cells = append(cells, k)
		}
		suppressed := 0
		for _, c := range r.Cells {
			cells = append(cells, c.Value)
			if c.Suppressed {
				suppressed++
			}
		}
		cells = append(cells, r.Total, suppressed)
		if err := w.Row(cells...); err != nil {
			return 0, err
		}
	}
	cells = cells[:0]
	cells = append(cells, "TOTAL")
	for range len(def.Rows) - 1 + len(t.Columns) {
		cells = append(cells, nil)
	}
	cells = append(cells, t.Total, t.SuppressedCells)
	if err := w.Row(cells...); err != nil {
		return 0, err
	}
	return len(t.Rows) + 1, nil
}

// caseHeader is the header of a case export; identityHeader follows it
// when identities are included.
var (
	caseHeader = []string{"reference", "status", "urgency", "institution", "department", "entry_point", "filed_on",
		"due_on", "age_band", "sex", "nationality", "population_status", "care_status", "violation_types"}
	identityHeader = []string{"given_name", "family_name", "date_of_birth", "summary"}
)

// caseRow is one case of an export, codes and dates only.
type caseRow struct {
	ID               uuid.UUID  `db:"id"`
	Reference        string     `db:"reference"`
	Status           string     `db:"status"`
	Urgency          string     `db:"urgency"`
	Institution      string     `db:"institution_code"`
	Department       string     `db:"department_code"`
	EntryPoint       *string    `db:"entry_point_code"`
	CreatedAt        time.Time  `db:"created_at"`
	DueAt            *time.Time `db:"due_at"`
	AgeBand          *string    `db:"age_band"`
	Sex              string     `db:"sex"`
	Nationality      string     `db:"nationality"`
	PopulationStatus string     `db:"population_status"`
	CareStatus       string     `db:"care_status"`
	Violations       *string    `db:"violations"`
}

// ExportCases writes the cases the caller may export (supervisors: their
// institution's; oversight: all) that match the filter, oldest first, as
// CSV or XLSX: codes and dates, no identity and no narrative unless asked
// for by a caller who holds identity:read, in which case every identity
// read is audited, case by case, and a case whose child the caller may not
// identify is exported without it. The export is audited with its filter,
// row count and SHA-256.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:export, or asking for
// identities without identity:read; BAD_USER_INPUT; UNAVAILABLE.
func (s *Service) ExportCases(ctx context.Context, in ExportCasesInput) (*Export, error) {
	const op = "statistics.ExportCases"
	d, err := s.guard.Check(ctx, PermExportCases, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if in.IncludeIdentity {
		if _, err := s.guard.Check(ctx, PermIdentityRead, authz.Any); err != nil {
			return nil, apperr.Wrap(op, err)
		}
	}
	if err := checkFormat(in.Format); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	def := Input{Measure: Cases, Filter: in.Filter}
	var a postgres.Args
	w, err := where(d, s.catalog, measures[Cases], &def, &a)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	q := `SELECT c.id, c.reference, c.status, c.urgency, c.institution_code, c.department_code, c.entry_point_code,
  c.created_at, c.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status,
  (SELECT string_agg(cv.type_code, ';' ORDER BY cv.position) FROM case_violations cv WHERE cv.case_id = c.id) AS violations
FROM cases c JOIN children ch ON ch.id = c.child_id
WHERE ` + w + `
ORDER BY c.created_at, c.id`
	ex, err := s.store(ctx, in.Format, "casos", func(out export.Writer) (int, error) {
		header := caseHeader
		if in.IncludeIdentity {
			header = append(append([]string(nil), caseHeader...), identityHeader...)
		}
		if err := out.Sheet("casos", header); err != nil {
			return 0, err
		}
		rows, err := s.db.QueryxContext(ctx, q, a...)
		if err != nil {
			return 0, postgres.MapError(err)
		}
		defer rows.Close()
		n := 0
		var r caseRow
		cells := make([]any, 0, len(header))
		for rows.Next() {
			r = caseRow{}
			if err := rows.StructScan(&r); err != nil {
				return n, postgres.MapError(err)
			}
			cells = append(cells[:0], r.Reference, r.Status, r.Urgency, r.Institution, r.Department, deref(r.EntryPoint),
				day(r.CreatedAt), dayOf(r.DueAt), deref(r.AgeBand), r.Sex, r.Nationality, r.PopulationStatus, r.CareStatus,
				deref(r.Violations))
			if in.IncludeIdentity {
				cells, err = s.appendIdentity(ctx, cells, r)
				if err != nil {
					return n, err
				}
			}
			if err := out.Row(cells...); err != nil {
				return n, err
			}
			n++
		}
		return n, postgres.MapError(rows.Err())
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	details := map[string]any{"filter": filterCodes(in.Filter), "format": in.Format, "identities": in.IncludeIdentity}
	return s.finish(ctx, op, PermExportCases, ex, details)
}

// appendIdentity adds the child's identity and the summary of case r, read
// (and audited) through Identities; a refusal leaves them empty.
func (s *Service) appendIdentity(ctx context.Context, cells []any, r caseRow) ([]any, error) {
	id, summary, err := s.ids.IdentityAndSummary(ctx, r.ID)
	switch {
	case apperr.Is(err, apperr.Forbidden) || apperr.Is(err, apperr.NotFound):
		return append(cells, nil, nil, nil, nil), nil
	case err != nil:
		return cells, err
	}
	var dob any
	if id.DateOfBirth != nil {
		dob = export.Date(*id.DateOfBirth)
	}
	return append(cells, deref(id.GivenName), deref(id.FamilyName), dob, summary), nil
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// day is t's date in Guatemala.
func day(t time.Time) export.Date {
	l := t.In(guatemala)
	return export.Date(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC))
}

// dayOf is day(*t), or nil.
func dayOf(t *time.Time) any {
	if t == nil {
		return nil
	}
	return day(*t)
}

// store streams what write writes, in format, to the exports bucket while
// hashing it: the file is never whole in memory.
func (s *Service) store(ctx context.Context, format, name string, write func(export.Writer) (int, error)) (*Export, error) {
	ex := &Export{ID: uuid.New()}
	key := ex.ID.String() + export.Ext(format)
	pr, pw := io.Pipe()
	h := sha256.New()
	done := make(chan error, 1)
	go func() {
		w, err := export.NewWriter(format, io.MultiWriter(pw, h))
		if err == nil {
			ex.Rows, err = write(w)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err) // nil: EOF
		done <- err
	}()
	_, err := s.exports.Put(ctx, key, export.ContentType(format), pr)
	pr.CloseWithError(fmt.Errorf("export: upload ended")) // unblocks the writer if Put gave up
	if werr := <-done; werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	ex.SHA256 = hex.EncodeToString(h.Sum(nil))
	url, expires, err := s.exports.URL(ctx, key, name+"-"+s.now().In(guatemala).Format("20060102-150405")+export.Ext(format))
	if err != nil {
		return nil, err
	}
	ex.URL, ex.ExpiresAt = url, expires
	return ex, nil
}

// finish audits a stored export and returns it.
func (s *Service) finish(ctx context.Context, op, perm string, ex *Export, details map[string]any) (*Export, error) {
	details["rows"] = ex.Rows
	details["sha256"] = ex.SHA256
	if err := s.audit(ctx, perm, "export", ex.ID.String(), details); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return ex, nil
}
