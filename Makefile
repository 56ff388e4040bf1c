# Amparo's everyday commands. `make run` starts the whole system on this
# machine; `make test` is what CI runs (.ci/run). Both need PostgreSQL's
# server binaries and a MinIO binary, which the `postgres` and `bin/minio`
# targets provide.

# The MinIO release the project is tested with (also devstack.MinIOVersion).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
# MinIO takes minutes to build, so the binary is kept outside the checkout,
# keyed by version: a clean clone (as in CI) reuses it.
MINIO_CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/amparo/minio-$(MINIO_VERSION)

.PHONY: graphiql run test generate generated vet bench bench-load clean postgres bin/minio web web-test web-generated node chromium screenshots validate-deploy wsclient pgbackrest restore-drill drill-check

# Run everything locally: a private PostgreSQL and MinIO under ./.amparo,
# migrated and seeded, and the server. Pass flags with ARGS="...".
run: postgres bin/minio web graphiql
	go run ./cmd/amparo dev $(ARGS)

# Run all tests against real PostgreSQL and MinIO servers, which the tests
# start themselves, after checking that generated code matches its sources.
test: postgres bin/minio generated graphiql web-test validate-deploy drill-check wsclient
	AMPARO_MINIO_BIN=$(CURDIR)/bin/minio go test -count=1 -timeout 30m ./...

# Decode every deployment file strictly into the upstream types of what
# reads it (Kubernetes, CloudNativePG, Prometheus operator, Prometheus' rule
# parser, compose-go). A module of its own (deploy/validate), so that
# Amparo's go.mod stays free of Kubernetes.
validate-deploy:
	cd deploy/validate && go vet ./... && go test -count=1 ./...

# The restore drill (deploy/restore-drill, README "Backups"): PostgreSQL
# under load backed up continuously by pgBackRest into a second MinIO, the
# evidence and checkpoint buckets replicated there, the first site lost,
# and everything restored and checked. Takes a few minutes, so it is not
# part of `make test`. Pass drill flags with ARGS="...".
restore-drill: postgres bin/minio pgbackrest
	deploy/restore-drill $(ARGS)

# The drill's own module builds, and its replication test passes (two
# MinIO servers, a few seconds); the drill itself is restore-drill.
drill-check: bin/minio
	cd deploy/drill && go vet ./... && AMPARO_MINIO_BIN=$(CURDIR)/bin/minio go test -count=1 ./...

# Generated code (gqlgen's, and the reference-data migration) must be what
# `go generate` makes of the committed sources: regenerate, and fail if
# anything changed.
GENERATED = find graph migrations -type f \( -name '*.go' -o -name '*.sql' \) | sort | xargs sha256sum
generated:
	@before=$$($(GENERATED)); go generate ./...; after=$$($(GENERATED)); \
	if [ "$$before" != "$$after" ]; then \
		echo "generated code was out of date with its sources; it has been regenerated: review and commit it"; \
		exit 1; \
	fi

# The real graphql-ws client (npm package graphql-ws, in node) that the
# subscription tests drive, installed from its committed lock file. Without
# node those tests skip, saying so.
WSCLIENT := cmd/amparo/testdata/wsclient
wsclient:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(WSCLIENT) --no-audit --no-fund --loglevel=error; \
	else \
		echo "node/npm not found: the graphql-ws subscription tests will be skipped (apt-get install nodejs npm)"; \
	fi

# The web console (web/): built by Vite into internal/web/static/dist, which
# the amparo binary embeds. Rebuilt only when its sources changed; its
# dependencies come from the committed lockfile (npm ci).
WEB_DIST := internal/web/static/dist/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package-lock.json
web: $(WEB_DIST)
$(WEB_DIST): web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build
web/node_modules/.package-lock.json: web/package-lock.json | node
	cd web && npm ci --no-audit --no-fund

# Build and test the console: generated types up to date, type check, unit
# tests (vitest), then the browser tests (Playwright driving Debian's
# Chromium) against a real `amparo dev` that they start themselves.
web-test: web web-generated chromium postgres bin/minio
	cd web && npx vitest run
	go build -o bin/amparo-e2e ./cmd/amparo
	cd web && AMPARO_BIN=$(CURDIR)/bin/amparo-e2e AMPARO_MINIO_BIN=$(CURDIR)/bin/minio node e2e/run.mjs

# The console's GraphQL types (web/src/gql) must be what GraphQL Code
# Generator makes of the schema and the operations, as gqlgen's output is.
WEB_GENERATED = find web/src/gql -type f | sort | xargs sha256sum
web-generated: web/node_modules/.package-lock.json
	@before=$$($(WEB_GENERATED)); (cd web && npx graphql-codegen --config codegen.ts >/dev/null); after=$$($(WEB_GENERATED)); \
	if [ "$$before" != "$$after" ]; then \
		echo "web/src/gql was out of date with the schema or the operations; it has been regenerated: review and commit it"; \
		exit 1; \
	fi

# GraphiQL for `amparo dev`, embedded in the binary (graph/graphiql): npm's
# bundles, pinned by web/graphiql's lockfile, gzipped into the embed folder.
GRAPHIQL := graph/graphiql/assets/graphiql.min.js.gz
graphiql: $(GRAPHIQL)
$(GRAPHIQL): web/graphiql/node_modules/.package-lock.json graph/graphiql/build.sh
	sh graph/graphiql/build.sh
web/graphiql/node_modules/.package-lock.json: web/graphiql/package-lock.json | node
	cd web/graphiql && npm ci --no-audit --no-fund --ignore-scripts

# Screenshots of the main screens for the README (docs/screenshots).
screenshots: web chromium postgres bin/minio
	go build -o bin/amparo-e2e ./cmd/amparo
	cd web && SCREENSHOTS=$(CURDIR)/docs/screenshots AMPARO_BIN=$(CURDIR)/bin/amparo-e2e AMPARO_MINIO_BIN=$(CURDIR)/bin/minio node e2e/run.mjs

# Node.js 20.19 or newer (Vite 8) must be there; Debian 12's own package is
# too old, so this only checks and says what to do.
node:
	@v=$$(node -p 'process.versions.node' 2>/dev/null || echo 0); \
	if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then \
		echo "Node.js 20.19 or newer is needed to build web/ (found $$v): install it, for example from nodesource"; \
		exit 1; \
	fi

# $(call debian-package,COMMAND,PACKAGE,WHAT): COMMAND must be there; as
# root, Debian's PACKAGE is installed with apt-get, else the target says how.
define debian-package
	@if command -v $(1) >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(3)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(2); \
	else \
		echo "$(1) not found: install it with"; \
		echo "  sudo apt-get install -y $(2)"; \
		exit 1; \
	fi
endef

# Debian's Chromium, for the browser tests.
chromium:
	$(call debian-package,chromium,chromium,Chromium for the browser tests)

# Debian's pgBackRest, for the restore drill.
pgbackrest:
	$(call debian-package,pgbackrest,pgbackrest,pgBackRest for the restore drill)

# Regenerate generated code (GraphQL resolvers and models).
generate:
	go generate ./...
	cd web && npx graphql-codegen --config codegen.ts

# Static checks.
vet:
	go vet ./...

# Run the benchmarks, without the tests.
bench: postgres bin/minio
	AMPARO_MINIO_BIN=$(CURDIR)/bin/minio go test -run '^$$' -bench . -benchmem ./...

# The load figures of the README (issue 14) against a running stack: `make
# run` in another shell, or DATA= the data directory and LOAD_URL= the
# GraphQL URL of another `amparo dev`. As officer@pgn.demo, 16 clients: each
# list and queue (a page of 50), a case read, then filing compared with
# pgbench replaying the statements filing sends (cmd/amparo-load/filecase.pgbench)
# on the same cluster. Seed first for size: amparo-load --seed N. One JSON
# line per operation, with the CPU it cost Amparo, PostgreSQL and the load
# tool (cpuMsPerOp, read from /proc), then the machine's load average.
DATA ?= ./.amparo
LOAD_URL ?= http://127.0.0.1:8080/graphql
LOAD_TIME ?= 20s
LOAD_OPS ?= cases casesByDepartment casesByUrgency casesByStatus assignedToMe unassigned overdue case
bench-load:
	go build -o bin/amparo-load ./cmd/amparo-load
	@set -a; . $(DATA)/dev.env; set +a; \
	tok=$$(go run ./cmd/amparo token --data-dir $(DATA) --user officer@pgn.demo) && \
	for op in $(LOAD_OPS); do \
		bin/amparo-load --url $(LOAD_URL) --token $$tok --op $$op -c 16 -d $(LOAD_TIME) --cpu --json || exit 1; \
	done && \
	bin/amparo-load --url $(LOAD_URL) --token $$tok --op fileCase -c 16 -d $(LOAD_TIME) --cpu --pgbench cmd/amparo-load/filecase.pgbench --json && \
	echo "load average: $$(cat /proc/loadavg)"

# Remove build outputs from the checkout. The cached MinIO build stays.
clean:
	rm -rf bin internal/web/static/dist

# Link ./bin/minio to the cached MinIO build, building it first if needed.
# Phony, so that a change of MINIO_VERSION always relinks.
bin/minio:
	@if [ ! -x "$(MINIO_CACHE)/minio" ]; then \
		echo "building MinIO $(MINIO_VERSION) into $(MINIO_CACHE) (takes a few minutes, once)"; \
		GOBIN="$(MINIO_CACHE)" go install github.com/minio/minio@$(MINIO_VERSION); \
	fi
	mkdir -p bin
	ln -sf "$(MINIO_CACHE)/minio" bin/minio

# Make sure PostgreSQL's server binaries (initdb, postgres) are installed;
# the tests and `amparo dev` run a private cluster with them. As root, it
# installs Debian's package; the package may also create and try to start a
# default cluster, which does no harm, as ours use their own ports.
postgres:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing PostgreSQL server binaries"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
	else \
		echo "PostgreSQL server binaries (initdb, postgres) not found: install them with"; \
		echo "  sudo apt-get install -y postgresql"; \
		exit 1; \
	fi
