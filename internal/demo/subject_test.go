package demo

import "testing"

// TestDexSubject matches the subject Dex documents for a static-password
// user (user id 08a8684b-..., connector local).
func TestDexSubject(t *testing.T) {
	const want = "CiQwOGE4Njg0Yi1kYjg4LTRiNzMtOTBhOS0zY2QxNjYxZjU0NjYSBWxvY2Fs"
	if got := DexSubject("08a8684b-db88-4b73-90a9-3cd1661f5466", "local"); got != want {
		t.Fatalf("DexSubject = %s, want %s", got, want)
	}
}
