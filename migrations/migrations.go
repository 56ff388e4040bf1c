// Package migrations holds Amparo's database schema as numbered SQL files,
// embedded in the binary and applied by goose (see internal/postgres).
//
// Migrations run as the schema owner, never as the application's login role
// amparo_app: the owner grants amparo_app exactly the privileges it needs, so
// that, for example, the audit trail is INSERT and SELECT only.
//
// 00002_reference.sql and 00021_lifecycle_reference.sql are generated from
// the CSV files in reference/ (copied from the project's reference data, and
// the reviewed routing rules, deadlines and public holidays) by `go
// generate`; edit the CSV files, never the SQL.
package migrations

import "embed"

//go:generate go run ./genref -in reference -out 00002_reference.sql
//go:generate go run ./genref -in reference -out 00021_lifecycle_reference.sql -set lifecycle

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
