// Package devstack runs private PostgreSQL and MinIO servers as child
// processes, for `amparo dev` and for the test harness.
//
// The servers are started directly (the postgres binary itself, not
// `pg_ctl start`, which daemonizes) so that they belong to the process that
// started them: their output goes to a log file we own, we notice at once
// when they exit, Stop shuts them down in order, and if the parent dies
// anyway the kernel sends them a signal (Pdeathsig on Linux) instead of
// leaving orphans holding ports and data directories. A server that exits
// without being asked to (killed, crashed) is started again on the same
// port, with a growing pause between attempts, until Stop. Each child runs in
// its own process group, so a Ctrl-C in the terminal reaches only the
// parent, which then stops the servers after it has stopped using them.
//
// State lives under the directories the caller passes and is reused on the
// next start: the cluster and its superuser password, the MinIO data and
// its root credentials and KMS key.
package devstack
