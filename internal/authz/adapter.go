package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/jmoiron/sqlx"
)

// errReadOnly: rules change through SyncPolicy (the policy file) and
// role_grants (the admin mutations), never through the enforcer.
var errReadOnly = errors.New("authz: the enforcer's rules are read-only")

// readOnly provides the write half of persist.Adapter, refused.
type readOnly struct{}

func (readOnly) SavePolicy(model.Model) error                { return errReadOnly }
func (readOnly) AddPolicy(string, string, []string) error    { return errReadOnly }
func (readOnly) RemovePolicy(string, string, []string) error { return errReadOnly }
func (readOnly) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}

// Static serves a policy text and fixed grants, for tests of the policy.
type Static struct {
	readOnly
	Policy string
	Grants []Grant
}

// LoadPolicy implements persist.Adapter.
func (s Static) LoadPolicy(m model.Model) error {
	for _, r := range parsePolicy(s.Policy) {
		if err := persist.LoadPolicyArray(r, m); err != nil {
			return err
		}
	}
	for _, g := range s.Grants {
		if err := persist.LoadPolicyArray([]string{"g", g.UserID.String(), g.Role, g.Domain}, m); err != nil {
			return err
		}
	}
	return nil
}

// DB loads the policy rules from authz_rules and the grouping rules from
// role_grants, for enabled users only.
type DB struct {
	readOnly
	db *sqlx.DB
}

// NewDB returns an adapter over db.
func NewDB(db *sqlx.DB) DB { return DB{db: db} }

// LoadPolicy implements persist.Adapter.
func (a DB) LoadPolicy(m model.Model) error {
	ctx := context.Background()
	var rules []struct {
		PType string `db:"ptype"`
		V0    string `db:"v0"`
		V1    string `db:"v1"`
		V2    string `db:"v2"`
		V3    string `db:"v3"`
	}
	if err := a.db.SelectContext(ctx, &rules, `SELECT ptype, v0, v1, v2, v3 FROM authz_rules ORDER BY ptype, v0, v1, v2, v3`); err != nil {
		return fmt.Errorf("authz: load rules: %w", err)
	}
	for _, r := range rules {
		if err := persist.LoadPolicyArray([]string{r.PType, r.V0, r.V1, r.V2, r.V3}, m); err != nil {
			return err
		}
	}
	var grants []Grant
	const q = `
SELECT g.user_id AS userid, g.role, g.domain FROM role_grants g
JOIN users u ON u.id = g.user_id WHERE u.disabled_at IS NULL`
	if err := a.db.SelectContext(ctx, &grants, q); err != nil {
		return fmt.Errorf("authz: load grants: %w", err)
	}
	for _, g := range grants {
		if err := persist.LoadPolicyArray([]string{"g", g.UserID.String(), g.Role, g.Domain}, m); err != nil {
			return err
		}
	}
	return nil
}

// SyncPolicy makes authz_rules hold exactly the rules of policyText. The
// application's role cannot write the table: authz_sync_rules (migration
// 00015), a SECURITY DEFINER function, replaces the rules under a lock,
// audits what changed (policy:sync, with counts and the SHA-256 of the set)
// and tells every replica to reload, in one transaction. A start with an
// unchanged policy changes and records nothing.
func SyncPolicy(ctx context.Context, db *sqlx.DB, policyText string) error {
	rules := parsePolicy(policyText)
	for i, r := range rules {
		for len(r) < 5 {
			r = append(r, "")
		}
		rules[i] = r
	}
	b, err := json.Marshal(rules)
	if err != nil {
		return fmt.Errorf("authz: sync policy: %w", err)
	}
	if _, err := db.ExecContext(ctx, `SELECT authz_sync_rules($1::jsonb)`, string(b)); err != nil {
		return fmt.Errorf("authz: sync policy: %w", err)
	}
	return nil
}

// parsePolicy reads the p lines of a policy file.
func parsePolicy(text string) [][]string {
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		out = append(out, f)
	}
	return out
}
