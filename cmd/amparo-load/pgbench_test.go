package main

import (
	"os"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// After a replay, the data keys of the recording's KEK are gone and the
// stack's own are kept: the next start of the stack depends on the first,
// its cases on the second.
func TestForgetReplayedKeys(t *testing.T) {
	text, err := os.ReadFile("filecase.pgbench")
	if err != nil {
		t.Fatal(err)
	}
	m := recordedKEK.FindSubmatch(text)
	if m == nil {
		t.Fatal("no KEK of a data key found in filecase.pgbench: a replay would leave keys no key file opens")
	}
	recorded := string(m[1])
	db := postgrestest.New(t)
	owner := db.Owner(t)
	for kek, n := range map[string]int{recorded: 3, "20261202-00000000": 2} {
		for range n {
			if _, err := owner.Exec(`INSERT INTO data_keys (owner_kind, owner_id, kek_id, wrapped) VALUES ('case', $1, $2, '\x00')`,
				uuid.New(), kek); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := forgetReplayedKeys(t.Context(), "filecase.pgbench", db.OwnerURL); err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	rows, err := owner.Query(`SELECT kek_id, count(*) FROM data_keys GROUP BY kek_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kek string
		var n int
		if err := rows.Scan(&kek, &n); err != nil {
			t.Fatal(err)
		}
		left[kek] = n
	}
	if left[recorded] != 0 || left["20261202-00000000"] != 2 {
		t.Fatalf("data keys left by KEK: %v; want none of %s and the stack's 2", left, recorded)
	}
	if err := forgetReplayedKeys(t.Context(), "filecase.pgbench", ""); err == nil {
		t.Fatal("no owner URL, and no word that the keys stay")
	}
}
