package graph

import (
	"fmt"

	"amparo/internal/reference"
)

// The lookups below resolve codes that the database guarantees (foreign
// keys to the reference tables); a miss means the catalog in memory is older
// than the database, which a restart fixes.

func (r *Resolver) institution(code string) (*reference.Institution, error) {
	if x, ok := r.Catalog.Institution(code); ok {
		return x, nil
	}
	return nil, fmt.Errorf("institution %q not in catalog", code)
}

func (r *Resolver) department(code string) (*reference.Department, error) {
	if x, ok := r.Catalog.Department(code); ok {
		return x, nil
	}
	return nil, fmt.Errorf("department %q not in catalog", code)
}

func (r *Resolver) violationType(code string) (*reference.ViolationType, error) {
	if x, ok := r.Catalog.ViolationType(code); ok {
		return x, nil
	}
	return nil, fmt.Errorf("violation type %q not in catalog", code)
}

func (r *Resolver) category(code string) (*reference.Category, error) {
	if x, ok := r.Catalog.Category(code); ok {
		return x, nil
	}
	return nil, fmt.Errorf("violation category %q not in catalog", code)
}

// pointers lists pointers to the elements of a catalog slice.
func pointers[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

func (r *Resolver) violationTypes(codes []string) ([]*reference.ViolationType, error) {
	return each(codes, r.violationType)
}

func (r *Resolver) institutions(codes []string) ([]*reference.Institution, error) {
	return each(codes, r.institution)
}

// each looks every code up with one.
func each[T any](codes []string, one func(string) (*T, error)) ([]*T, error) {
	out := make([]*T, 0, len(codes))
	for _, code := range codes {
		x, err := one(code)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}
