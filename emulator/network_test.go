package main

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestIPPool(t *testing.T) {
	p := newIPPool()
	a, _ := p.allocate("a")
	b, _ := p.allocate("b")
	if a == b {
		t.Fatalf("two pods got %s", a)
	}
	if again, _ := p.allocate("a"); again != a {
		t.Fatalf("a pod's address changed: %s -> %s", a, again)
	}
	for _, ip := range []string{a, b} {
		addr := netip.MustParseAddr(ip)
		if !podNetwork.Contains(addr) || addr.IsLoopback() || addr.IsPrivate() {
			t.Fatalf("%s is outside the pod network or in a private range", ip)
		}
	}
	p.claim("restarted", "198.18.1.0") // taken by a: ignored
	p.claim("restarted", "198.18.9.9")
	if got, _ := p.allocate("restarted"); got != "198.18.9.9" {
		t.Fatalf("a claimed address was not kept: %s", got)
	}
	p.release("a")
	p.next = netip.MustParseAddr(a)
	if c, _ := p.allocate("c"); c != a {
		t.Fatalf("a released address was not reused: %s", c)
	}
}

func TestNodeIP(t *testing.T) {
	if nodeIP(0) != "198.18.0.1" || nodeIP(maxNodes-1) != "198.18.0.250" {
		t.Fatalf("node IPs %s .. %s", nodeIP(0), nodeIP(maxNodes-1))
	}
}

func TestEmulatedNodeCapacity(t *testing.T) {
	o := options{nodeCPU: resource.MustParse("16"), nodeMemory: resource.MustParse("64Gi"), nodePods: 110}
	n := emulatedNode(2, o, "v1.35.4")
	if n.Name != "emulated-node-2" || n.Annotations[kwokAnnotation] != "fake" {
		t.Fatalf("node %s %v", n.Name, n.Annotations)
	}
	if n.Status.Allocatable.Cpu().String() != "16" || n.Status.Allocatable.Memory().String() != "64Gi" || n.Status.Addresses[0].Address != "198.18.0.3" {
		t.Fatalf("status %+v", n.Status)
	}
}

func TestTargetPort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "webhook", ContainerPort: 9443}}}}}}
	for _, tt := range []struct {
		port corev1.ServicePort
		want int32
	}{
		{corev1.ServicePort{Port: 443, TargetPort: intstr.FromString("webhook")}, 9443},
		{corev1.ServicePort{Port: 443, TargetPort: intstr.FromString("absent")}, 0},
		{corev1.ServicePort{Port: 443, TargetPort: intstr.FromInt32(10250)}, 10250},
		{corev1.ServicePort{Port: 443}, 443},
	} {
		if got := targetPort(pod, tt.port); got != tt.want {
			t.Errorf("targetPort(%v) = %d, want %d", tt.port.TargetPort, got, tt.want)
		}
	}
}

func TestDynamicServingOf(t *testing.T) {
	pod := podWith(nil, corev1.Container{
		Args: []string{
			"--dynamic-serving-ca-secret-namespace=$(POD_NAMESPACE)",
			"--dynamic-serving-ca-secret-name=cert-manager-webhook-ca",
			"--dynamic-serving-dns-names=cert-manager-webhook.$(POD_NAMESPACE).svc",
		},
		Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
	})
	d := dynamicServingOf(pod, world())
	if d == nil || d.secretNamespace != "ns" || d.secretName != "cert-manager-webhook-ca" || d.dnsNames[0] != "cert-manager-webhook.ns.svc" {
		t.Fatalf("got %+v", d)
	}
	if dynamicServingOf(podWith(nil, corev1.Container{Args: []string{"--port=9443"}}), world()) != nil {
		t.Fatal("a pod without dynamic serving flags is not cert-manager's webhook")
	}
}

func TestProvisionedVolume(t *testing.T) {
	retain := corev1.PersistentVolumeReclaimRetain
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: provisionerName, ReclaimPolicy: &retain}
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns", UID: "c1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}},
		},
	}
	pv := provisionedVolume(claim, class, "/state")
	if pv.Name != "pvc-c1" || pv.Spec.ClaimRef.UID != "c1" || pv.Spec.StorageClassName != "standard" ||
		pv.Spec.PersistentVolumeReclaimPolicy != retain || pv.Spec.Capacity.Storage().String() != "5Gi" || pv.Annotations[provisionedBy] != provisionerName {
		t.Fatalf("pv %+v", pv)
	}
}
