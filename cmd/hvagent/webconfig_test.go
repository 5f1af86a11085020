package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/hvagent/hvagent/kvp/kvptest"
)

// webConfigSample is installed as /usr/local/etc/hvagent/web-config.yml.sample.
const webConfigSample = "../../packaging/web-config.yml.sample"

// The password whose bcrypt hash the sample carries, as its comment says.
const sampleUser, samplePassword = "prometheus", "change-me"

// installWebConfig puts the sample into dir as web-config.yml with the
// certificate and key it names, as an administrator following its
// comments would, and returns its path and the certificate.
func installWebConfig(t *testing.T, dir string) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hvagent-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "hvagent.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	writeFile(t, filepath.Join(dir, "hvagent.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), 0o600)
	sample, err := os.ReadFile(webConfigSample)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "web-config.yml")
	writeFile(t, path, string(sample), 0o600)
	return path, cert
}

// TestWebConfigSample checks the sample with the exporter toolkit the
// agent uses and with promtool (skipped without it, except in CI).
func TestWebConfigSample(t *testing.T) {
	path, _ := installWebConfig(t, t.TempDir())
	if err := web.Validate(path); err != nil {
		t.Errorf("exporter-toolkit rejects the sample: %v", err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is not on PATH, and CI must install it (Debian package prometheus): %v", err)
		}
		t.Skipf("promtool is not on PATH (%v); install Debian's prometheus package", err)
	}
	if out, err := exec.Command(promtool, "check", "web-config", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check web-config: %v\n%s", err, out)
	}
}

// TestE2EWebConfigSample runs the agent with the sample and scrapes it
// over TLS: refused without the password, served with it.
func TestE2EWebConfigSample(t *testing.T) {
	e := newEnv(t, kvptest.KernelOptions{})
	path, cert := installWebConfig(t, e.dir)
	e.listen = freePort(t)
	e.start("--web.config.file", path)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + e.listen + "/metrics"
	get := func(user, password string) (int, string) {
		t.Helper()
		var lastErr error
		for range 100 {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if user != "" {
				req.SetBasicAuth(user, password)
			}
			resp, err := client.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			lastErr = err
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("GET %s: %v\nagent log:\n%s", url, lastErr, e.stderr)
		return 0, ""
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("scrape without credentials: status %d, want 401", code)
	}
	if code, _ := get(sampleUser, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("scrape with a wrong password: status %d, want 401", code)
	}
	code, body := get(sampleUser, samplePassword)
	if code != http.StatusOK || !strings.Contains(body, "hvagent_build_info") {
		t.Errorf("scrape with the sample's credentials: status %d\n%.300s", code, body)
	}
	// A client that does not speak TLS: the server's complaint goes
	// through the agent's logger, not straight to stderr.
	c, err := net.Dial("tcp", e.listen)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	_, _ = io.ReadAll(c)
	c.Close()
	e.waitLog(`msg="http: TLS handshake error`)
	e.stop()
}

// A web configuration the exporter toolkit rejects is a usage error at
// start (and so fails the rc.d script's check), not a metrics server
// that never comes up.
func TestWebConfigCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "web.yml")
	writeFile(t, bad, "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n", 0o600)
	for _, args := range [][]string{
		{"run", "--web.config.file", bad},
		{"run", "--web.config.file", bad, "--help"},
		{"run", "--web.config.file", filepath.Join(dir, "none.yml"), "--help"},
	} {
		_, errOut, code := hvagent(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "-web.config.file") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 naming the flag", args, code, errOut)
		}
	}
}
