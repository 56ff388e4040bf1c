-- The overdue queue (issue 14). Overdue is a deadline before now, which
-- cannot lead an index walked in the page's order, (created_at DESC, id
-- DESC): walking cases_created, a page read every case until 50 overdue
-- ones passed the scope, about 1,400 rows at a million cases. This index
-- walks the same order over the cases that have a deadline, with the
-- deadline as a trailing key column: PostgreSQL checks due_at < now on the
-- index entries and reads from the table only the cases already overdue,
-- then filters the scope (about 170 rows at either size; README, "At the
-- size of a country").
--
-- Built CONCURRENTLY, outside a transaction, so that migrating a registry of
-- a million cases does not block filing while the index builds. A build
-- that failed half-way leaves an invalid index, dropped first when the
-- migration runs again.

-- +goose NO TRANSACTION
-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS cases_due_created;
CREATE INDEX CONCURRENTLY cases_due_created ON cases (created_at DESC, id DESC, due_at) WHERE due_at IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS cases_due_created;
