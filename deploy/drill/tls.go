package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// throwawayTLS makes a certificate authority and, signed by it, a server
// certificate for 127.0.0.1 and localhost, both valid for a day, and
// writes them as MinIO reads them: certs/public.crt, certs/private.key and
// certs/CAs/ca.crt under dir. pgBackRest talks to S3 over TLS only, so the
// backup site's MinIO needs one; nothing outside the drill trusts it.
// It returns the CA file.
func throwawayTLS(dir string) (caFile string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "amparo restore drill CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		// pgBackRest 2.45 matches the host against DNS names only,
		// so the address is one of them too.
		DNSNames: []string{"localhost", "127.0.0.1"},
	}
	parent, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, parent, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(filepath.Join(certs, "CAs"), 0o755); err != nil {
		return "", err
	}
	caFile = filepath.Join(certs, "CAs", "ca.crt")
	for path, b := range map[string][]byte{
		caFile:                              pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		filepath.Join(certs, "public.crt"):  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		filepath.Join(certs, "private.key"): pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		// Readable by the postgres user, whom pgBackRest runs as: the
		// key is a throwaway's.
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
	}
	return caFile, nil
}
