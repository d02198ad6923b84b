package main

import (
	"context"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The annotations cert-manager's cainjector acts on.
const (
	injectFrom           = "cert-manager.io/inject-ca-from"        // "ns/certificate"
	injectFromSecret     = "cert-manager.io/inject-ca-from-secret" // "ns/secret"
	injectAPIServerCA    = "cert-manager.io/inject-apiserver-ca"   // "true"
	allowDirectInjection = "cert-manager.io/allow-direct-injection"
)

// syncCAInjector plays cainjector while its Deployment is Available: the
// caBundle of annotated webhook configurations and CRDs becomes the ca.crt
// of the named Certificate's Secret (or of the named Secret), once it exists.
func (e *emulator) syncCAInjector(ctx context.Context) error {
	if _, ok := availableDeployment(e.deployments, "cainjector", "cainjector"); !ok {
		return nil
	}
	return e.setCABundles(ctx, func(obj metav1.Object, _ *serviceRef) []byte { return e.injectedCA(obj) })
}

// injectionSourceExists: obj names a CA source for cainjector that exists
// (the Certificate, the Secret, or the API server's CA).
func (e *emulator) injectionSourceExists(obj metav1.Object) bool {
	a := obj.GetAnnotations()
	if ref, ok := a[injectFromSecret]; ok {
		ns, name, _ := strings.Cut(ref, "/")
		if _, err := e.secrets.Secrets(ns).Get(name); err == nil {
			return true
		}
	}
	if ref, ok := a[injectFrom]; ok && e.certManager.started {
		ns, name, _ := strings.Cut(ref, "/")
		if _, err := e.certManager.certificates.ByNamespace(ns).Get(name); err == nil {
			return true
		}
	}
	return a[injectAPIServerCA] == "true"
}

// injectedCA is the CA cainjector would inject into obj (nil: none yet).
func (e *emulator) injectedCA(obj metav1.Object) []byte {
	a := obj.GetAnnotations()
	if ref, ok := a[injectFromSecret]; ok {
		ns, name, _ := strings.Cut(ref, "/")
		s, err := e.secrets.Secrets(ns).Get(name)
		// cainjector refuses a Secret that does not allow direct injection.
		if err != nil || s.Annotations[allowDirectInjection] != "true" || len(s.Data["ca.crt"]) == 0 {
			return nil
		}
		return s.Data["ca.crt"]
	}
	if ref, ok := a[injectFrom]; ok {
		if !e.certManager.started {
			return nil
		}
		ns, name, _ := strings.Cut(ref, "/")
		o, err := e.certManager.certificates.ByNamespace(ns).Get(name)
		if err != nil {
			return nil
		}
		secretName, _, _ := unstructured.NestedString(o.(*unstructured.Unstructured).Object, "spec", "secretName")
		s, err := e.secrets.Secrets(ns).Get(secretName)
		// Only a Secret issued for that Certificate counts.
		if err != nil || s.Annotations["cert-manager.io/certificate-name"] != name || len(s.Data["ca.crt"]) == 0 {
			return nil
		}
		return s.Data["ca.crt"]
	}
	if a[injectAPIServerCA] == "true" {
		return e.clusterCAPEM
	}
	return nil
}
