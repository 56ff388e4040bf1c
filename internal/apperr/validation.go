package apperr

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Validation collects every problem found in one input so that the caller
// can report them all at once rather than one per round trip, which matters
// on the slow links of border posts.
type Validation struct {
	fields []*Error
}

// Add records that the input at field is wrong, saying why in both
// languages.
func (v *Validation) Add(field, es, en string) {
	v.fields = append(v.fields, &Error{Kind: Invalid, Field: field, Msg: Text{ES: es, EN: en}})
}

// AddError records a field problem already built elsewhere; its fields are
// re-rooted under prefix (for example "child").
func (v *Validation) AddError(prefix string, err error) {
	ae, ok := As(err)
	if !ok || ae.Kind != Invalid {
		v.fields = append(v.fields, &Error{Kind: Invalid, Field: prefix, Err: err})
		return
	}
	list := ae.Fields
	if len(list) == 0 {
		list = []*Error{ae}
	}
	for _, f := range list {
		cp := *f
		cp.Field = join(prefix, f.Field)
		v.fields = append(v.fields, &cp)
	}
}

// Failed reports whether any problem was recorded.
func (v *Validation) Failed() bool { return len(v.fields) > 0 }

// Err returns nil when the input is valid, otherwise one Invalid error that
// lists every problem, with the first one's field and message on top.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	first := v.fields[0]
	return &Error{Kind: Invalid, Field: first.Field, Msg: first.Msg, Fields: append([]*Error(nil), v.fields...)}
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case field[0] == '[':
		return prefix + field
	default:
		return prefix + "." + field
	}
}

// Problems lists every field problem of err, or nil when err is not an
// Invalid error.
func Problems(err error) []*Error {
	ae, ok := As(err)
	if !ok || ae.Kind != Invalid {
		return nil
	}
	if len(ae.Fields) > 0 {
		return ae.Fields
	}
	return []*Error{ae}
}

// Text checks free text: valid UTF-8, at most max characters, no control
// characters other than line breaks and tabs (which have no place in a
// record and can hide content from whoever reads it).
func (v *Validation) Text(field, s string, max int) {
	if !utf8.ValidString(s) {
		v.Add(field, "texto con codificación no válida", "text is not valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.Add(field, fmt.Sprintf("a lo sumo %d caracteres (tiene %d)", max, n),
			fmt.Sprintf("at most %d characters (got %d)", max, n))
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			v.Add(field, "el texto contiene caracteres de control", "the text contains control characters")
			return
		}
	}
}

// OneOf checks that s is one of the allowed values.
func (v *Validation) OneOf(field, s string, allowed map[string]bool) {
	if !allowed[s] {
		v.Add(field, fmt.Sprintf("valor no válido %q", s), fmt.Sprintf("invalid value %q", s))
	}
}

// Set builds the allowed values of OneOf.
func Set(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, s := range values {
		m[s] = true
	}
	return m
}
