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
	}{{nodeCase, []uuid.UUID{a}}, {nodeEvidence, []uuid.UUID{a, b}}, {nodeAccount, []uuid.UUID{b}}} {
		typ, ids, err := parseNodeID(nodeID(tc.typ, tc.ids...))
		if err != nil || typ != tc.typ || len(ids) != len(tc.ids) || ids[0] != tc.ids[0] {
			t.Errorf("%s: parsed %s %v, %v", tc.typ, typ, ids, err)
		}
	}
}

func TestNodeIDRefusesWhatWasNeverIssued(t *testing.T) {
	id := uuid.NewString()
	for name, s := range map[string]string{
		"NotBase64":      "!!",
		"UnknownType":    nodeID("Alert", uuid.New()),
		"MissingCase":    nodeID(nodeEvidence, uuid.New()),
		"ExtraPart":      nodeID(nodeCase, uuid.New(), uuid.New()),
		"BareUUID":       id,
		"UppercasedUUID": base64.RawURLEncoding.EncodeToString([]byte("Case:" + strings.ToUpper(id))),
	} {
		if _, _, err := parseNodeID(s); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: parseNodeID(%q) = %v, want BAD_USER_INPUT", name, s, err)
		}
	}
}
