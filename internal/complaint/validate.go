package complaint

import (
	"fmt"
	"strings"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/child"
	"amparo/internal/idempotency"
	"amparo/internal/reference"
)

const (
	maxDescription = 8000
	maxViolations  = 30
	maxChildren    = 20
)

var (
	kinds    = apperr.Set("CHILD", "FAMILY_MEMBER", "INSTITUTION", "NGO", "ANONYMOUS")
	channels = apperr.Set("IN_PERSON", "PHONE", "WRITTEN", "REFERRAL")
)

func (in *SubmitInput) normalize(cat *reference.Catalog) {
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	in.Description = strings.TrimSpace(in.Description)
	in.Complainant.Name = child.TrimOpt(in.Complainant.Name)
	in.Complainant.Contact = child.TrimOpt(in.Complainant.Contact)
	in.DepartmentCode = child.TrimOpt(in.DepartmentCode)
	if in.DepartmentCode != nil {
		if d, ok := cat.Department(*in.DepartmentCode); ok {
			in.DepartmentCode = &d.Code
		}
	}
	in.EntryPoint = child.TrimOpt(in.EntryPoint)
	for i := range in.Violations {
		in.Violations[i] = strings.TrimSpace(in.Violations[i])
	}
	for i := range in.Children {
		in.Children[i].Normalize()
	}
}

func (in *SubmitInput) validate(cat *reference.Catalog, now time.Time) error {
	var v apperr.Validation
	idempotency.CheckKey(&v, "idempotencyKey", in.IdempotencyKey)
	if !kinds[string(in.Complainant.Kind)] {
		v.Add("complainant.kind", "tipo de denunciante no válido", "invalid complainant kind")
	}
	if in.Complainant.Kind == "ANONYMOUS" && (in.Complainant.Name != nil || in.Complainant.Contact != nil) {
		v.Add("complainant.name", "una denuncia anónima no lleva nombre ni contacto",
			"an anonymous complaint carries no name or contact")
	}
	if in.Complainant.Name != nil {
		v.Text("complainant.name", *in.Complainant.Name, 200)
	}
	if in.Complainant.Contact != nil {
		v.Text("complainant.contact", *in.Complainant.Contact, 200)
	}
	if !channels[string(in.Channel)] {
		v.Add("channel", "canal no válido", "invalid channel")
	}
	if in.Description == "" {
		v.Add("description", "describa lo sucedido", "describe what happened")
	} else {
		v.Text("description", in.Description, maxDescription)
	}
	if in.DepartmentCode != nil {
		if _, ok := cat.Department(*in.DepartmentCode); !ok {
			v.Add("departmentCode", "departamento desconocido: use GT-01 a GT-22 (consulta departments)", "unknown department: use GT-01 to GT-22 (departments query)")
		}
	}
	if in.EntryPoint != nil {
		if _, ok := cat.EntryPoint(*in.EntryPoint); !ok {
			v.Add("entryPoint", "punto de entrada desconocido: los válidos están en la consulta entryPoints", "unknown entry point: the valid ones are in the entryPoints query")
		}
	}
	if in.OccurredOn != nil && in.OccurredOn.After(now) {
		v.Add("occurredOn", "la fecha está en el futuro", "the date is in the future")
	}
	checkViolations(&v, cat, "violations", in.Violations)
	if len(in.PerpetratorTypes) > maxViolations {
		v.Add("perpetratorTypes", fmt.Sprintf("a lo sumo %d tipos de agresor", maxViolations),
			fmt.Sprintf("at most %d perpetrator types", maxViolations))
	}
	for i, p := range in.PerpetratorTypes {
		if !p.Valid() {
			v.Add(fmt.Sprintf("perpetratorTypes[%d]", i), "tipo de agresor no válido", "invalid perpetrator type")
		}
	}
	if len(in.Children)+len(in.ChildIDs) > maxChildren {
		v.Add("children", fmt.Sprintf("a lo sumo %d niñas, niños o adolescentes por denuncia", maxChildren),
			fmt.Sprintf("at most %d children per complaint", maxChildren))
	}
	for i := range in.Children {
		in.Children[i].Validate(&v, fmt.Sprintf("children[%d]", i), now, false)
	}
	return v.Err()
}

// checkViolations checks a list of violation codes: 1 to maxViolations
// known, current, distinct codes.
func checkViolations(v *apperr.Validation, cat *reference.Catalog, field string, codes []string) {
	if len(codes) == 0 || len(codes) > maxViolations {
		v.Add(field, fmt.Sprintf("indique de 1 a %d vulneraciones", maxViolations),
			fmt.Sprintf("give 1 to %d violations", maxViolations))
	}
	seen := map[string]bool{}
	for i, code := range codes {
		f := fmt.Sprintf("%s[%d]", field, i)
		if t, ok := cat.ViolationType(code); !ok {
			v.Add(f, "tipo de vulneración desconocido: los válidos están en la consulta violationTypes", "unknown violation type: the valid ones are in the violationTypes query")
		} else if t.Deprecated {
			v.Add(f, "tipo de vulneración en desuso", "deprecated violation type")
		} else if seen[code] {
			v.Add(f, "vulneración repetida", "repeated violation")
		}
		seen[code] = true
	}
}
