package main

import (
	"crypto/x509"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestIssuerReady(t *testing.T) {
	ca, err := newCA("issuer CA")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]*corev1.Secret{
		"ca-pair": {Data: map[string][]byte{"tls.crt": ca.certPEM, "tls.key": ca.keyPEM}},
		"broken":  {Data: map[string][]byte{"tls.crt": []byte("x")}},
	}
	lookup := func(name string) (*corev1.Secret, bool) { s, ok := secrets[name]; return s, ok }
	tests := []struct {
		name   string
		spec   map[string]any
		ready  bool
		reason string
	}{
		{"self-signed", map[string]any{"selfSigned": map[string]any{}}, true, "IsReady"},
		{"CA with its key pair", map[string]any{"ca": map[string]any{"secretName": "ca-pair"}}, true, "KeyPairVerified"},
		{"CA secret missing", map[string]any{"ca": map[string]any{"secretName": "absent"}}, false, "ErrGetKeyPair"},
		{"CA secret not a key pair", map[string]any{"ca": map[string]any{"secretName": "broken"}}, false, "ErrInvalidKeyPair"},
		{"ACME is not emulated", map[string]any{"acme": map[string]any{}}, false, "NotEmulated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := issuerReady(tt.spec, lookup)
			if got.ready != tt.ready || got.reason != tt.reason {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func certificate(spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": "serving", "namespace": "kubeflow"},
		"spec":     spec,
	}}
}

func TestCertificateIssueAndUpToDate(t *testing.T) {
	c, err := parseCertificate(certificate(map[string]any{
		"secretName": "serving-tls",
		"dnsNames":   []any{"svc.kubeflow.svc", "svc.kubeflow.svc.cluster.local"},
		"duration":   "2160h",
		"issuerRef":  map[string]any{"name": "ca", "kind": "Issuer"},
		"privateKey": map[string]any{"algorithm": "ECDSA"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := newCA("kubeflow CA")
	certPEM, keyPEM, err := sign(c.req, ca)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := parseLeaf(certPEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "svc.kubeflow.svc", Roots: pool}); err != nil {
		t.Fatalf("issued certificate does not verify against its CA: %v", err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			"cert-manager.io/certificate-name": "serving", "cert-manager.io/issuer-name": "ca",
		}},
		Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	}
	if !upToDate(secret, "serving", c) {
		t.Fatal("a freshly issued Secret is not up to date")
	}
	c.req.dnsNames = append(c.req.dnsNames, "extra.kubeflow.svc")
	if upToDate(secret, "serving", c) {
		t.Fatal("a changed dnsNames list must reissue")
	}
	if upToDate(secret, "other", c) || upToDate(nil, "serving", c) {
		t.Fatal("a Secret of another Certificate (or none) is not up to date")
	}
}

func TestParseCertificateErrors(t *testing.T) {
	for name, spec := range map[string]map[string]any{
		"no secretName": {"issuerRef": map[string]any{"name": "x"}},
		"bad duration":  {"secretName": "s", "duration": "90 days"},
	} {
		if _, err := parseCertificate(certificate(spec)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := newKey("DSA", 0); err == nil || !strings.Contains(err.Error(), "DSA") {
		t.Errorf("unknown key algorithm: %v", err)
	}
}

func TestCertManagerComponentsAreFoundByLabelsOrImage(t *testing.T) {
	deploy := func(labels map[string]string, image string) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Labels = labels
		d.Spec.Template.Spec.Containers = []corev1.Container{{Image: image}}
		return d
	}
	cases := []struct {
		name string
		d    *appsv1.Deployment
		want bool
	}{
		{"standard labels", deploy(map[string]string{"app.kubernetes.io/name": "cainjector", "app.kubernetes.io/component": "cainjector"}, "x"), true},
		{"kubeflow's relabelled, by image", deploy(map[string]string{"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "cert-manager"}, "quay.io/jetstack/cert-manager-cainjector:v1.19.4"), true},
		{"by image with digest", deploy(nil, "quay.io/jetstack/cert-manager-cainjector@sha256:00"), true},
		{"another component", deploy(nil, "quay.io/jetstack/cert-manager-webhook:v1.19.4"), false},
		{"unrelated", deploy(map[string]string{"app": "cainjector"}, "example/cainjector:1"), false},
	}
	for _, c := range cases {
		if got := isComponent(c.d, "cainjector", "cainjector"); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
