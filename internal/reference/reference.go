// Package reference holds Amparo's reference data (violation taxonomy,
// departments, entry points, institutions, referral services, and the
// lifecycle's complaint routing rules, step deadlines and public holidays) in
// memory. The tables are small and change only with a migration, so they are
// read once at start and every lookup and label is answered without a query.
package reference

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Label is a text in Spanish and English.
type Label struct {
	ES string
	EN string
}

// In returns the label in lang ("es" or "en"), Spanish by default.
func (l Label) In(lang string) string {
	if lang == "en" && l.EN != "" {
		return l.EN
	}
	return l.ES
}

// Category groups violation types.
type Category struct {
	Code  string
	Label Label
}

// ViolationType is one entry of the violation taxonomy.
type ViolationType struct {
	Code       string
	Category   string
	Label      Label
	Deprecated bool
}

// Department is one of Guatemala's 22 departments.
type Department struct {
	Code       string // ISO 3166-2, GT-01..GT-22
	LegacyCode string // letter code used before 2021, GT-HU...
	Name       string
	Borders    []string
}

// EntryPoint is a border crossing or reception point.
type EntryPoint struct {
	Code       string
	Name       string
	Department string
	Neighbour  string
	Kind       string
}

// Institution is a body that uses Amparo.
type Institution struct {
	Code      string
	Name      Label
	Functions []string
}

// Service is a service that a referral may ask of another institution.
type Service struct {
	Code  string
	Label Label
}

// Catalog is the reference data, read-only after Load.
type Catalog struct {
	Categories     []Category
	ViolationTypes []ViolationType
	Departments    []Department
	EntryPoints    []EntryPoint
	Institutions   []Institution
	// Services are what referrals ask for, in display order (Load only).
	Services []Service
	lifecycle

	categories  map[string]*Category
	types       map[string]*ViolationType
	departments map[string]*Department // by ISO and legacy code
	entries     map[string]*EntryPoint
	insts       map[string]*Institution
	services    map[string]*Service
}

// Load reads every reference table.
func Load(ctx context.Context, db sqlx.QueryerContext) (*Catalog, error) {
	c := &Catalog{}
	steps := []struct {
		q    string
		scan func(*sqlx.Rows) error
	}{
		{`SELECT code, label_es, label_en FROM violation_categories ORDER BY code`, func(r *sqlx.Rows) error {
			var x Category
			err := r.Scan(&x.Code, &x.Label.ES, &x.Label.EN)
			c.Categories = append(c.Categories, x)
			return err
		}},
		{`SELECT code, category_code, label_es, label_en, deprecated FROM violation_types ORDER BY category_code, code`, func(r *sqlx.Rows) error {
			var x ViolationType
			err := r.Scan(&x.Code, &x.Category, &x.Label.ES, &x.Label.EN, &x.Deprecated)
			c.ViolationTypes = append(c.ViolationTypes, x)
			return err
		}},
		{`SELECT code, legacy_code, name, borders FROM departments ORDER BY code`, func(r *sqlx.Rows) error {
			var x Department
			err := r.Scan(&x.Code, &x.LegacyCode, &x.Name, pq.Array(&x.Borders))
			c.Departments = append(c.Departments, x)
			return err
		}},
		{`SELECT code, name, coalesce(department_code, ''), coalesce(neighbour, ''), kind FROM entry_points ORDER BY code`, func(r *sqlx.Rows) error {
			var x EntryPoint
			err := r.Scan(&x.Code, &x.Name, &x.Department, &x.Neighbour, &x.Kind)
			c.EntryPoints = append(c.EntryPoints, x)
			return err
		}},
		{`SELECT code, name_es, name_en, functions FROM institutions ORDER BY code`, func(r *sqlx.Rows) error {
			var x Institution
			err := r.Scan(&x.Code, &x.Name.ES, &x.Name.EN, pq.Array(&x.Functions))
			c.Institutions = append(c.Institutions, x)
			return err
		}},
		{`SELECT code, label_es, label_en FROM referral_services ORDER BY position`, func(r *sqlx.Rows) error {
			var x Service
			err := r.Scan(&x.Code, &x.Label.ES, &x.Label.EN)
			c.Services = append(c.Services, x)
			return err
		}},
	}
	for _, s := range steps {
		rows, err := db.QueryxContext(ctx, s.q)
		if err != nil {
			return nil, fmt.Errorf("reference: load: %w", err)
		}
		for rows.Next() {
			if err := s.scan(rows); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reference: scan: %w", err)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("reference: load: %w", err)
		}
	}
	if err := c.loadLifecycle(ctx, db); err != nil {
		return nil, err
	}
	c.index()
	return c, nil
}

// New builds a catalog from its parts, for tests of pure logic that need
// reference data without a database.
func New(cats []Category, types []ViolationType, deps []Department, entries []EntryPoint, insts []Institution, services ...Service) *Catalog {
	c := &Catalog{Categories: cats, ViolationTypes: types, Departments: deps, EntryPoints: entries, Institutions: insts, Services: services}
	c.index()
	return c
}

func (c *Catalog) index() {
	c.categories = map[string]*Category{}
	for i := range c.Categories {
		c.categories[c.Categories[i].Code] = &c.Categories[i]
	}
	c.types = map[string]*ViolationType{}
	for i := range c.ViolationTypes {
		c.types[c.ViolationTypes[i].Code] = &c.ViolationTypes[i]
	}
	c.departments = map[string]*Department{}
	for i := range c.Departments {
		d := &c.Departments[i]
		c.departments[d.Code] = d
		c.departments[d.LegacyCode] = d
	}
	c.entries = map[string]*EntryPoint{}
	for i := range c.EntryPoints {
		c.entries[c.EntryPoints[i].Code] = &c.EntryPoints[i]
	}
	c.insts = map[string]*Institution{}
	for i := range c.Institutions {
		c.insts[c.Institutions[i].Code] = &c.Institutions[i]
	}
	c.indexLifecycle()
	c.services = map[string]*Service{}
	for i := range c.Services {
		c.services[c.Services[i].Code] = &c.Services[i]
	}
}

// Service returns the referral service with code, if any.
func (c *Catalog) Service(code string) (*Service, bool) {
	x, ok := c.services[code]
	return x, ok
}

// ViolationType returns the type with code, if any.
func (c *Catalog) ViolationType(code string) (*ViolationType, bool) {
	t, ok := c.types[code]
	return t, ok
}

// Category returns the category with code, if any.
func (c *Catalog) Category(code string) (*Category, bool) {
	x, ok := c.categories[code]
	return x, ok
}

// Department returns the department with an ISO code (GT-13) or a legacy
// letter code (GT-HU), case-insensitively; callers store its ISO code.
func (c *Catalog) Department(code string) (*Department, bool) {
	d, ok := c.departments[strings.ToUpper(strings.TrimSpace(code))]
	return d, ok
}

// EntryPoint returns the entry point with code, if any.
func (c *Catalog) EntryPoint(code string) (*EntryPoint, bool) {
	e, ok := c.entries[code]
	return e, ok
}

// Institution returns the institution with code, if any.
func (c *Catalog) Institution(code string) (*Institution, bool) {
	i, ok := c.insts[code]
	return i, ok
}

// TypesInCategories lists the codes of the types in any of the categories.
func (c *Catalog) TypesInCategories(categories []string) []string {
	var out []string
	for _, t := range c.ViolationTypes {
		if slices.Contains(categories, t.Category) {
			out = append(out, t.Code)
		}
	}
	return out
}
