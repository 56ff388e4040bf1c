package referral

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"amparo/internal/apperr"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/reference"
)

const (
	maxReason = 2000
	// minJustification: as for an identity revealed, a basis without
	// consent needs more than a word.
	minJustification = 20
	maxServices      = 20
)

var trim = child.TrimOpt

func (in *ReferInput) normalize() {
	in.ToInstitution = strings.ToUpper(strings.TrimSpace(in.ToInstitution))
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Kind == "" {
		in.Kind = KindReferral
	}
	for i, s := range in.Services {
		in.Services[i] = strings.ToUpper(strings.TrimSpace(s))
	}
	c := &in.Consent
	c.By, c.Basis, c.Justification = trim(c.By), trim(c.Basis), trim(c.Justification)
	if c.By != nil {
		*c.By = strings.ToUpper(*c.By)
	}
	if c.Basis != nil {
		*c.Basis = strings.ToUpper(*c.Basis)
	}
}

// validate checks what can be checked without the case: the recipient and
// the services are known, the reason is there, consent or a basis is.
func (in *ReferInput) validate(cat *reference.Catalog, now time.Time) error {
	var v apperr.Validation
	if in.Kind != KindReferral && in.Kind != KindTransfer {
		v.Add("kind", "use REFERRAL o TRANSFER", "use REFERRAL or TRANSFER")
	}
	if inst, ok := cat.Institution(in.ToInstitution); !ok {
		v.Add("toInstitution", "institución desconocida: las válidas están en la consulta institutions",
			"unknown institution: the valid ones are in the institutions query")
	} else if !slices.Contains(inst.Functions, "receives") {
		v.Add("toInstitution", "esta institución no recibe derivaciones", "this institution does not receive referrals")
	}
	validServices(&v, "services", in.Services, cat)
	if len(in.Services) == 0 {
		v.Add("services", "indique al menos un servicio (consulta referralServices)", "name at least one service (referralServices query)")
	}
	if in.Reason == "" {
		v.Add("reason", "indique el motivo de la derivación", "say why the case is referred")
	} else {
		v.Text("reason", in.Reason, maxReason)
	}
	if in.Urgency != nil && !slices.Contains([]casefile.Urgency{casefile.Immediate, casefile.High, casefile.Medium, casefile.Low}, *in.Urgency) {
		v.Add("urgency", "urgencia no válida", "invalid urgency")
	}
	in.Consent.validate(&v, now)
	return v.Err()
}

func validServices(v *apperr.Validation, field string, codes []string, cat *reference.Catalog) {
	if len(codes) > maxServices {
		v.Add(field, fmt.Sprintf("a lo sumo %d servicios", maxServices), fmt.Sprintf("at most %d services", maxServices))
		return
	}
	for i, code := range codes {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := cat.Service(code); !ok {
			v.Add(f, "servicio desconocido: los válidos están en la consulta referralServices",
				"unknown service: the valid ones are in the referralServices query")
		} else if slices.Index(codes, code) < i {
			v.Add(f, "servicio repetido", "service listed twice")
		}
	}
}

// validate: consent given names who gave it (and not a basis); consent not
// given names the legal basis and justifies it in writing.
func (c *ConsentInput) validate(v *apperr.Validation, now time.Time) {
	if c.Given {
		if c.By == nil || !slices.Contains(consenters, *c.By) {
			v.Add("consent.by", "indique quién dio el consentimiento: CHILD, CAREGIVER o GUARDIAN",
				"say who gave consent: CHILD, CAREGIVER or GUARDIAN")
		}
		if c.Basis != nil {
			v.Add("consent.basis", "con consentimiento no se indica base legal", "a basis is for referrals without consent")
		}
		if c.GivenAt != nil && c.GivenAt.After(now.Add(5*time.Minute)) {
			v.Add("consent.givenAt", "la fecha del consentimiento está en el futuro", "consent cannot be given in the future")
		}
		return
	}
	if c.By != nil || c.GivenAt != nil {
		v.Add("consent.given", "indique given: true si hubo consentimiento", "set given: true when consent was given")
	}
	if c.Basis == nil || !slices.Contains(bases, *c.Basis) {
		v.Add("consent.basis", "sin consentimiento, indique la base legal: BEST_INTERESTS, LEGAL_OBLIGATION o VITAL_INTEREST",
			"without consent, give the legal basis: BEST_INTERESTS, LEGAL_OBLIGATION or VITAL_INTEREST")
	}
	switch {
	case c.Justification == nil || utf8.RuneCountInString(*c.Justification) < minJustification:
		v.Add("consent.justification", fmt.Sprintf("sin consentimiento, justifique por escrito (al menos %d caracteres)", minJustification),
			fmt.Sprintf("without consent, write a justification (at least %d characters)", minJustification))
	default:
		v.Text("consent.justification", *c.Justification, maxReason)
	}
}

func optionalText(v *apperr.Validation, field string, s *string) {
	if s != nil {
		v.Text(field, *s, maxReason)
	}
}
