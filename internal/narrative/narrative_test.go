package narrative

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/keys"
)

func TestFieldOpen(t *testing.T) {
	k, _ := keys.NewDataKey()
	other, _ := keys.NewDataKey()
	owner := uuid.New()
	text := "la niña duerme en el albergue"
	sealed := CaseSummary.Seal(k, owner.String(), &text)
	tests := []struct {
		name    string
		field   Field
		keys    map[uuid.UUID]keys.DataKey
		row     string
		want    *string
		wantErr error
	}{
		{"Opens", CaseSummary, map[uuid.UUID]keys.DataKey{owner: k}, owner.String(), &text, nil},
		{"ErasedOpensToNothing", CaseSummary, map[uuid.UUID]keys.DataKey{}, owner.String(), nil, nil},
		{"ErrOpenOtherRow", CaseSummary, map[uuid.UUID]keys.DataKey{owner: k}, uuid.NewString(), nil, keys.ErrOpen},
		{"ErrOpenOtherColumn", NoteText, map[uuid.UUID]keys.DataKey{owner: k}, owner.String(), nil, keys.ErrOpen},
		{"ErrOpenOtherKey", CaseSummary, map[uuid.UUID]keys.DataKey{owner: other}, owner.String(), nil, keys.ErrOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.field.Open(tc.keys, owner, tc.row, sealed)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("opened %v, want %v", got, tc.want)
			}
		})
	}
	if s := CaseSummary.Seal(k, owner.String(), nil); s != nil {
		t.Fatal("nothing sealed something")
	}
}
