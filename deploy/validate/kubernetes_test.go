package validate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	cnpg "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	monitoring "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// kinds maps apiVersion/kind to the upstream Go type a document must decode
// into. A kind missing here is an error: add its type, do not skip it.
var kinds = map[string]func() any{
	"v1/Namespace":                            func() any { return &corev1.Namespace{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"postgresql.cnpg.io/v1/Cluster":           func() any { return &cnpg.Cluster{} },
	"postgresql.cnpg.io/v1/ScheduledBackup":   func() any { return &cnpg.ScheduledBackup{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoring.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoring.PrometheusRule{} },
}

// object is one decoded document, with where it came from.
type object struct {
	where string // file:document
	kind  string // apiVersion/kind
	name  string
	v     any
}

// manifests decodes every document of every file in deploy/kubernetes
// strictly: unknown or duplicate fields, or an unknown kind, fail.
func manifests(t *testing.T) []object { return manifestsIn(t, "../kubernetes/*.yaml") }

// manifestsIn decodes, as manifests does, the files pattern matches.
func manifestsIn(t *testing.T, pattern string) []object {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests %s: %v", pattern, err)
	}
	var out []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			where := fmt.Sprintf("%s#%d", filepath.Base(f), i)
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct{ Name string }
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if head.Kind == "" {
				if len(bytes.TrimSpace(stripComments(doc))) > 0 {
					t.Errorf("%s: a document without kind", where)
				}
				continue
			}
			kind := head.APIVersion + "/" + head.Kind
			mk, ok := kinds[kind]
			if !ok {
				t.Errorf("%s: %s has no Go type to validate against (add it to kinds)", where, kind)
				continue
			}
			v := mk()
			if err := yaml.UnmarshalStrict(doc, v); err != nil {
				t.Errorf("%s (%s %s): %v", where, kind, head.Metadata.Name, err)
				continue
			}
			out = append(out, object{where, kind, head.Metadata.Name, v})
		}
	}
	return out
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l...)
		}
	}
	return out
}

func find[T any](objs []object, name string) *T {
	for _, o := range objs {
		if v, ok := o.v.(*T); ok && o.name == name {
			return v
		}
	}
	return nil
}

// TestKubernetesManifestsDecodeStrictly is the typo check, and then the
// properties the issue asks of the deployment, one by one.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	objs := manifests(t)
	if t.Failed() {
		t.FailNow()
	}

	d := find[appsv1.Deployment](objs, "amparo")
	if d == nil {
		t.Fatal("no Deployment amparo")
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("Deployment replicas = %v, want 3", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("Deployment lacks the /readyz readiness probe")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("Deployment lacks the /healthz liveness probe")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("Deployment lacks resource requests and a memory limit")
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	for _, name := range []string{"AMPARO_DATABASE_URL", "AMPARO_SEALER_DATABASE_URL", "AMPARO_S3_ENDPOINT", "AMPARO_S3_ACCESS_KEY", "AMPARO_S3_SECRET_KEY",
		"AMPARO_OIDC_ISSUER", "AMPARO_OIDC_AUDIENCE", "AMPARO_AUDIT_SIGNING_KEY", "AMPARO_IDENTITY_KEY"} {
		if !env[name] {
			t.Errorf("Deployment does not set %s", name)
		}
	}
	if pdb := find[policyv1.PodDisruptionBudget](objs, "amparo"); pdb == nil || pdb.Spec.MinAvailable == nil {
		t.Error("no PodDisruptionBudget amparo with minAvailable")
	}
	if job := find[batchv1.Job](objs, jobName(objs)); job == nil ||
		!reflect.DeepEqual(job.Spec.Template.Spec.Containers[0].Args, []string{"migrate", "up"}) {
		t.Error("no migration Job running `amparo migrate up`")
	}
	for _, name := range []string{"amparo", "minio", "minio-hl"} {
		if find[corev1.Service](objs, name) == nil {
			t.Errorf("no Service %s", name)
		}
	}
	if find[networkingv1.Ingress](objs, "amparo") == nil {
		t.Error("no Ingress amparo")
	}
	if find[monitoring.ServiceMonitor](objs, "amparo") == nil {
		t.Error("no ServiceMonitor amparo")
	}

	pg := find[cnpg.Cluster](objs, "amparo-pg")
	switch {
	case pg == nil:
		t.Error("no CloudNativePG Cluster amparo-pg")
	case pg.Spec.Instances != 3:
		t.Errorf("Cluster instances = %d, want 3", pg.Spec.Instances)
	case pg.Spec.PostgresConfiguration.Synchronous == nil || pg.Spec.PostgresConfiguration.Synchronous.Number < 1:
		t.Error("Cluster without synchronous replication")
	case pg.Spec.Backup == nil || pg.Spec.Backup.BarmanObjectStore == nil:
		t.Error("Cluster without backups to object storage")
	}

	mi := find[appsv1.StatefulSet](objs, "minio")
	if mi == nil || mi.Spec.Replicas == nil || *mi.Spec.Replicas < 4 {
		t.Fatal("no distributed MinIO StatefulSet of at least 4 pods (erasure coding needs 4 drives)")
	}
	if args := strings.Join(mi.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "{0...3}") {
		t.Errorf("MinIO args %q do not name its 4 peers", args)
	}

	checkSecretRefs(t, objs)
}

func jobName(objs []object) string {
	for _, o := range objs {
		if _, ok := o.v.(*batchv1.Job); ok {
			return o.name
		}
	}
	return ""
}

// generatedSecrets are made by operators, not by secrets.yaml: CloudNativePG
// writes <cluster>-app for the database owner.
var generatedSecrets = map[string][]string{"amparo-pg-app": {"username", "password", "uri"}}

// checkSecretRefs: every secret key a pod or the Cluster refers to exists
// in secrets.yaml (or is one an operator generates).
func checkSecretRefs(t *testing.T, objs []object) {
	keys := map[string]map[string]bool{}
	for name, ks := range generatedSecrets {
		keys[name] = map[string]bool{}
		for _, k := range ks {
			keys[name][k] = true
		}
	}
	for _, o := range objs {
		if s, ok := o.v.(*corev1.Secret); ok {
			keys[s.Name] = map[string]bool{}
			for k := range s.StringData {
				keys[s.Name][k] = true
			}
			for k := range s.Data {
				keys[s.Name][k] = true
			}
		}
	}
	ref := func(where, secret, key string) {
		if ks, ok := keys[secret]; !ok || (key != "" && !ks[key]) {
			t.Errorf("%s refers to secret %s key %q, which no template defines", where, secret, key)
		}
	}
	pod := func(where string, spec corev1.PodSpec) {
		for _, c := range spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref(where+" "+e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.Secret != nil {
				ref(where+" volume "+v.Name, v.Secret.SecretName, "")
			}
		}
	}
	for _, o := range objs {
		switch v := o.v.(type) {
		case *appsv1.Deployment:
			pod(o.where, v.Spec.Template.Spec)
		case *appsv1.StatefulSet:
			pod(o.where, v.Spec.Template.Spec)
		case *batchv1.Job:
			pod(o.where, v.Spec.Template.Spec)
		case *cnpg.Cluster:
			stores := []*cnpg.BarmanObjectStoreConfiguration{}
			if b := v.Spec.Backup; b != nil && b.BarmanObjectStore != nil {
				stores = append(stores, b.BarmanObjectStore)
			}
			for _, ext := range v.Spec.ExternalClusters {
				if ext.BarmanObjectStore != nil {
					stores = append(stores, ext.BarmanObjectStore)
				}
			}
			for _, st := range stores {
				if st.AWS != nil {
					ref(o.where, st.AWS.AccessKeyIDReference.Name, st.AWS.AccessKeyIDReference.Key)
					ref(o.where, st.AWS.SecretAccessKeyReference.Name, st.AWS.SecretAccessKeyReference.Key)
				}
			}
		}
	}
}

// TestKubernetesRecoveryRestoresTheBackup: the CloudNativePG Cluster of
// deploy/kubernetes/recovery decodes strictly, is postgres.yaml's Cluster
// but for how it starts (recovery from the object store the Cluster backs
// up to, under the lost cluster's name) and where it archives (a name of
// its own), and the ScheduledBackup backs up that Cluster.
func TestKubernetesRecoveryRestoresTheBackup(t *testing.T) {
	objs := manifests(t)
	recovery := manifestsIn(t, "../kubernetes/recovery/*.yaml")
	if t.Failed() {
		t.FailNow()
	}
	pg := find[cnpg.Cluster](objs, "amparo-pg")
	re := find[cnpg.Cluster](recovery, "amparo-pg")
	if pg == nil || re == nil || pg.Spec.Backup == nil || pg.Spec.Backup.BarmanObjectStore == nil {
		t.Fatal("no Cluster amparo-pg with backups in postgres.yaml, or none in recovery/")
	}
	if sb := find[cnpg.ScheduledBackup](objs, "amparo-pg-nightly"); sb == nil || sb.Spec.Cluster.Name != pg.Name {
		t.Errorf("no ScheduledBackup of the Cluster %s", pg.Name)
	}
	if re.Namespace != pg.Namespace {
		t.Errorf("recovery Cluster in namespace %q, want %q", re.Namespace, pg.Namespace)
	}
	rec := re.Spec.Bootstrap
	if rec == nil || rec.Recovery == nil || rec.InitDB != nil {
		t.Fatal("the recovery Cluster does not bootstrap by recovery")
	}
	if pg.Spec.Bootstrap == nil || pg.Spec.Bootstrap.InitDB == nil || rec.Recovery.Database != pg.Spec.Bootstrap.InitDB.Database ||
		rec.Recovery.Owner != pg.Spec.Bootstrap.InitDB.Owner {
		t.Errorf("recovery database %q owner %q, want the Cluster's", rec.Recovery.Database, rec.Recovery.Owner)
	}
	if rec.Recovery.RecoveryTarget != nil {
		t.Error("the recovery stops short of the end of the archive (recoveryTarget)")
	}
	var src *cnpg.ExternalCluster
	for i := range re.Spec.ExternalClusters {
		if re.Spec.ExternalClusters[i].Name == rec.Recovery.Source {
			src = &re.Spec.ExternalClusters[i]
		}
	}
	if src == nil || src.BarmanObjectStore == nil {
		t.Fatalf("recovery source %q is no external cluster with an object store", rec.Recovery.Source)
	}
	// The object store the lost cluster backs up to, under its name.
	from, backup := *src.BarmanObjectStore, *pg.Spec.Backup.BarmanObjectStore
	if from.ServerName != pg.Name {
		t.Errorf("recovery reads the backups of server %q, want %q", from.ServerName, pg.Name)
	}
	if from.DestinationPath != backup.DestinationPath || from.EndpointURL != backup.EndpointURL ||
		!reflect.DeepEqual(from.EndpointCA, backup.EndpointCA) || !reflect.DeepEqual(from.BarmanCredentials, backup.BarmanCredentials) {
		t.Errorf("recovery reads %s at %s, the Cluster backs up to %s at %s (or with other credentials)",
			from.DestinationPath, from.EndpointURL, backup.DestinationPath, backup.EndpointURL)
	}
	if re.Spec.Backup == nil || re.Spec.Backup.BarmanObjectStore == nil {
		t.Fatal("the restored cluster takes no backups")
	}
	if name := re.Spec.Backup.BarmanObjectStore.ServerName; name == "" || name == pg.Name {
		t.Errorf("the restored cluster archives as %q: into the lost cluster's folder, which CloudNativePG refuses", name)
	}
	// Field for field the Cluster otherwise.
	same := re.Spec.DeepCopy()
	same.Bootstrap, same.ExternalClusters = pg.Spec.Bootstrap, pg.Spec.ExternalClusters
	same.Backup.BarmanObjectStore.ServerName = pg.Spec.Backup.BarmanObjectStore.ServerName
	if !reflect.DeepEqual(*same, pg.Spec) {
		t.Error("the recovery Cluster differs from postgres.yaml's beyond bootstrap, externalClusters and the backup's serverName: keep them in step")
	}
	checkSecretRefs(t, append(recovery, objs...))
}

// TestStrictDecodingCatchesTypos makes sure the check above can fail: a
// misspelt field in a copy of the Deployment must be refused.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 3\n  replica: 3\n")
	if err := yaml.UnmarshalStrict(doc, &appsv1.Deployment{}); err == nil {
		t.Fatal("a misspelt field decoded without error")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
