package devstack

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the readiness probe speaks to the server as a client would
)

// superuser is the cluster's superuser role, as initdb -U names it.
const superuser = "postgres"

// Postgres is a private PostgreSQL cluster run as a child process.
type Postgres struct {
	DataDir  string // the cluster directory (PGDATA)
	Port     int    // TCP port on 127.0.0.1
	Password string // superuser password, kept in DataDir + ".password"
	LogPath  string // the server's output, DataDir + ".log"

	sockDir     string  // Unix socket directory
	tempSockDir bool    // sockDir is ours to remove on Stop
	proc        *child  // the process of the last start attempt
	keeper      *keeper // restarts the server when it dies
}

// Option changes how StartPostgres runs the server.
type Option func(*pgOptions)

type pgOptions struct {
	fsyncOff bool
}

// WithFsyncOff trades durability for speed: no fsync, no full-page writes,
// no waiting for WAL flush at commit. For tests only, whose clusters are
// thrown away; a crash of the machine can corrupt such a cluster.
func WithFsyncOff() Option {
	return func(o *pgOptions) { o.fsyncOff = true }
}

// StartPostgres starts the cluster in dir, creating it with initdb first if
// dir holds none, and returns once it accepts connections. A new cluster
// gets a random superuser password, kept in dir + ".password" (0600) and
// reused by later starts; the server's output goes to dir + ".log".
//
// PostgreSQL refuses to run as root, so when we are root the cluster
// belongs to, and the server runs as, the "postgres" system user; the
// directories above dir are made searchable by it where needed.
//
// ctx bounds the start-up only: once StartPostgres has returned, the server
// runs until Stop.
func StartPostgres(ctx context.Context, dir string, log *slog.Logger, opts ...Option) (*Postgres, error) {
	log = orDiscard(log)
	var o pgOptions
	for _, opt := range opts {
		opt(&o)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devstack: postgres dir: %w", err)
	}
	initdb, server, err := findPostgresBinaries()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	if err := prepareDataDir(dir, cred, log); err != nil {
		return nil, err
	}

	p := &Postgres{DataDir: dir, LogPath: dir + ".log"}
	pwPath := dir + ".password"
	switch _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); {
	case err == nil:
		b, err := os.ReadFile(pwPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("devstack: %s holds a cluster, but its superuser password file %s is missing; remove %s to start afresh", dir, pwPath, dir)
		} else if err != nil {
			return nil, fmt.Errorf("devstack: postgres password: %w", err)
		}
		if p.Password = strings.TrimSpace(string(b)); p.Password == "" {
			return nil, fmt.Errorf("devstack: superuser password file %s is empty", pwPath)
		}
	case errors.Is(err, fs.ErrNotExist):
		log.Info("creating PostgreSQL cluster", "dir", dir)
		if p.Password, err = initCluster(ctx, initdb, dir, pwPath, p.LogPath, cred, log); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("devstack: postgres dir: %w", err)
	}
	if err := removeStalePID(dir, log); err != nil {
		return nil, err
	}
	if p.sockDir, p.tempSockDir, err = makeSocketDir(dir, cred); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok && p.tempSockDir {
			os.RemoveAll(p.sockDir)
		}
	}()

	for try := 1; ; try++ {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		err = p.start(ctx, server, ports[0], cred, o)
		if err == nil {
			break
		}
		if try < startTries && p.proc != nil && p.proc.lostPortRace() {
			log.Warn("postgres port was taken meanwhile; retrying on another", "port", ports[0])
			continue
		}
		return nil, err
	}
	ok = true
	p.keeper = keep("postgres", p.proc, log, func(ctx context.Context) (*child, error) {
		if err := removeStalePID(dir, log); err != nil {
			return nil, err
		}
		if err := p.start(ctx, server, p.Port, cred, o); err != nil {
			return nil, err
		}
		return p.proc, nil
	})
	log.Info("PostgreSQL ready", "addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), "dir", dir, "log", p.LogPath)
	return p, nil
}

// start runs the server on port and waits until it answers queries.
func (p *Postgres) start(ctx context.Context, server string, port int, cred *syscall.Credential, o pgOptions) error {
	args := []string{
		"-D", p.DataDir,
		"-p", strconv.Itoa(port),
		"-k", p.sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=200",
		// Our log capture relies on the server writing to stderr.
		"-c", "logging_collector=off",
	}
	if o.fsyncOff {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	}
	cmd := exec.Command(server, args...)
	cmd.Dir = p.DataDir
	cmd.Env = environWithout("PG")
	// SIGINT is PostgreSQL's fast shutdown: it ends sessions, writes a
	// checkpoint and exits. SIGTERM would wait for clients to disconnect.
	cmd.SysProcAttr = sysProcAttr(cred, syscall.SIGINT)
	c, err := startChild("postgres", cmd, p.LogPath, syscall.SIGINT)
	if err != nil {
		return err
	}
	p.proc = c
	if p.Port != port { // a restart reuses the port, and must not write it while clients read it
		p.Port = port
	}

	db, err := sql.Open("postgres", p.SuperuserURL("postgres"))
	if err != nil {
		_ = c.stop()
		return fmt.Errorf("devstack: postgres: %w", err)
	}
	defer db.Close()
	err = c.waitReady(ctx, func(ctx context.Context) error {
		var one int
		return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	})
	if err != nil {
		_ = c.stop()
		return err
	}
	return nil
}

// URL returns a connection URL for user on database dbname over TCP.
func (p *Postgres) URL(user, password, dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	if password == "" {
		u.User = url.User(user)
	}
	return u.String()
}

// SuperuserURL returns a connection URL for the superuser "postgres" on
// database dbname.
func (p *Postgres) SuperuserURL(dbname string) string {
	return p.URL(superuser, p.Password, dbname)
}

// Stop shuts the server down (fast shutdown: sessions are ended), waiting
// up to 10 seconds before killing it. Until then a server that dies is
// restarted on the same port. Calling it again returns the first call's
// result.
func (p *Postgres) Stop() error {
	err := p.keeper.stop()
	if p.tempSockDir {
		os.RemoveAll(p.sockDir)
	}
	return err
}

// findPostgresBinaries returns initdb and postgres from PATH or, as Debian
// installs them outside PATH, from the newest /usr/lib/postgresql/*/bin.
func findPostgresBinaries() (initdb, server string, err error) {
	i, errI := exec.LookPath("initdb")
	s, errS := exec.LookPath("postgres")
	if errI == nil && errS == nil {
		return i, s, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	for _, d := range dirs {
		i, s := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if checkExecutable(i) == nil && checkExecutable(s) == nil {
			return i, s, nil
		}
	}
	return "", "", errors.New("PostgreSQL server binaries not found: install them with `apt-get install -y postgresql` (or run `make run`, which does it)")
}

// postgresUser returns the credentials of the postgres system user, whom
// the cluster belongs to when we run as root.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("devstack: PostgreSQL refuses to run as root, and there is no postgres system user to run it as (the postgresql package creates one): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("devstack: postgres user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("devstack: postgres group id %q: %w", u.Gid, err)
	}
	// No supplementary groups: the server must not keep root's.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDataDir creates dir if needed and gives it the owner and mode the
// server insists on: 0700, owned by the user it runs as.
func prepareDataDir(dir string, cred *syscall.Credential, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("devstack: postgres dir: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("devstack: postgres dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("devstack: postgres dir: %w", err)
	}
	if cred == nil {
		return nil
	}
	if err := ensureSearchable(filepath.Dir(dir), cred, log); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("devstack: postgres dir: %w", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid == cred.Uid && st.Gid == cred.Gid {
		return nil
	}
	// A new directory, or a cluster that was copied in: hand all of it over.
	err = filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("devstack: give %s to the postgres user: %w", dir, err)
	}
	return nil
}

// ensureSearchable makes dir and its ancestors searchable by the user cred
// names, which the server needs to reach its data directory. Directories
// made by os.MkdirTemp (or t.TempDir) are 0700; those that we own get the
// search bits for group and others (0700 becomes 0711), which lets the
// server pass through without listing them.
func ensureSearchable(dir string, cred *syscall.Credential, log *slog.Logger) error {
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("devstack: postgres dir: %w", err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		perm := fi.Mode().Perm()
		searchable := perm&0o001 != 0 ||
			(st.Uid == cred.Uid && perm&0o100 != 0) ||
			(st.Gid == cred.Gid && perm&0o010 != 0)
		if !searchable {
			if st.Uid != uint32(os.Geteuid()) {
				return fmt.Errorf("devstack: the postgres user cannot reach its data directory: %s is not searchable, and not ours to change", dir)
			}
			mode := fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky) | 0o011
			if err := os.Chmod(dir, mode); err != nil {
				return fmt.Errorf("devstack: make %s searchable by the postgres user: %w", dir, err)
			}
			log.Info("made directory searchable by the postgres user", "dir", dir, "mode", mode.Perm().String())
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// initCluster runs initdb on the empty directory dir with a new random
// superuser password, which it saves in pwPath and returns.
func initCluster(ctx context.Context, initdb, dir, pwPath, logPath string, cred *syscall.Credential, log *slog.Logger) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("devstack: postgres dir: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("devstack: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); remove it or choose another directory", dir)
	}
	password := randomSecret()
	// Saved before initdb runs: a cluster whose password is lost is useless.
	if err := writeFileAtomic(pwPath, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: save postgres password: %w", err)
	}
	// initdb reads the password from a file, which must be readable by the
	// user it runs as, and by nobody else.
	tmpDir, err := os.MkdirTemp("", "amparo-initdb-")
	if err != nil {
		return "", fmt.Errorf("devstack: initdb password file: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	pwFile := filepath.Join(tmpDir, "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: initdb password file: %w", err)
	}
	if cred != nil {
		for _, p := range []string{tmpDir, pwFile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return "", fmt.Errorf("devstack: initdb password file: %w", err)
			}
		}
	}

	// initdb writes PG_VERSION first and the rest after, so a run cut
	// short would leave a directory that looks like a cluster but is not
	// one. It therefore works in a staging directory, which becomes dir
	// only once complete. initdb cannot create it: as root, the parent
	// belongs to us, not to the postgres user.
	staging := dir + ".initdb"
	if err := os.RemoveAll(staging); err != nil { // left by a killed run
		return "", fmt.Errorf("devstack: initdb: %w", err)
	}
	if err := os.Mkdir(staging, 0o700); err != nil {
		return "", fmt.Errorf("devstack: initdb: %w", err)
	}
	defer os.RemoveAll(staging) // a no-op once renamed
	if cred != nil {
		if err := os.Chown(staging, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", fmt.Errorf("devstack: initdb: %w", err)
		}
	}

	// C.UTF-8 sorts by code point like C, but knows which characters are
	// letters, so upper() and ILIKE work on "ñ" and "á". Where the C
	// library lacks it, fall back to plain C. (A failed initdb empties the
	// directory it was given, so the second try starts clean.)
	for _, locale := range []string{"--locale=C.UTF-8", "--no-locale"} {
		cmd := exec.CommandContext(ctx, initdb, "-D", staging, "-U", superuser,
			"--auth=scram-sha-256", "--pwfile="+pwFile, "-E", "UTF8", locale)
		cmd.Dir = filepath.Dir(dir) // our working directory may be closed to the postgres user
		cmd.Env = environWithout("PG")
		// On SIGTERM initdb cleans up after itself; SIGKILL would not let it.
		cmd.SysProcAttr = sysProcAttr(cred, syscall.SIGTERM)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = stopTimeout
		out, err := cmd.CombinedOutput()
		appendLog(logPath, fmt.Sprintf("\n=== devstack: %s initdb %s\n%s", time.Now().Format(time.RFC3339), strings.Join(cmd.Args[1:], " "), out))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("devstack: initdb %s: %w", dir, ctx.Err())
		}
		if locale != "--no-locale" && strings.Contains(string(out), "locale") {
			log.Warn("initdb failed with the C.UTF-8 locale; retrying with C", "error", err)
			continue
		}
		return "", fmt.Errorf("devstack: initdb %s: %w; its output (also in %s):\n%s", dir, err, logPath, tailString(string(out)))
	}
	// dir is empty (checked above); os.Rename will not replace a directory.
	if err := os.Remove(dir); err != nil {
		return "", fmt.Errorf("devstack: initdb: %w", err)
	}
	if err := os.Rename(staging, dir); err != nil {
		return "", fmt.Errorf("devstack: initdb: %w", err)
	}
	return password, nil
}

// makeSocketDir returns the directory for the server's Unix socket:
// dir/sock, or, where that path would exceed the 107-byte limit on socket
// paths, a new directory under the temporary directory (temp reports that
// case; Stop removes it). The socket is not how we connect, but the server
// insists on one, and the default, /var/run/postgresql, is not ours.
// It clears what a killed server left there, unless postmaster.pid names a
// live process (which removeStalePID has already ruled out wherever /proc
// lets it tell).
func makeSocketDir(dir string, cred *syscall.Credential) (sockDir string, temp bool, err error) {
	sockDir = filepath.Join(dir, "sock")
	if len(sockDir+"/.s.PGSQL.65535") > 107 {
		if sockDir, err = os.MkdirTemp("", "amparo-pgsock-"); err != nil {
			return "", false, fmt.Errorf("devstack: postgres socket dir: %w", err)
		}
		temp = true
	} else {
		// A socket lock file is judged like postmaster.pid; a stale one
		// whose pid was reused would stop the server if the port repeats.
		if !pidFileLive(dir) {
			if err := os.RemoveAll(sockDir); err != nil {
				return "", false, fmt.Errorf("devstack: postgres socket dir: %w", err)
			}
		}
		if err := os.Mkdir(sockDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", false, fmt.Errorf("devstack: postgres socket dir: %w", err)
		}
	}
	if cred != nil {
		if err := os.Chown(sockDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", false, fmt.Errorf("devstack: postgres socket dir: %w", err)
		}
	}
	return sockDir, temp, nil
}

// removeStalePID deals with the postmaster.pid a killed server left
// behind. When its pid is gone the server copes by itself, and must be left
// to: before it replaces the file it checks that no orphaned backend still
// uses the shared memory the file names. It cannot cope with a pid that
// now belongs to another live program, as after a reboot or in a new
// container, where pids are reused; with a zombie, which a parent that
// does not reap its children leaves behind; or with a file cut short by a
// crash. It would refuse to start, so those files are removed, unless some
// process still works in dir. A server that really runs on dir is an error.
func removeStalePID(dir string, log *slog.Logger) error {
	path := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	var stale string
	switch {
	case err != nil || pid <= 0:
		stale = "unreadable"
	case !processAlive(pid):
		return nil
	default:
		state, name, ok := procState(pid)
		if !ok {
			return nil // no /proc: cannot tell, the server will judge
		}
		switch {
		case state == "Z":
			stale = "its server is a zombie"
		case name != "postgres" && name != "postmaster":
			stale = fmt.Sprintf("its pid now belongs to %q", name)
		default:
			// A postmaster's working directory is its data directory.
			if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd == dir {
				return fmt.Errorf("devstack: a PostgreSQL server (pid %d) is already running on %s; stop it first", pid, dir)
			}
			stale = "its pid now belongs to another cluster's server"
		}
	}
	// The backends of a server work in its data directory too; while one
	// lives, the shared memory it uses must not be handed to a new server.
	if pids := processesIn(dir); len(pids) > 0 {
		return fmt.Errorf("devstack: processes of an earlier PostgreSQL server (pids %v) still run in %s; wait for them to exit, or kill them", pids, dir)
	}
	log.Info("removing stale postmaster.pid", "path", path, "reason", stale)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("devstack: remove stale postmaster.pid: %w", err)
	}
	return nil
}

// pidFileLive reports whether dir/postmaster.pid names a live process.
func pidFileLive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return err == nil && pid > 0 && processAlive(pid)
}

// processAlive reports whether a process with this pid exists; EPERM means
// it does, but belongs to someone else. A zombie counts as alive.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// procState returns the state letter ("R", "S", "Z"...) and command name of
// a process from /proc; ok is false where there is no /proc to ask.
func procState(pid int) (state, name string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", false
	}
	// "pid (name) state ...": the name may itself hold spaces and parens.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", "", false
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) == 0 {
		return "", "", false
	}
	return fields[0], s[open+1 : end], true
}

// processesIn returns the live processes whose working directory is dir,
// as far as /proc lets us see.
func processesIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != dir {
			continue
		}
		if state, _, ok := procState(pid); ok && state != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// appendLog adds text to the log file at path, best effort: the log is for
// people, and a failure to write it must not stop the server.
func appendLog(path, text string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(text)
}

// tailString returns the last logTailBytes of s, trimmed.
func tailString(s string) string {
	if len(s) > logTailBytes {
		s = s[len(s)-logTailBytes:]
	}
	return strings.TrimSpace(s)
}
