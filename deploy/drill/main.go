// Command drill is Amparo's restore drill, run by deploy/restore-drill
// (make restore-drill). On this machine it builds two sites and loses the
// first:
//
//   - site one: PostgreSQL (WAL archiving on, backed up by pgBackRest),
//     MinIO with Amparo's evidence and checkpoint buckets, and `amparo
//     serve`;
//   - site two: a MinIO over TLS holding pgBackRest's repository and the
//     replicas of both buckets (bucket replication, versioning and object
//     lock on both sides), and pg_receivewal streaming the WAL as a
//     synchronous standby, so that a commit PostgreSQL acknowledges is also
//     on site two.
//
// Cases are filed under load (amparo-load, which records every case the
// server acknowledged) with evidence uploads among them; a full backup is
// taken during the load; then site one is killed (SIGKILL of PostgreSQL,
// MinIO and Amparo). The drill restores the backup into a fresh cluster up
// to the latest WAL there is (the archive, then the streamed tail), starts
// Amparo on it and on site two's buckets, and checks that every
// acknowledged case and evidence is served, that the checkpoints kept their
// compliance lock, and that `amparo audit verify --deep` exits 0. It
// prints the recovery point (acknowledged cases lost) and time.
//
// It is a module of its own, so that Amparo's go.mod stays free of MinIO's
// admin client (madmin-go), which only the replication set-up needs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"amparo/internal/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "restore drill:", err)
		os.Exit(1)
	}
	if !rep.Passed {
		fmt.Fprintln(os.Stderr, "restore drill: FAILED:", rep.Failure)
		os.Exit(1)
	}
}

// options are the drill's flags.
type options struct {
	amparo, load, minio string
	dir                 string
	keep                bool
	clients             int
	before, after       time.Duration
	evidenceEvery       time.Duration
	jsonOut             string
	archiveOnly         bool
}

func parse(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.StringVar(&o.amparo, "amparo", "", "the amparo binary (required)")
	fs.StringVar(&o.load, "load", "", "the amparo-load binary (required)")
	fs.StringVar(&o.minio, "minio", "", "the MinIO binary (default: as devstack finds it, AMPARO_MINIO_BIN or ./bin/minio)")
	fs.StringVar(&o.dir, "dir", "", "working directory (default: a new one under /tmp, removed at the end unless --keep)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (servers' logs, pgBackRest's repository)")
	fs.IntVar(&o.clients, "c", 8, "concurrent clients filing cases")
	fs.DurationVar(&o.before, "before", 5*time.Second, "load before the full backup starts")
	fs.DurationVar(&o.after, "after", 10*time.Second, "load after the full backup ends, before site one is lost")
	fs.DurationVar(&o.evidenceEvery, "evidence-every", 500*time.Millisecond, "one evidence upload this often during the load")
	fs.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	fs.BoolVar(&o.archiveOnly, "archive-only", false, "restore from pgBackRest's archive alone, leaving out the streamed WAL: the recovery point were the stream lost too (expect lost cases, and a failed drill)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.amparo == "" || o.load == "" {
		return nil, fmt.Errorf("--amparo and --load are required (deploy/restore-drill builds them)")
	}
	if o.minio == "" {
		bin, err := devstack.FindMinIO(os.Getenv)
		if err != nil {
			return nil, err
		}
		o.minio = bin
	}
	return o, nil
}

// report is what the drill found, printed at the end.
type report struct {
	Passed      bool   `json:"passed"`
	Failure     string `json:"failure,omitempty"`
	ArchiveOnly bool   `json:"archiveOnly"` // restored without the streamed WAL

	CasesAcknowledged    int `json:"casesAcknowledged"`
	CasesRestored        int `json:"casesRestored"` // acknowledged ones served by the restored Amparo
	CasesLost            int `json:"casesLost"`     // the recovery point: acknowledged, not restored
	CasesInDatabase      int `json:"casesInDatabase"`
	EvidenceAcknowledged int `json:"evidenceAcknowledged"`
	EvidenceRestored     int `json:"evidenceRestored"`
	// EvidenceLocked arrived on site two locked as recorded; the lock of
	// EvidenceLockPending was not yet set on site one at the loss (the
	// restored janitor sets it).
	EvidenceLocked      int `json:"evidenceLockedOnSiteTwo"`
	EvidenceLockPending int `json:"evidenceLockPending"`

	BackupSeconds      float64 `json:"backupSeconds"`
	BackupBytes        int64   `json:"backupBytes"`     // the database's size, as pgBackRest saw it
	BackupRepoBytes    int64   `json:"backupRepoBytes"` // stored, compressed
	LoadAfterBackup    float64 `json:"loadAfterBackupSeconds"`
	StreamedSegments   int     `json:"streamedWalSegments"`
	CheckpointsLocked  int     `json:"checkpointsLockedOnSiteTwo"`
	CheckpointDeletion string  `json:"checkpointDeletionOnSiteTwo"`

	// The recovery time, from the loss of site one to the restored Amparo
	// ready, and its parts.
	RecoverySeconds float64 `json:"recoverySeconds"`
	RestoreSeconds  float64 `json:"restoreSeconds"` // pgbackrest restore and the streamed tail copied
	ReplaySeconds   float64 `json:"replaySeconds"`  // PostgreSQL's recovery until promoted
	StartSeconds    float64 `json:"amparoStartSeconds"`
	VerifyOutput    string  `json:"auditVerify"`
}

func (r *report) fail(format string, args ...any) {
	if r.Failure == "" {
		r.Failure = fmt.Sprintf(format, args...)
	}
}

func run(ctx context.Context, args []string, out io.Writer) (*report, error) {
	o, err := parse(args)
	if err != nil {
		return nil, err
	}
	dir := o.dir
	if dir == "" {
		// Short, under /tmp: PostgreSQL's socket path must stay under 107 bytes.
		if dir, err = os.MkdirTemp("/tmp", "amparo-drill-"); err != nil {
			return nil, err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	// The postgres user passes through it to its cluster and to
	// pgBackRest's configuration.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	say("working in %s", dir)

	d := &drill{o: o, dir: dir, say: say, rep: &report{}}
	defer d.cleanup()
	if err := d.run(ctx); err != nil {
		return nil, err
	}
	rep := d.rep
	rep.Passed = rep.Failure == ""
	printReport(out, rep)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func printReport(out io.Writer, r *report) {
	fmt.Fprintf(out, `
restore drill report
  cases acknowledged before the loss   %d
  cases served by the restored Amparo  %d of them (%d cases in the restored database)
  recovery point                       %d acknowledged cases lost
  evidence acknowledged / restored     %d / %d
  evidence on site two                 %d arrived locked as recorded; %d not yet locked at the loss
  full backup under load               %.1f s, %d MB of database, %d MB in the repository
  load after the backup                %.1f s (replayed from the archived WAL and %d streamed segments)
  checkpoints on site two              %d, each under COMPLIANCE lock; deleting one: %s
  recovery time                        %.1f s from the loss of site one to Amparo ready
                                         (restore %.1f s, WAL replay %.1f s, Amparo start %.1f s)
  amparo audit verify --deep           %s
`, r.CasesAcknowledged, r.CasesRestored, r.CasesInDatabase, r.CasesLost,
		r.EvidenceAcknowledged, r.EvidenceRestored,
		r.EvidenceLocked, r.EvidenceLockPending,
		r.BackupSeconds, r.BackupBytes>>20, r.BackupRepoBytes>>20,
		r.LoadAfterBackup, r.StreamedSegments,
		r.CheckpointsLocked, r.CheckpointDeletion,
		r.RecoverySeconds, r.RestoreSeconds, r.ReplaySeconds, r.StartSeconds,
		r.VerifyOutput)
	if r.Failure != "" {
		fmt.Fprintf(out, "  FAILED: %s\n", r.Failure)
	} else {
		fmt.Fprintf(out, "  PASSED\n")
	}
}
