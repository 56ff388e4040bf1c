-- Lists flat at a million cases (issue 14). A page of cases is the newest
-- 50 that pass the caller's scope and the filter. The scope is an OR
-- (assigned to me, my institution's queue, referred to my institution, ...)
-- that no single index serves, so PostgreSQL walks an index in the page's
-- order, (created_at DESC, id DESC), and filters. Walking cases_created
-- for a filtered page reads every case until 50 pass both; led by the
-- filter's column, the walk reads only cases that pass the filter, and the
-- scope drops few of them. The queues (assigned to me, unassigned) and the
-- filters officers and supervisors use (department, urgency, status) each
-- get such an index; the plans, before and after, are in the README
-- ("Figures at a million cases").

-- +goose Up
-- "Assigned to me": an officer's share of the cases, however many officers.
CREATE INDEX cases_assigned_created ON cases (assigned_to, created_at DESC, id DESC) WHERE assigned_to IS NOT NULL;
DROP INDEX cases_assigned; -- its leading column, and nothing more
-- The unassigned queue.
CREATE INDEX cases_unassigned_created ON cases (created_at DESC, id DESC) WHERE assigned_to IS NULL;
CREATE INDEX cases_department_created ON cases (department_code, created_at DESC, id DESC);
CREATE INDEX cases_urgency_created ON cases (urgency, created_at DESC, id DESC);
CREATE INDEX cases_status_created ON cases (status, created_at DESC, id DESC);

-- +goose Down
DROP INDEX cases_status_created;
DROP INDEX cases_urgency_created;
DROP INDEX cases_department_created;
DROP INDEX cases_unassigned_created;
CREATE INDEX cases_assigned ON cases (assigned_to) WHERE assigned_to IS NOT NULL;
DROP INDEX cases_assigned_created;
