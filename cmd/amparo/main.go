// Command amparo is Amparo's one binary: the server (serve), the embedded
// development stack (dev), dev tokens (token), migrations (migrate), the
// audit and key tools (audit, keys) and the schema for client tooling
// (schema).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(int(ex))
		}
		fmt.Fprintln(os.Stderr, "amparo:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status and no further message: the
// command has already said what it had to.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `usage: amparo <command> [flags]

commands:
  serve                          run the server, configured from AMPARO_* variables
  dev [--data-dir DIR] [--listen ADDR]
                                 run the whole stack locally (PostgreSQL, MinIO, server)
  token --data-dir DIR --user EMAIL [--ttl 1h]
                                 print a dev bearer token for a seeded user
  migrate up|status              apply or list database migrations
  audit verify [--checkpoint FILE] [--unsealed-after 1m] [--deep]
                                 check the audit trail (and, with --deep, every evidence object)
  audit checkpoint               print the latest signed checkpoint
  audit keygen [--origin NAME] FILE
                                 write a new audit signing key
  keys init FILE                 write a new identity key file (AMPARO_IDENTITY_KEY)
  keys rotate                    rewrap every data key under a new key-encryption key
  demo seed [--subject email|dex]
                                 add the demo users to a migrated database (demonstrations only)
  schema                         print the GraphQL schema (SDL with descriptions) for client tooling
`

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serveCmd(ctx, rest, getenv, stderr)
	case "dev":
		return devCmd(ctx, rest, getenv, stdout, stderr)
	case "token":
		return tokenCmd(ctx, rest, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, getenv, stdout)
	case "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return keysCmd(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return demoCmd(ctx, rest, getenv, stdout, stderr)
	case "schema":
		return schemaCmd(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "amparo: unknown command %q\n%s", cmd, usage)
		return exitError(2)
	}
}
