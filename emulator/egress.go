package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// backend is a webhook server as a ready pod runs it: reachable at the pod's
// IP and the Service's target port, presenting the certificate the pod would
// serve.
type backend struct {
	pod     string // "ns/name", for logs
	service string // "ns/name"
	cert    *tls.Certificate
}

// serveEgress listens on the unix socket kube-apiserver's egress selector
// ("cluster") sends every connection to pods and nodes to. A CONNECT to
// podIP:port of a pod that serves webhooks there is answered in process:
// TLS with that pod's certificate, then AdmissionReview / ConversionReview.
// Anything else is refused, as a connection to a port nobody listens on is.
func (e *emulator) serveEgress(ctx context.Context, socket string) error {
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("egress socket %s: %w", socket, err)
	}
	e.reviewConns = newConnListener()
	reviews := &http.Server{
		Handler:           http.HandlerFunc(serveReview),
		ReadHeaderTimeout: 10 * time.Second,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1, as Go webhook servers without h2
	}
	proxy := &http.Server{Handler: http.HandlerFunc(e.connect), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = reviews.Serve(e.reviewConns) }()
	go func() { _ = proxy.Serve(l) }()
	go func() {
		<-ctx.Done()
		_ = proxy.Close()
		_ = reviews.Close()
	}()
	return nil
}

func (e *emulator) backend(addr string) (backend, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.backends[addr]
	return b, ok
}

func (e *emulator) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	b, ok := e.backend(r.Host)
	if !ok {
		// The API server reports this as "proxy error ... code 503".
		http.Error(w, "connection refused: nothing listens on "+r.Host, http.StatusServiceUnavailable)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		_ = conn.Close()
		return
	}
	cert := b.cert
	tlsConn := tls.Server(conn, &tls.Config{
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	})
	log.Printf("webhook call to %s (pod %s, service %s)", r.Host, b.pod, b.service)
	e.reviewConns.push(tlsConn)
}

// connListener is a net.Listener fed with connections the proxy accepted.
type connListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		_ = c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.UnixAddr{Name: "egress", Net: "unix"} }

// serveReview answers like a webhook that accepts everything: an
// AdmissionReview is allowed without a patch, a ConversionReview returns the
// objects with apiVersion set to the one asked for (the versions of the
// emulated CRDs must therefore share a schema).
func serveReview(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := review(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func review(body []byte) ([]byte, error) {
	var in struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Request    *struct {
			UID               string           `json:"uid"`
			DesiredAPIVersion string           `json:"desiredAPIVersion"`
			Objects           []map[string]any `json:"objects"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("not a review: %w", err)
	}
	if in.Request == nil {
		return nil, errors.New("review has no request")
	}
	var response map[string]any
	switch in.Kind {
	case "AdmissionReview":
		response = map[string]any{"uid": in.Request.UID, "allowed": true}
	case "ConversionReview":
		converted := make([]map[string]any, len(in.Request.Objects))
		for i, obj := range in.Request.Objects {
			obj["apiVersion"] = in.Request.DesiredAPIVersion
			converted[i] = obj
		}
		response = map[string]any{
			"uid": in.Request.UID, "convertedObjects": converted,
			"result": map[string]any{"status": "Success"},
		}
	default:
		return nil, fmt.Errorf("kind %q is neither AdmissionReview nor ConversionReview", in.Kind)
	}
	return json.Marshal(map[string]any{"apiVersion": in.APIVersion, "kind": in.Kind, "response": response})
}
