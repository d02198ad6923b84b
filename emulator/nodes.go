package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kwokAnnotation marks the Nodes kwok keeps Ready (heartbeats, leases);
// scripts/cluster runs kwok with this annotation selector.
const kwokAnnotation = "kwok.x-k8s.io/node"

// provisionerName is the StorageClass provisioner this emulator implements.
const provisionerName = "kube-emulator.kubeflow-helm.local/volume"

func nodeName(i int) string { return fmt.Sprintf("emulated-node-%d", i) }

// emulatedNode is Node i as a kubelet would register it: capacity and
// allocatable from the flags, an InternalIP, the Kubernetes version.
func emulatedNode(i int, o options, kubeletVersion string) *corev1.Node {
	name := nodeName(i)
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              o.nodeCPU,
		corev1.ResourceMemory:           o.nodeMemory,
		corev1.ResourcePods:             *resource.NewQuantity(int64(o.nodePods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
			Annotations: map[string]string{kwokAnnotation: "fake"},
		},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: nodeIP(i)},
				{Type: corev1.NodeHostName, Address: name},
			},
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion:          kubeletVersion,
				ContainerRuntimeVersion: "kube-emulator://1",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// waitForAPIServer waits until the API server answers (scripts/cluster starts
// every process at once).
func (e *emulator) waitForAPIServer(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := e.kube.Discovery().ServerVersion()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API server not answering after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ensureNodes registers the Nodes (like kubelets do on start); kwok then
// turns them Ready and keeps their leases.
func (e *emulator) ensureNodes(ctx context.Context) error {
	version, err := e.kube.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	for i := range e.opts.nodes {
		want := emulatedNode(i, e.opts, version.GitVersion)
		node, err := e.kube.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("create node %s: %w", want.Name, err)
		}
		if node.Status.Allocatable.Cpu().IsZero() {
			node.Status = want.Status
			if _, err := e.kube.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("node %s status: %w", want.Name, err)
			}
		}
	}
	return nil
}

// ensureStorageClass creates the cluster's default StorageClass, whose claims
// the provisioner (provisioner.go) binds right away.
func (e *emulator) ensureStorageClass(ctx context.Context) error {
	deleteVolumes := corev1.PersistentVolumeReclaimDelete
	immediate := storagev1.VolumeBindingImmediate
	class := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        e.opts.storageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       provisionerName,
		ReclaimPolicy:     &deleteVolumes,
		VolumeBindingMode: &immediate,
	}
	_, err := e.kube.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create storage class %s: %w", class.Name, err)
	}
	return nil
}
