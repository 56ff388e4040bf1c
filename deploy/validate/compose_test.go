package validate

import (
	"context"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads a compose file the way `docker compose config` does:
// schema validation (unknown keys are errors), interpolation, env files,
// consistency of references (depends_on, volumes, networks).
func loadCompose(t *testing.T, path string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("amparo"), cli.WithEnv(nil), cli.WithConsistency(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// TestComposeFileIsComplete: the compose file loads, pins its images,
// migrates in a one-shot service the replicas wait for, and gives the
// replicas every variable the server requires (it cannot be run here: no
// Docker engine on the development machine).
func TestComposeFileIsComplete(t *testing.T) {
	p := loadCompose(t, "../compose.yaml")
	for name, s := range p.Services {
		img := s.Image
		if s.Build != nil && strings.HasSuffix(img, ":local") {
			continue // built from this repository
		}
		if i := strings.LastIndex(img, ":"); i < 0 || img[i+1:] == "latest" || strings.Contains(img[i+1:], "/") {
			t.Errorf("service %s: image %q is not pinned to a version", name, img)
		}
	}
	app, ok := p.Services["amparo"]
	if !ok {
		t.Fatal("no service amparo")
	}
	for _, name := range []string{"AMPARO_DATABASE_URL", "AMPARO_SEALER_DATABASE_URL", "AMPARO_S3_ENDPOINT", "AMPARO_S3_ACCESS_KEY", "AMPARO_S3_SECRET_KEY",
		"AMPARO_OIDC_ISSUER", "AMPARO_OIDC_AUDIENCE", "AMPARO_AUDIT_SIGNING_KEY", "AMPARO_IDENTITY_KEY"} {
		if v := app.Environment[name]; v == nil || *v == "" {
			t.Errorf("amparo lacks %s", name)
		}
	}
	if v := app.Environment["AMPARO_DEV_TOKENS"]; v != nil && *v != "" && *v != "0" && *v != "false" {
		t.Error("the compose stack accepts dev tokens")
	}
	want := map[string]string{"migrate": types.ServiceConditionCompletedSuccessfully, "minio": types.ServiceConditionHealthy,
		"dex": types.ServiceConditionHealthy}
	for dep, cond := range want {
		if d, ok := app.DependsOn[dep]; !ok || d.Condition != cond {
			t.Errorf("amparo depends_on %s: %+v, want %s", dep, d, cond)
		}
	}
	if m := p.Services["migrate"]; strings.Join(m.Command, " ") != "migrate up" || m.Environment["AMPARO_APP_PASSWORD"] == nil {
		t.Errorf("migrate service: command %v, app password set %v", m.Command, m.Environment["AMPARO_APP_PASSWORD"] != nil)
	}
	for _, s := range []string{"postgres", "minio", "dex"} {
		if p.Services[s].HealthCheck == nil {
			t.Errorf("%s has no healthcheck for depends_on to wait on", s)
		}
	}
	// The role the replicas log in as is the one the migration enables.
	if u := *app.Environment["AMPARO_DATABASE_URL"]; !strings.Contains(u, "amparo_app:"+*p.Services["migrate"].Environment["AMPARO_APP_PASSWORD"]+"@") {
		t.Errorf("AMPARO_DATABASE_URL %s does not use amparo_app with the password migrate sets", u)
	}
}

// TestComposeTyposAreRefused: the loader above can fail.
func TestComposeTyposAreRefused(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/compose.yaml"
	writeFile(t, path, "services:\n  a:\n    image: busybox:1.37.0\n    restrat: always\n")
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("x"), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil {
		t.Fatal("a misspelt key loaded")
	}
}
