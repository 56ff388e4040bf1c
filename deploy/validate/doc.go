// Package validate checks Amparo's deployment files against the upstream
// types of what reads them: the Kubernetes manifests decoded strictly
// (unknown fields are errors) into k8s.io/api, CloudNativePG's and the
// Prometheus operator's Go types; the alert rules parsed by Prometheus' own
// rule parser; the compose file loaded and schema-checked by compose-go.
//
// It is a module of its own so that Amparo's go.mod stays free of
// Kubernetes; `make test` runs it (make validate-deploy).
package validate
