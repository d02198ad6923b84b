package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextlisters "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
)

var (
	certificatesGVR   = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}
	issuersGVR        = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "issuers"}
	clusterIssuersGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "clusterissuers"}
)

// certManagerCache watches cert-manager's resources once their CRDs exist.
type certManagerCache struct {
	dyn            dynamic.Interface
	handler        cache.ResourceEventHandler
	started        bool
	certificates   cache.GenericLister
	issuers        cache.GenericLister
	clusterIssuers cache.GenericLister
}

func newCertManagerCache(dyn dynamic.Interface, h cache.ResourceEventHandler) *certManagerCache {
	return &certManagerCache{dyn: dyn, handler: h}
}

func established(crd *apiextv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextv1.Established {
			return c.Status == apiextv1.ConditionTrue
		}
	}
	return false
}

// ensureInformers starts the watches when cert-manager's CRDs are established.
func (c *certManagerCache) ensureInformers(ctx context.Context, crds apiextlisters.CustomResourceDefinitionLister) {
	if c.started {
		return
	}
	for _, gvr := range []schema.GroupVersionResource{certificatesGVR, issuersGVR, clusterIssuersGVR} {
		crd, err := crds.Get(gvr.Resource + "." + gvr.Group)
		if err != nil || !established(crd) {
			return
		}
	}
	f := dynamicinformer.NewDynamicSharedInformerFactory(c.dyn, 0)
	lister := func(gvr schema.GroupVersionResource) cache.GenericLister {
		inf := f.ForResource(gvr)
		_, _ = inf.Informer().AddEventHandler(c.handler)
		return inf.Lister()
	}
	c.certificates, c.issuers, c.clusterIssuers = lister(certificatesGVR), lister(issuersGVR), lister(clusterIssuersGVR)
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	c.started = true
}

// availableDeployment finds a Deployment of a cert-manager component that
// reports Available (its pods are Ready): by its standard labels, or by its
// image (quay.io/jetstack/cert-manager-<component>), since distributions
// relabel it (Kubeflow's overlay sets app.kubernetes.io/name: cert-manager and
// component: cert-manager on all three Deployments).
func availableDeployment(deployments appslisters.DeploymentLister, name, component string) (*appsv1.Deployment, bool) {
	list, _ := deployments.List(labels.Everything())
	for _, d := range list {
		if !isComponent(d, name, component) {
			continue
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return d, true
			}
		}
	}
	return nil, false
}

// isComponent: d carries the component's standard labels, or runs its image.
func isComponent(d *appsv1.Deployment, name, component string) bool {
	if d.Labels["app.kubernetes.io/name"] == name && d.Labels["app.kubernetes.io/component"] == component {
		return true
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		repo, _, _ := strings.Cut(c.Image, "@")
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		if path.Base(repo) == "cert-manager-"+component {
			return true
		}
	}
	return false
}

// readyState is a Ready condition as cert-manager writes it.
type readyState struct {
	ready           bool
	reason, message string
}

// issuerReady is what cert-manager's issuer controller concludes: a
// SelfSigned issuer is ready; a CA issuer once its Secret holds a CA key pair;
// other types (ACME, Vault, Venafi) are not emulated.
func issuerReady(spec map[string]any, secret func(name string) (*corev1.Secret, bool)) readyState {
	if _, ok := spec["selfSigned"]; ok {
		return readyState{true, "IsReady", ""}
	}
	if ca, ok := spec["ca"].(map[string]any); ok {
		name, _ := ca["secretName"].(string)
		s, found := secret(name)
		if !found {
			return readyState{false, "ErrGetKeyPair", fmt.Sprintf("Error getting keypair for CA issuer: secret %q not found", name)}
		}
		if _, err := parseCA(s.Data["tls.crt"], s.Data["tls.key"]); err != nil {
			return readyState{false, "ErrInvalidKeyPair", fmt.Sprintf("Error getting keypair for CA issuer: %v", err)}
		}
		return readyState{true, "KeyPairVerified", "Signing CA verified"}
	}
	return readyState{false, "NotEmulated", "kube-emulator plays only SelfSigned and CA issuers"}
}

// issuer is an Issuer or ClusterIssuer with its readiness and, for a CA
// issuer, the CA.
type issuer struct {
	state readyState
	ca    *servingCA // nil: self-signed
}

func (e *emulator) issuerFor(namespace string, ref map[string]any, clusterNS string) (issuer, error) {
	name, _ := ref["name"].(string)
	kind, _ := ref["kind"].(string)
	secretNS := namespace
	lister := e.certManager.issuers.ByNamespace(namespace)
	var obj runtime.Object
	var err error
	if kind == "ClusterIssuer" {
		secretNS = clusterNS
		obj, err = e.certManager.clusterIssuers.Get(name)
	} else {
		obj, err = lister.Get(name)
	}
	if err != nil {
		return issuer{state: readyState{false, "IssuerNotFound", fmt.Sprintf("%s %q not found", kindOr(kind), name)}}, nil
	}
	spec, _, _ := unstructured.NestedMap(obj.(*unstructured.Unstructured).Object, "spec")
	secret := func(n string) (*corev1.Secret, bool) {
		s, err := e.secrets.Secrets(secretNS).Get(n)
		return s, err == nil
	}
	st := issuerReady(spec, secret)
	is := issuer{state: st}
	if !st.ready {
		is.state.message = fmt.Sprintf("%s %q is not ready: %s", kindOr(kind), name, st.message)
		return is, nil
	}
	if ca, ok := spec["ca"].(map[string]any); ok {
		s, _ := secret(ca["secretName"].(string))
		is.ca, err = parseCA(s.Data["tls.crt"], s.Data["tls.key"])
	}
	return is, err
}

func kindOr(kind string) string {
	if kind == "" {
		return "Issuer"
	}
	return kind
}

// syncCertManager plays cert-manager's controller while its Deployment is
// Available: issuers turn Ready, Certificates get their Secret.
func (e *emulator) syncCertManager(ctx context.Context) error {
	if !e.certManager.started {
		return nil
	}
	controller, ok := availableDeployment(e.deployments, "cert-manager", "controller")
	if !ok {
		return nil
	}
	clusterNS := controller.Namespace // cert-manager's --cluster-resource-namespace default
	var errs []error
	for _, kind := range []struct {
		lister cache.GenericLister
		gvr    schema.GroupVersionResource
	}{{e.certManager.issuers, issuersGVR}, {e.certManager.clusterIssuers, clusterIssuersGVR}} {
		objs, _ := kind.lister.List(labels.Everything())
		for _, o := range objs {
			u := o.(*unstructured.Unstructured)
			ns := u.GetNamespace()
			if ns == "" {
				ns = clusterNS
			}
			spec, _, _ := unstructured.NestedMap(u.Object, "spec")
			st := issuerReady(spec, func(n string) (*corev1.Secret, bool) {
				s, err := e.secrets.Secrets(ns).Get(n)
				return s, err == nil
			})
			errs = append(errs, e.setReady(ctx, kind.gvr, u, st, nil))
		}
	}
	certs, _ := e.certManager.certificates.List(labels.Everything())
	for _, o := range certs {
		errs = append(errs, e.syncCertificate(ctx, o.(*unstructured.Unstructured), clusterNS))
	}
	return errors.Join(errs...)
}

// certificateSpec is the part of a Certificate's spec the emulation honours.
type certificateSpec struct {
	secretName  string
	issuerRef   map[string]any
	req         certRequest
	annotations map[string]string // spec.secretTemplate
	labels      map[string]string
}

func parseCertificate(u *unstructured.Unstructured) (certificateSpec, error) {
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	var c certificateSpec
	c.secretName, _ = spec["secretName"].(string)
	if c.secretName == "" {
		return c, errors.New("spec.secretName is empty")
	}
	c.issuerRef, _ = spec["issuerRef"].(map[string]any)
	c.req.commonName, _ = spec["commonName"].(string)
	c.req.isCA, _ = spec["isCA"].(bool)
	c.req.dnsNames, _, _ = unstructured.NestedStringSlice(spec, "dnsNames")
	ips, _, _ := unstructured.NestedStringSlice(spec, "ipAddresses")
	for _, s := range ips {
		if ip := net.ParseIP(s); ip != nil {
			c.req.ips = append(c.req.ips, ip)
		}
	}
	uris, _, _ := unstructured.NestedStringSlice(spec, "uris")
	for _, s := range uris {
		if uri, err := url.Parse(s); err == nil {
			c.req.uris = append(c.req.uris, uri)
		}
	}
	if d, ok := spec["duration"].(string); ok {
		parsed, err := time.ParseDuration(d)
		if err != nil {
			return c, fmt.Errorf("spec.duration %q: %w", d, err)
		}
		c.req.duration = parsed
	}
	c.req.keyAlg, _, _ = unstructured.NestedString(spec, "privateKey", "algorithm")
	size, _, _ := unstructured.NestedInt64(spec, "privateKey", "size")
	c.req.keySize = int(size)
	c.annotations, _, _ = unstructured.NestedStringMap(spec, "secretTemplate", "annotations")
	c.labels, _, _ = unstructured.NestedStringMap(spec, "secretTemplate", "labels")
	return c, nil
}

// upToDate: the Secret holds a certificate issued for this Certificate, as
// it is now, by this issuer, and not expired.
func upToDate(s *corev1.Secret, name string, c certificateSpec) bool {
	if s == nil || s.Annotations["cert-manager.io/certificate-name"] != name || s.Annotations["cert-manager.io/issuer-name"] != c.issuerRef["name"] || len(s.Data["tls.key"]) == 0 {
		return false
	}
	leaf, err := parseLeaf(s.Data["tls.crt"])
	if err != nil || time.Now().After(leaf.NotAfter) {
		return false
	}
	return leaf.Subject.CommonName == c.req.commonName && leaf.IsCA == c.req.isCA &&
		slices.Equal(slices.Sorted(slices.Values(leaf.DNSNames)), slices.Sorted(slices.Values(c.req.dnsNames)))
}

func (e *emulator) syncCertificate(ctx context.Context, u *unstructured.Unstructured, clusterNS string) error {
	ns, name := u.GetNamespace(), u.GetName()
	c, err := parseCertificate(u)
	if err != nil {
		return e.setReady(ctx, certificatesGVR, u, readyState{false, "InvalidSpec", err.Error()}, nil)
	}
	if group, _ := c.issuerRef["group"].(string); group != "" && group != "cert-manager.io" {
		return nil // an external issuer's controller would act; none runs here
	}
	is, err := e.issuerFor(ns, c.issuerRef, clusterNS)
	if err != nil {
		return err
	}
	if !is.state.ready {
		return e.setReady(ctx, certificatesGVR, u, readyState{false, "IssuerNotReady", is.state.message}, nil)
	}
	existing, err := e.secrets.Secrets(ns).Get(c.secretName)
	if err != nil {
		existing = nil
	}
	if !upToDate(existing, name, c) {
		if err := e.issue(ctx, u, c, is, existing); err != nil {
			return err
		}
		existing, _ = e.kube.CoreV1().Secrets(ns).Get(ctx, c.secretName, metav1.GetOptions{})
	}
	var leafTimes map[string]any
	if existing != nil {
		if leaf, err := parseLeaf(existing.Data["tls.crt"]); err == nil {
			life := leaf.NotAfter.Sub(leaf.NotBefore)
			leafTimes = map[string]any{
				"notBefore":   leaf.NotBefore.UTC().Format(time.RFC3339),
				"notAfter":    leaf.NotAfter.UTC().Format(time.RFC3339),
				"renewalTime": leaf.NotAfter.Add(-life / 3).UTC().Format(time.RFC3339),
				"revision":    int64(1),
			}
		}
	}
	return e.setReady(ctx, certificatesGVR, u, readyState{true, "Ready", "Certificate is up to date and has not expired"}, leafTimes)
}

// issue signs a certificate and writes the Secret as cert-manager does
// (tls.crt, tls.key, ca.crt and its annotations), keeping other keys.
func (e *emulator) issue(ctx context.Context, u *unstructured.Unstructured, c certificateSpec, is issuer, existing *corev1.Secret) error {
	certPEM, keyPEM, err := sign(c.req, is.ca)
	if err != nil {
		return fmt.Errorf("certificate %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	caPEM := certPEM
	if is.ca != nil {
		caPEM = is.ca.certPEM
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: c.secretName, Namespace: u.GetNamespace()}, Type: corev1.SecretTypeTLS}
	if existing != nil {
		secret = existing.DeepCopy()
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data["tls.crt"], secret.Data["tls.key"], secret.Data["ca.crt"] = certPEM, keyPEM, caPEM
	secret.Annotations = merged(secret.Annotations, c.annotations, map[string]string{
		"cert-manager.io/certificate-name": u.GetName(),
		"cert-manager.io/issuer-name":      stringField(c.issuerRef, "name"),
		"cert-manager.io/issuer-kind":      kindOr(stringField(c.issuerRef, "kind")),
		"cert-manager.io/issuer-group":     "cert-manager.io",
		"cert-manager.io/common-name":      c.req.commonName,
		"cert-manager.io/alt-names":        strings.Join(c.req.dnsNames, ","),
	})
	secret.Labels = merged(secret.Labels, c.labels, map[string]string{"controller.cert-manager.io/fao": "true"})
	if existing != nil {
		_, err = e.kube.CoreV1().Secrets(secret.Namespace).Update(ctx, secret, metav1.UpdateOptions{})
	} else {
		_, err = e.kube.CoreV1().Secrets(secret.Namespace).Create(ctx, secret, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("secret %s/%s of certificate %s: %w", secret.Namespace, secret.Name, u.GetName(), err)
	}
	return nil
}

func stringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func merged(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// setReady writes a Ready condition (and extra status fields) to a
// cert-manager object's status if it changed.
func (e *emulator) setReady(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured, st readyState, extra map[string]any) error {
	status := "False"
	if st.ready {
		status = "True"
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == status && m["reason"] == st.reason && m["message"] == st.message {
			return nil
		}
	}
	updated := u.DeepCopy()
	newStatus := map[string]any{}
	for k, v := range extra {
		newStatus[k] = v
	}
	newStatus["conditions"] = []any{map[string]any{
		"type": "Ready", "status": status, "reason": st.reason, "message": st.message,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		"observedGeneration": u.GetGeneration(),
	}}
	updated.Object["status"] = newStatus
	client := e.dyn.Resource(gvr)
	var err error
	if u.GetNamespace() != "" {
		_, err = client.Namespace(u.GetNamespace()).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	} else {
		_, err = client.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("status of %s %s/%s: %w", gvr.Resource, u.GetNamespace(), u.GetName(), err)
	}
	return nil
}
