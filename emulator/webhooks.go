package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// serviceRef is the Service a webhook or conversion webhook calls.
type serviceRef struct {
	namespace, name string
	port            int32
}

func (r serviceRef) key() string { return r.namespace + "/" + r.name }

// caBundleWant decides the caBundle of one webhook entry of obj (ref is nil
// for a webhook called by URL); nil leaves it as it is.
type caBundleWant func(obj metav1.Object, ref *serviceRef) []byte

func serviceOf(c *admissionv1.ServiceReference) *serviceRef {
	if c == nil {
		return nil
	}
	return &serviceRef{c.Namespace, c.Name, ptr.Deref(c.Port, 443)}
}

func conversionServiceOf(crd *apiextv1.CustomResourceDefinition) *serviceRef {
	conv := crd.Spec.Conversion
	if conv == nil || conv.Strategy != apiextv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil || conv.Webhook.ClientConfig.Service == nil {
		return nil
	}
	s := conv.Webhook.ClientConfig.Service
	return &serviceRef{s.Namespace, s.Name, ptr.Deref(s.Port, 443)}
}

// webhookUser is an object whose webhooks call a Service.
type webhookUser struct {
	obj     metav1.Object
	service serviceRef
}

func (e *emulator) webhookUsers() []webhookUser {
	var out []webhookUser
	vwcs, _ := e.validating.List(labels.Everything())
	for _, c := range vwcs {
		for _, w := range c.Webhooks {
			if ref := serviceOf(w.ClientConfig.Service); ref != nil {
				out = append(out, webhookUser{c, *ref})
			}
		}
	}
	mwcs, _ := e.mutating.List(labels.Everything())
	for _, c := range mwcs {
		for _, w := range c.Webhooks {
			if ref := serviceOf(w.ClientConfig.Service); ref != nil {
				out = append(out, webhookUser{c, *ref})
			}
		}
	}
	crds, _ := e.crds.List(labels.Everything())
	for _, crd := range crds {
		if ref := conversionServiceOf(crd); ref != nil {
			out = append(out, webhookUser{crd, *ref})
		}
	}
	return out
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// targetPort is the container port a Service port reaches on pod (0: none),
// resolved like the EndpointSlice controller does.
func targetPort(pod *corev1.Pod, port corev1.ServicePort) int32 {
	if port.TargetPort.Type == intstr.String {
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == port.TargetPort.StrVal {
					return p.ContainerPort
				}
			}
		}
		return 0
	}
	if port.TargetPort.IntVal == 0 {
		return port.Port
	}
	return port.TargetPort.IntVal
}

// dynamicServing is cert-manager's webhook serving with a CA it keeps in a
// Secret (--dynamic-serving-ca-secret-*), if the pod runs it.
type dynamicServing struct {
	secretNamespace, secretName string
	dnsNames                    []string
}

func dynamicServingOf(pod *corev1.Pod, objs objects) *dynamicServing {
	for _, c := range pod.Spec.Containers {
		_, args := containerArgs(c, containerEnv(pod, c, objs))
		names := flagValues(args, "dynamic-serving-ca-secret-name")
		if len(names) == 0 {
			continue
		}
		d := &dynamicServing{secretNamespace: pod.Namespace, secretName: names[0], dnsNames: flagValues(args, "dynamic-serving-dns-names")}
		if ns := flagValues(args, "dynamic-serving-ca-secret-namespace"); len(ns) > 0 {
			d.secretNamespace = ns[0]
		}
		return d
	}
	return nil
}

// prepareServing does, as a pod starts and before it is reported Ready,
// what its webhook server does before reporting ready: cert-manager's webhook
// creates its CA Secret (which cainjector then injects); a component that
// manages its own certificate writes its CA into its webhooks' caBundle. And
// the egress proxy serves the pod from now on: the EndpointSlice controller
// publishes the Ready pod before this emulator's cache has seen it Ready.
func (e *emulator) prepareServing(ctx context.Context, pod *corev1.Pod) error {
	if d := dynamicServingOf(pod, listerObjects{e}); d != nil {
		if err := e.ensureDynamicCA(ctx, d); err != nil {
			return err
		}
	}
	return e.syncServing(ctx)
}

// ensureDynamicCA creates cert-manager's webhook CA Secret if it is missing,
// remembering the CA until the cache has the Secret.
func (e *emulator) ensureDynamicCA(ctx context.Context, d *dynamicServing) error {
	if _, err := e.secrets.Secrets(d.secretNamespace).Get(d.secretName); err == nil {
		return nil
	}
	ca, err := newCA("cert-manager-webhook-ca")
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.secretName, Namespace: d.secretNamespace,
			Annotations: map[string]string{allowDirectInjection: "true"},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"ca.crt": ca.certPEM, "tls.crt": ca.certPEM, "tls.key": ca.keyPEM},
	}
	_, err = e.kube.CoreV1().Secrets(d.secretNamespace).Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil // the cache will have it
	}
	if err != nil {
		return fmt.Errorf("webhook CA secret %s/%s: %w", d.secretNamespace, d.secretName, err)
	}
	e.dynCAs[d.secretNamespace+"/"+d.secretName] = ca
	return nil
}

// servedAddress is the address pod serves at if it serves now: Ready in the
// cache, or started by this emulator (its Ready status may not be cached yet).
func (e *emulator) servedAddress(pod *corev1.Pod) string {
	if podReady(pod) && pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	e.mu.Lock()
	rt := e.runtimes[string(pod.UID)]
	e.mu.Unlock()
	if rt != nil && !rt.started.IsZero() && restarts(pod) && pod.DeletionTimestamp == nil {
		return rt.ip
	}
	return ""
}

// servingCert is the certificate pod presents when called through svc:
// cert-manager's dynamic serving certificate; else a mounted Secret's
// tls.crt/tls.key (preferring one valid for the Service's DNS name); else a
// certificate the component makes itself (selfManaged), as Trainer, JobSet,
// Knative, istiod and the Spark and training operators do.
func (e *emulator) servingCert(pod *corev1.Pod, svc *corev1.Service) (cert *tls.Certificate, selfManaged *servingCA, err error) {
	dns := svc.Name + "." + svc.Namespace + ".svc"
	if d := dynamicServingOf(pod, listerObjects{e}); d != nil {
		ca, err := e.dynamicCA(d)
		if err != nil || ca == nil {
			return nil, nil, err
		}
		names := d.dnsNames
		if len(names) == 0 {
			names = []string{dns}
		}
		cert, err := ca.serving(names)
		return cert, nil, err
	}
	if cert := e.mountedCert(pod, dns); cert != nil {
		return cert, nil, nil
	}
	ca, err := e.selfCA(svc.Namespace, svc.Name)
	if err != nil {
		return nil, nil, err
	}
	cert, err = ca.serving([]string{dns, dns + ".cluster.local", svc.Name + "." + svc.Namespace, svc.Name})
	return cert, ca, err
}

// selfCA is the CA a self-managed component behind Service ns/name made
// (one per Service, for this emulator's lifetime).
func (e *emulator) selfCA(namespace, name string) (*servingCA, error) {
	key := namespace + "/" + name
	if ca, ok := e.selfCAs[key]; ok {
		return ca, nil
	}
	ca, err := newCA(name + "." + namespace + ".svc (self-managed)")
	if err != nil {
		return nil, err
	}
	e.selfCAs[key] = ca
	return ca, nil
}

func (e *emulator) dynamicCA(d *dynamicServing) (*servingCA, error) {
	key := d.secretNamespace + "/" + d.secretName
	secret, err := e.secrets.Secrets(d.secretNamespace).Get(d.secretName)
	if err != nil {
		return e.dynCAs[key], nil // just created (ensureDynamicCA), or none yet
	}
	if ca, ok := e.dynCAs[key]; ok && bytes.Equal(ca.certPEM, secret.Data["tls.crt"]) {
		return ca, nil
	}
	ca, err := parseCA(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		return nil, fmt.Errorf("CA secret %s: %w", key, err)
	}
	e.dynCAs[key] = ca
	return ca, nil
}

// mountedCert is a TLS key pair from a Secret the pod mounts.
func (e *emulator) mountedCert(pod *corev1.Pod, dns string) *tls.Certificate {
	var names []string
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			names = append(names, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					names = append(names, s.Secret.Name)
				}
			}
		}
	}
	var first *tls.Certificate
	for _, name := range names {
		s, err := e.secrets.Secrets(pod.Namespace).Get(name)
		if err != nil {
			continue
		}
		pair, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
		if err != nil {
			continue
		}
		if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && leaf.VerifyHostname(dns) == nil {
			return &pair
		}
		if first == nil {
			first = &pair
		}
	}
	return first
}

// syncServing decides which pod serves which webhook address (for the
// egress proxy) and gives self-managed webhooks their caBundle.
func (e *emulator) syncServing(ctx context.Context) error {
	users := e.webhookUsers()
	backends := map[string]backend{}
	selfManaged := map[string][]byte{} // service key -> CA PEM
	seen := map[serviceRef]bool{}
	var errs []error
	for _, u := range users {
		if seen[u.service] {
			continue
		}
		seen[u.service] = true
		svc, err := e.services.Services(u.service.namespace).Get(u.service.name)
		if err != nil || len(svc.Spec.Selector) == 0 {
			continue
		}
		var port *corev1.ServicePort
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].Port == u.service.port {
				port = &svc.Spec.Ports[i]
			}
		}
		if port == nil {
			continue
		}
		pods, _ := e.pods.Pods(svc.Namespace).List(labels.SelectorFromSet(svc.Spec.Selector))
		for _, pod := range pods {
			target := targetPort(pod, *port)
			ip := e.servedAddress(pod)
			if ip == "" || target == 0 {
				continue
			}
			cert, ca, err := e.servingCert(pod, svc)
			if err != nil {
				errs = append(errs, fmt.Errorf("serving certificate of %s/%s: %w", pod.Namespace, pod.Name, err))
				continue
			}
			if cert == nil {
				continue
			}
			if ca != nil {
				selfManaged[u.service.key()] = ca.certPEM
			}
			backends[fmt.Sprintf("%s:%d", ip, target)] = backend{
				pod: pod.Namespace + "/" + pod.Name, service: u.service.key(), cert: cert,
			}
		}
	}
	e.mu.Lock()
	e.backends = backends
	e.mu.Unlock()
	errs = append(errs, e.setCABundles(ctx, e.selfManagedBundles(selfManaged)))
	return errors.Join(errs...)
}

// selfManagedBundles: a self-managed component patches the caBundle of its
// webhooks itself (CA PEM by service key), unless cainjector has a source to
// inject there (an annotation naming a Certificate or Secret that does not
// exist leaves the field to the component).
func (e *emulator) selfManagedBundles(byService map[string][]byte) caBundleWant {
	return func(obj metav1.Object, ref *serviceRef) []byte {
		if ref == nil || e.injectionSourceExists(obj) {
			return nil
		}
		return byService[ref.key()]
	}
}

// setCABundles updates the caBundle of every webhook and conversion webhook
// for which want returns one that differs.
func (e *emulator) setCABundles(ctx context.Context, want caBundleWant) error {
	var errs []error
	update := func(what string, err error) {
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("caBundle of %s: %w", what, err))
		} else if err == nil {
			log.Printf("caBundle of %s updated", what)
		}
	}
	vwcs, _ := e.validating.List(labels.Everything())
	for _, c := range vwcs {
		if changed := setWebhookBundles(c, len(c.Webhooks), func(i int) *admissionv1.WebhookClientConfig { return &c.Webhooks[i].ClientConfig }, want); changed != nil {
			updated := c.DeepCopy()
			for i := range updated.Webhooks {
				updated.Webhooks[i].ClientConfig.CABundle = changed[i]
			}
			_, err := e.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, updated, metav1.UpdateOptions{})
			update("ValidatingWebhookConfiguration "+c.Name, err)
		}
	}
	mwcs, _ := e.mutating.List(labels.Everything())
	for _, c := range mwcs {
		if changed := setWebhookBundles(c, len(c.Webhooks), func(i int) *admissionv1.WebhookClientConfig { return &c.Webhooks[i].ClientConfig }, want); changed != nil {
			updated := c.DeepCopy()
			for i := range updated.Webhooks {
				updated.Webhooks[i].ClientConfig.CABundle = changed[i]
			}
			_, err := e.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, updated, metav1.UpdateOptions{})
			update("MutatingWebhookConfiguration "+c.Name, err)
		}
	}
	crds, _ := e.crds.List(labels.Everything())
	for _, crd := range crds {
		conv := crd.Spec.Conversion
		if conv == nil || conv.Strategy != apiextv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
			continue
		}
		bundle := want(crd, conversionServiceOf(crd))
		if bundle == nil || bytes.Equal(bundle, conv.Webhook.ClientConfig.CABundle) {
			continue
		}
		updated := crd.DeepCopy()
		updated.Spec.Conversion.Webhook.ClientConfig.CABundle = bundle
		_, err := e.apiext.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, updated, metav1.UpdateOptions{})
		update("CustomResourceDefinition "+crd.Name, err)
	}
	return errors.Join(errs...)
}

// setWebhookBundles returns the new caBundle of each webhook of a
// configuration, or nil if none changes.
func setWebhookBundles(obj metav1.Object, n int, client func(int) *admissionv1.WebhookClientConfig, want caBundleWant) [][]byte {
	out := make([][]byte, n)
	changed := false
	for i := range n {
		cc := client(i)
		out[i] = cc.CABundle
		if bundle := want(obj, serviceOf(cc.Service)); bundle != nil && !bytes.Equal(bundle, cc.CABundle) {
			out[i], changed = bundle, true
		}
	}
	if !changed {
		return nil
	}
	return out
}
