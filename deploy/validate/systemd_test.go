package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestSystemdUnitsVerify runs systemd-analyze verify on the single-machine
// units (with their programs stood in for by /bin/true, which verify
// requires to exist): any complaint, an unknown key included, fails.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	exe := regexp.MustCompile(`(?m)^(Exec\w+=)\S+`)
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"amparo.service", "minio.service"} {
		b, err := os.ReadFile(filepath.Join("../vm", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		writeFile(t, p, exe.ReplaceAllString(string(b), "${1}/bin/true"))
		units = append(units, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
