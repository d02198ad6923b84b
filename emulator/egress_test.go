package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestReview(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			"admission v1 allowed without patch",
			`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","object":{"kind":"Certificate"}}}`,
			`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":true,"uid":"u1"}}`,
		},
		{
			"admission v1beta1 answered in its own version",
			`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u2"}}`,
			`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":{"allowed":true,"uid":"u2"}}`,
		},
		{
			"conversion rewrites apiVersion only",
			`{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview","request":{"uid":"u3","desiredAPIVersion":"ex.io/v1","objects":[{"apiVersion":"ex.io/v1alpha1","kind":"G","spec":{"size":3}}]}}`,
			`{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview","response":{"convertedObjects":[{"apiVersion":"ex.io/v1","kind":"G","spec":{"size":3}}],"result":{"status":"Success"},"uid":"u3"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := review([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{`not json`, `{"kind":"AdmissionReview"}`, `{"kind":"TokenReview","request":{}}`} {
		if _, err := review([]byte(bad)); err == nil {
			t.Errorf("review(%s) accepted", bad)
		}
	}
}

// connect dials the egress socket like kube-apiserver: CONNECT, then TLS
// verified against caPEM for serverName.
func connectThrough(t *testing.T, socket, addr, serverName string, caPEM []byte) (*tls.Conn, error) {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", addr)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		conn.Close()
		return nil, fmt.Errorf("proxy said %s", res.Status)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tc := tls.Client(conn, &tls.Config{RootCAs: pool, ServerName: serverName})
	return tc, tc.Handshake()
}

func TestEgressServesReadyBackendsOnly(t *testing.T) {
	ca, err := newCA("test webhook CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.serving([]string{"hook.ns.svc"})
	if err != nil {
		t.Fatal(err)
	}
	e := &emulator{backends: map[string]backend{"198.18.1.5:9443": {pod: "ns/hook-0", service: "ns/hook", cert: cert}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	socket := filepath.Join(t.TempDir(), "egress.sock")
	if err := e.serveEgress(ctx, socket); err != nil {
		t.Fatal(err)
	}

	if _, err := connectThrough(t, socket, "198.18.1.6:9443", "hook.ns.svc", ca.certPEM); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("an address no ready pod serves must be refused, got %v", err)
	}
	other, _ := newCA("another CA")
	if _, err := connectThrough(t, socket, "198.18.1.5:9443", "hook.ns.svc", other.certPEM); err == nil {
		t.Fatal("TLS verified against a CA that did not sign the serving certificate")
	}
	if _, err := connectThrough(t, socket, "198.18.1.5:9443", "wrong.ns.svc", ca.certPEM); err == nil {
		t.Fatal("TLS verified for a name the certificate does not carry")
	}

	tc, err := connectThrough(t, socket, "198.18.1.5:9443", "hook.ns.svc", ca.certPEM)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"abc"}}`
	req, _ := http.NewRequest(http.MethodPost, "https://hook.ns.svc/validate", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := req.Write(tc); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(tc), req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	var got struct {
		Response struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
		} `json:"response"`
	}
	if err := json.Unmarshal(out, &got); err != nil || !got.Response.Allowed || got.Response.UID != "abc" {
		t.Fatalf("response %s (%v)", bytes.TrimSpace(out), err)
	}
}
