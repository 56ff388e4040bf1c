// Package demo seeds the six demo users of `amparo dev` (and of the tests):
// one per role, in the institutions the design names. Their identity-
// provider subject is their email, which is what dev tokens carry.
package demo

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/audit"
	"amparo/internal/postgres"
)

// User is a demo user.
type User struct {
	Email       string
	Name        string
	Institution string // "" for the admin
	Role        string
}

// Users are the demo users.
var Users = []User{
	{"officer@pgn.demo", "Oficial PGN", "PGN", "officer"},
	{"supervisor@pgn.demo", "Supervisora PGN", "PGN", "supervisor"},
	{"officer@sbs.demo", "Oficial SBS", "SBS", "officer"},
	{"intake@igm.demo", "Recepción IGM", "IGM", "intake"},
	{"oversight@pdh.demo", "Supervisión PDH", "PDH", "oversight"},
	{"admin@amparo.demo", "Administración", "", "admin"},
}

// Seed inserts the demo users and their grants when missing, with an audit
// event for each grant it makes; their subject is their email, as dev
// tokens carry. It is idempotent: a second run changes nothing and records
// nothing.
func Seed(ctx context.Context, db *sqlx.DB) error {
	return SeedWith(ctx, db, func(u User) string { return u.Email })
}

// DexSubject is the subject Dex gives a user of its connector connID (for
// static passwords, "local", with the user's userID): the protobuf
// encoding of {user_id, conn_id}, base64url without padding.
func DexSubject(userID, connID string) string {
	b := []byte{0x0a, byte(len(userID))}
	b = append(b, userID...)
	b = append(b, 0x12, byte(len(connID)))
	b = append(b, connID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SeedWith is Seed with each user's identity-provider subject given by
// subject (for an identity provider such as Dex in the compose stack).
func SeedWith(ctx context.Context, db *sqlx.DB, subject func(User) string) error {
	return postgres.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		for _, u := range Users {
			var inst *string
			domain := "system"
			if u.Institution != "" {
				inst, domain = &u.Institution, u.Institution
			}
			const qUser = `
INSERT INTO users (id, email, display_name, institution_code, subject)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING`
			if _, err := tx.ExecContext(ctx, qUser, uuid.New(), u.Email, u.Name, inst, subject(u)); err != nil {
				return fmt.Errorf("demo: user %s: %w", u.Email, err)
			}
			var id uuid.UUID
			if err := tx.GetContext(ctx, &id, `SELECT id FROM users WHERE email = $1`, u.Email); err != nil {
				return fmt.Errorf("demo: user %s: %w", u.Email, err)
			}
			const qGrant = `
INSERT INTO role_grants (user_id, role, domain) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
			res, err := tx.ExecContext(ctx, qGrant, id, u.Role, domain)
			if err != nil {
				return fmt.Errorf("demo: grant %s: %w", u.Email, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if err := audit.Record(ctx, tx, audit.Event{Action: "role:grant", ObjectType: "user", ObjectID: id.String(),
					Details: map[string]any{"role": u.Role, "domain": domain, "by": "demo seed"}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// ID returns the id of the demo user with email.
func ID(ctx context.Context, db sqlx.QueryerContext, email string) (uuid.UUID, error) {
	var id uuid.UUID
	err := sqlx.GetContext(ctx, db, &id, `SELECT id FROM users WHERE email = $1`, email)
	return id, err
}
