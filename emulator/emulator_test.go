package main

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeEmulator runs the emulator's passes against fake clientsets.
func fakeEmulator(t *testing.T) (*emulator, *fake.Clientset, context.Context) {
	t.Helper()
	kube := fake.NewClientset()
	e := &emulator{
		opts: options{stateDir: t.TempDir()},
		kube: kube, apiext: apiextfake.NewClientset(), dyn: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()),
		kick: make(chan struct{}, 1), ips: newIPPool(), runs: newRuns(),
		runtimes: map[string]*podRuntime{}, backends: map[string]backend{},
		selfCAs: map[string]*servingCA{}, dynCAs: map[string]*servingCA{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.startInformers(ctx)
	return e, kube, ctx
}

// eventually polls cond (informer caches fill asynchronously).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func boundPod(name string, labels map[string]string, volumes ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: labels},
		Spec: corev1.PodSpec{
			NodeName: nodeName(0), Volumes: volumes,
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1", Ports: []corev1.ContainerPort{{Name: "webhook", ContainerPort: 9443}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
}

func TestPodWaitsForItsSecretThenRuns(t *testing.T) {
	e, kube, ctx := fakeEmulator(t)
	pod := boundPod("app", nil, secretVolume("creds", false))
	if _, err := kube.CoreV1().Pods("ns").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod in the cache", func() bool { _, err := e.pods.Pods("ns").Get("app"); return err == nil })
	e.syncAll(ctx)
	got, _ := kube.CoreV1().Pods("ns").Get(ctx, "app", metav1.GetOptions{})
	if got.Status.Phase != corev1.PodPending || got.Status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" || got.Status.PodIP != "" {
		t.Fatalf("without its Secret: %+v", got.Status)
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns"}}
	if _, err := kube.CoreV1().Secrets("ns").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Secret in the cache", func() bool { _, err := e.secrets.Secrets("ns").Get("creds"); return err == nil })
	e.syncAll(ctx)
	got, _ = kube.CoreV1().Pods("ns").Get(ctx, "app", metav1.GetOptions{})
	if got.Status.Phase != corev1.PodRunning || readyCondition(got.Status) != corev1.ConditionTrue || got.Status.PodIP != "198.18.1.0" || got.Status.HostIP != "198.18.0.1" {
		t.Fatalf("with its Secret: %+v", got.Status)
	}
}

func TestSelfManagedWebhookIsServedAndGetsItsCABundle(t *testing.T) {
	e, kube, ctx := fakeEmulator(t)
	labels := map[string]string{"app": "hook"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: "ns"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromString("webhook")}}},
	}
	vwc := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "hook"},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:         "hook.example.io",
			ClientConfig: admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Namespace: "ns", Name: "hook"}},
		}},
	}
	if _, err := kube.CoreV1().Services("ns").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Pods("ns").Create(ctx, boundPod("hook-0", labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the objects in the cache", func() bool {
		_, err1 := e.pods.Pods("ns").Get("hook-0")
		_, err2 := e.validating.Get("hook")
		_, err3 := e.services.Services("ns").Get("hook")
		return err1 == nil && err2 == nil && err3 == nil
	})
	if _, ok := e.backend("198.18.1.0:9443"); ok {
		t.Fatal("served before its pod started")
	}
	e.syncAll(ctx)
	b, ok := e.backend("198.18.1.0:9443")
	if !ok || b.service != "ns/hook" {
		t.Fatalf("the started pod is not served at its IP and target port: %+v", e.backends)
	}
	got, _ := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "hook", metav1.GetOptions{})
	ca, _ := e.selfCA("ns", "hook")
	if string(got.Webhooks[0].ClientConfig.CABundle) != string(ca.certPEM) {
		t.Fatal("the self-managed webhook's caBundle is not its CA")
	}
	leaf, err := x509.ParseCertificate(b.cert.Certificate[0])
	if err != nil || leaf.VerifyHostname("hook.ns.svc") != nil {
		t.Fatalf("the serving certificate is not for hook.ns.svc (%v)", err)
	}
}
