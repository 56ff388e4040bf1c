package postgrestest_test

import (
	"os"
	"testing"

	"amparo/internal/postgres"
	"amparo/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// Each test gets its own database, migrated, seeded, and reached as the
// application role with the application's privileges only.
func TestFreshDatabasePerTest(t *testing.T) {
	a := postgrestest.New(t)
	b := postgrestest.New(t)
	if a.Name == b.Name {
		t.Fatal("two tests share a database")
	}
	if _, err := a.App.Exec(`INSERT INTO case_counters (institution_code, year, last) VALUES ('PGN', 2026, 7)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.App.Get(&n, `SELECT count(*) FROM case_counters`); err != nil || n != 0 {
		t.Fatalf("b sees %d rows of a (%v)", n, err)
	}
	if err := a.App.Get(&n, `SELECT count(*) FROM users`); err != nil || n != 6 {
		t.Fatalf("demo users = %d (%v)", n, err)
	}
	var user string
	if err := a.App.Get(&user, `SELECT current_user`); err != nil || user != "amparo_app" {
		t.Fatalf("connected as %q (%v)", user, err)
	}
}

// The application role cannot rewrite the audit trail: privileges refuse it
// first, and triggers refuse it even to the owner.
func TestAuditTrailAppendOnly(t *testing.T) {
	db := postgrestest.New(t)
	if _, err := db.App.Exec(`INSERT INTO audit.events (action, object_type, outcome) VALUES ('test:insert', 'test', 'SUCCESS')`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE audit.events SET action = 'test:changed'`,
		`DELETE FROM audit.events`,
		`TRUNCATE audit.events`,
	} {
		_, err := db.App.Exec(q)
		if code := postgres.SQLState(err); code != "42501" { // insufficient_privilege
			t.Errorf("amparo_app %q: SQLSTATE %q (%v), want 42501", q, code, err)
		}
		_, err = db.Owner(t).Exec(q)
		if err == nil {
			t.Errorf("owner %q was not refused by the trigger", q)
		}
	}
}
