package referral

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/postgres"
	"amparo/internal/reference"
	"amparo/internal/request"
)

// ActionPrint is the audit action of a printed referral form.
const ActionPrint = "referral:print"

// Form is a printed referral: a one-page PDF.
type Form struct {
	Filename    string
	ContentType string
	Data        []byte
	SHA256      string
}

// Cases reads what the form shows of a case beyond the referral's summary,
// each read authorized (and the identity's audited) by casefile itself.
type Cases interface {
	Identities
	Get(ctx context.Context, id uuid.UUID) (*casefile.Case, error)
}

// Form prints the referral form for the receiving office, in the request's
// language: the summary always; the case's reference and the reason only
// to whoever may read the case; the child's identity only when the
// referral shares it and the caller may read it (that read is audited as
// any identity read). The printing itself is audited too.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without referral:read; NOT_FOUND
// outside the caller's scope; UNAVAILABLE.
func (s *Service) Form(ctx context.Context, id uuid.UUID) (*Form, error) {
	const op = "referral.Form"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.Referral, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	rw, err := get(ctx, s.db, id, false)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	now := s.clock()
	r, err := s.openOne(ctx, s.db, rw)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var c *casefile.Case
	if s.guard.May(ctx, casefile.PermRead, authz.On(authz.Case, r.CaseID)) {
		if c, err = s.cases.Get(ctx, r.CaseID); err != nil {
			return nil, apperr.Wrap(op, err)
		}
	}
	var ident *child.Identity
	if r.ShareIdentity && s.guard.May(ctx, casefile.PermIdentityRead, authz.On(authz.Case, r.CaseID)) {
		if ident, err = s.cases.Identity(ctx, r.CaseID); err != nil {
			return nil, apperr.Wrap(op, err)
		}
	}
	data, err := render(r, c, ident, s.catalog, request.From(ctx).Lang, now)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	sum := sha256.Sum256(data)
	f := &Form{Filename: "derivacion-" + r.ID.String()[:8] + ".pdf", ContentType: "application/pdf", Data: data,
		SHA256: hex.EncodeToString(sum[:])}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: ActionPrint, ObjectType: authz.Referral.Name, ObjectID: r.ID.String(),
			Details: map[string]any{"case": r.CaseID, "identity": ident != nil, "sha256": f.SHA256}})
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return f, nil
}

// words of the form, Spanish then English.
var words = map[string]reference.Label{
	"title":            {ES: "Hoja de derivación", EN: "Referral form"},
	"transfer":         {ES: "Hoja de traslado de caso", EN: "Case transfer form"},
	"number":           {ES: "Derivación", EN: "Referral"},
	"status":           {ES: "Estado", EN: "Status"},
	"from":             {ES: "Institución que deriva", EN: "Referring institution"},
	"to":               {ES: "Institución que recibe", EN: "Receiving institution"},
	"sent":             {ES: "Enviada", EN: "Sent"},
	"due":              {ES: "Responder antes de", EN: "Answer by"},
	"urgency":          {ES: "Urgencia", EN: "Urgency"},
	"case":             {ES: "Caso", EN: "Case"},
	"summary":          {ES: "Resumen", EN: "Summary"},
	"age":              {ES: "Edad", EN: "Age"},
	"sex":              {ES: "Sexo", EN: "Sex"},
	"cats":             {ES: "Vulneraciones", EN: "Violations"},
	"services":         {ES: "Servicios solicitados", EN: "Services asked"},
	"delivered":        {ES: "Servicios prestados", EN: "Services delivered"},
	"consent":          {ES: "Consentimiento", EN: "Consent"},
	"givenBy":          {ES: "Dado por", EN: "Given by"},
	"basis":            {ES: "Sin consentimiento; base legal", EN: "Without consent; legal basis"},
	"reason":           {ES: "Motivo", EN: "Reason"},
	"identity":         {ES: "Identidad de la niña, niño o adolescente", EN: "Identity of the child"},
	"name":             {ES: "Nombre", EN: "Name"},
	"dob":              {ES: "Fecha de nacimiento", EN: "Date of birth"},
	"notShared":        {ES: "No compartida en esta derivación.", EN: "Not shared in this referral."},
	"withheld":         {ES: "Reservada: se muestra a quien puede leerla, tras aceptar.", EN: "Withheld: shown to whoever may read it, after acceptance."},
	"onAccept":         {ES: "Se muestra al aceptar la derivación.", EN: "Shown once the referral is accepted."},
	"unknown":          {ES: "sin dato", EN: "not recorded"},
	"printed":          {ES: "Impreso", EN: "Printed"},
	"confid":           {ES: "CONFIDENCIAL. Datos de una persona menor de edad (Ley PINA). No reproducir ni entregar a terceros.", EN: "CONFIDENTIAL. Data of a minor (Ley PINA). Do not copy or hand to third parties."},
	"CHILD":            {ES: "la niña, niño o adolescente", EN: "the child"},
	"CAREGIVER":        {ES: "cuidador(a)", EN: "caregiver"},
	"GUARDIAN":         {ES: "tutor(a) legal", EN: "legal guardian"},
	"received":         {ES: "Recibido por (nombre, cargo, firma y sello)", EN: "Received by (name, position, signature and stamp)"},
	"date":             {ES: "Fecha y hora", EN: "Date and time"},
	"BEST_INTERESTS":   {ES: "interés superior del niño", EN: "best interests of the child"},
	"LEGAL_OBLIGATION": {ES: "obligación legal", EN: "legal obligation"},
	"VITAL_INTEREST":   {ES: "interés vital", EN: "vital interest"},
	"AGE_0_5":          {ES: "0 a 5 años", EN: "0 to 5 years"},
	"AGE_6_12":         {ES: "6 a 12 años", EN: "6 to 12 years"},
	"AGE_13_17":        {ES: "13 a 17 años", EN: "13 to 17 years"},
	"FEMALE":           {ES: "femenino", EN: "female"},
	"MALE":             {ES: "masculino", EN: "male"},
	"OTHER":            {ES: "otro", EN: "other"},
	"UNKNOWN":          {ES: "sin dato", EN: "unknown"},
}

// maxFormReasonLines keeps the form to one page: the reason is cut beyond
// it, and says so.
const maxFormReasonLines = 12

// render lays the form out on one A4 page. The core fonts take the
// Windows-1252 encoding, which covers Spanish.
func render(r *Referral, c *casefile.Case, ident *child.Identity, cat *reference.Catalog, lang string, now time.Time) ([]byte, error) {
	w := func(key string) string {
		if l, ok := words[key]; ok {
			return l.In(lang)
		}
		return key
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	// A page of text is a few KiB either way; left uncompressed, the form
	// can be checked for what it must not hold.
	pdf.SetCompression(false)
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	title := w("title")
	if r.Kind == KindTransfer {
		title = w("transfer")
	}
	pdf.SetTitle(title, true)
	pdf.SetMargins(15, 15, 15)
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 15)
	pdf.CellFormat(0, 8, tr(title), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 8)
	pdf.SetTextColor(150, 0, 0)
	pdf.MultiCell(0, 4, tr(w("confid")), "", "L", false)
	pdf.SetTextColor(0, 0, 0)
	pdf.Ln(2)

	field := func(label, value string) {
		pdf.SetFont("Helvetica", "B", 9)
		pdf.CellFormat(55, 5, tr(label), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(0, 5, tr(value), "", "L", false)
	}
	section := func(label string) {
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "B", 11)
		pdf.SetFillColor(230, 230, 230)
		pdf.CellFormat(0, 6.5, tr(label), "", 1, "L", true, 0, "")
		pdf.Ln(1)
	}
	inst := func(code string) string {
		if i, ok := cat.Institution(code); ok {
			return i.Name.In(lang) + " (" + code + ")"
		}
		return code
	}
	at := func(t time.Time) string { return t.In(child.Guatemala).Format("2006-01-02 15:04") + " (GT)" }

	field(w("number"), r.ID.String())
	field(w("status"), string(r.Status))
	field(w("from"), inst(r.From))
	field(w("to"), inst(r.To))
	field(w("sent"), at(r.CreatedAt))
	field(w("due"), at(r.DueAt))
	field(w("urgency"), string(r.Urgency))
	if c != nil {
		field(w("case"), c.Reference)
	}

	section(w("summary"))
	age := w("unknown")
	if r.AgeBand != nil {
		age = w(string(*r.AgeBand))
	}
	field(w("age"), age)
	field(w("sex"), w(string(r.Sex)))
	var cats []string
	for _, code := range r.Categories {
		if x, ok := cat.Category(code); ok {
			cats = append(cats, x.Label.In(lang))
		} else {
			cats = append(cats, code)
		}
	}
	field(w("cats"), strings.Join(cats, "; "))
	services := func(codes []string) string {
		var out []string
		for _, code := range codes {
			if x, ok := cat.Service(code); ok {
				out = append(out, x.Label.In(lang))
			} else {
				out = append(out, code)
			}
		}
		return strings.Join(out, "; ")
	}
	field(w("services"), services(r.Services))
	if len(r.ServicesDelivered) > 0 {
		field(w("delivered"), services(r.ServicesDelivered))
	}

	section(w("consent"))
	if r.Consent.Given && r.Consent.By != nil {
		v := w(*r.Consent.By)
		if r.Consent.At != nil {
			v += ", " + at(*r.Consent.At)
		}
		field(w("givenBy"), v)
	} else if r.Consent.Basis != nil {
		field(w("basis"), w(*r.Consent.Basis))
	}

	section(w("reason"))
	pdf.SetFont("Helvetica", "", 9)
	if c != nil {
		wd, _ := pdf.GetPageSize()
		pdf.MultiCell(0, 4.5, clip(pdf, tr(r.Reason), wd-30, maxFormReasonLines), "", "L", false)
	} else {
		pdf.MultiCell(0, 4.5, tr(w("onAccept")), "", "L", false)
	}

	section(w("identity"))
	switch {
	case ident != nil:
		var name []string
		for _, p := range []*string{ident.GivenName, ident.FamilyName, ident.OtherNames} {
			if p != nil && *p != "" {
				name = append(name, *p)
			}
		}
		field(w("name"), strings.Join(name, " "))
		if ident.DateOfBirth != nil {
			field(w("dob"), ident.DateOfBirth.Format(time.DateOnly))
		}
	case r.ShareIdentity:
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(0, 4.5, tr(w("withheld")), "", "L", false)
	default:
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(0, 4.5, tr(w("notShared")), "", "L", false)
	}

	pdf.Ln(10)
	pdf.SetFont("Helvetica", "", 9)
	pdf.CellFormat(120, 5, tr(w("received")), "T", 0, "L", false, 0, "")
	pdf.CellFormat(10, 5, "", "", 0, "L", false, 0, "")
	pdf.CellFormat(0, 5, tr(w("date")), "T", 1, "L", false, 0, "")

	// Page breaks are off: content past the footer would be lost, not moved.
	if _, h := pdf.GetPageSize(); pdf.GetY() > h-20 {
		return nil, fmt.Errorf("referral form overflows one page")
	}
	pdf.SetY(-18)
	pdf.SetFont("Helvetica", "I", 7.5)
	pdf.MultiCell(0, 3.5, tr(fmt.Sprintf("Amparo · %s %s · %s", w("printed"), at(now), w("confid"))), "T", "L", false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render referral form: %w", err)
	}
	return buf.Bytes(), nil
}

// clip keeps the first lines of text (single-byte, as translated for the
// core fonts) that fit in about maxLines lines of width mm in the current font,
// however the text breaks, and marks the cut. Word wrapping takes a little
// more room than the text's width: a sixth is allowed for it.
func clip(pdf *fpdf.Fpdf, text string, width float64, maxLines int) string {
	var out []string
	n := 0
	for _, para := range strings.Split(text, "\n") {
		lines := int(math.Ceil(pdf.GetStringWidth(para) * 7 / 6 / width))
		lines = max(lines, 1)
		if n+lines <= maxLines {
			out = append(out, para)
			n += lines
			continue
		}
		if keep := maxLines - n; keep > 0 {
			out = append(out, para[:len(para)*keep/lines]+" [...]")
		} else {
			out = append(out, "[...]")
		}
		break
	}
	return strings.Join(out, "\n")
}
