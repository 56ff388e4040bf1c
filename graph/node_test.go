package graph

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/apperr"
)

func TestNodeIDRoundTrip(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	for _, tc := range []struct {
		typ string
		ids []uuid.UUID
	}{{nodeCase, []uuid.UUID{a}}, {nodeEvidence, []uuid.UUID{a, b}}, {nodeAccount, []uuid.UUID{b}},
		{nodeAlert, []uuid.UUID{a}}, {nodeErasure, []uuid.UUID{b}}} {
		ref, err := parseNodeID(nodeID(tc.typ, tc.ids...))
		if err != nil || ref.typ != tc.typ || len(ref.ids) != len(tc.ids) || ref.ids[0] != tc.ids[0] {
			t.Errorf("%s: parsed %+v, %v", tc.typ, ref, err)
		}
	}
	if ref, err := parseNodeID(auditNodeID(4711)); err != nil || ref.typ != nodeAudit || ref.seq != 4711 || ref.ids != nil {
		t.Errorf("AuditEvent: parsed %+v, %v", ref, err)
	}
}

func TestNodeIDRefusesWhatWasNeverIssued(t *testing.T) {
	id := uuid.NewString()
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, s := range map[string]string{
		"NotBase64":       "!!",
		"UnknownType":     nodeID("Widget", uuid.New()),
		"MissingCase":     nodeID(nodeEvidence, uuid.New()),
		"ExtraPart":       nodeID(nodeCase, uuid.New(), uuid.New()),
		"BareUUID":        id,
		"UppercasedUUID":  raw("Case:" + strings.ToUpper(id)),
		"AuditEventUUID":  raw("AuditEvent:" + id),
		"AuditEventZero":  raw("AuditEvent:0"),
		"AuditEventSign":  raw("AuditEvent:+12"),
		"AuditEventPad":   raw("AuditEvent:012"),
		"AuditEventExtra": raw("AuditEvent:12:13"),
		"AlertNoID":       raw("Alert"),
	} {
		if _, err := parseNodeID(s); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: parseNodeID(%q) = %v, want BAD_USER_INPUT", name, s, err)
		}
	}
}
