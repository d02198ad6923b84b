package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

const provisionedBy = "pv.kubernetes.io/provisioned-by"

// provisionedVolume is the PersistentVolume an external provisioner creates
// for a claim of its class; the PV controller (kube-controller-manager) then
// binds the two. Nothing is stored: the path is never created.
func provisionedVolume(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, stateDir string) *corev1.PersistentVolume {
	name := "pvc-" + string(claim.UID)
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{provisionedBy: provisionerName}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes: claim.Spec.AccessModes,
			VolumeMode:  claim.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID,
			},
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(stateDir, "volumes", name)},
			},
		},
	}
}

// syncProvisioner provisions a volume for each pending claim of a class this
// emulator provisions, and deletes released volumes whose policy is Delete.
func (e *emulator) syncProvisioner(ctx context.Context) error {
	var errs []error
	claims, _ := e.pvcs.List(labels.Everything())
	for _, claim := range claims {
		if claim.Spec.VolumeName != "" || claim.Status.Phase != corev1.ClaimPending || claim.DeletionTimestamp != nil {
			continue
		}
		class, err := e.classes.Get(ptr.Deref(claim.Spec.StorageClassName, ""))
		if err != nil || class.Provisioner != provisionerName {
			continue
		}
		pv := provisionedVolume(claim, class, e.opts.stateDir)
		if _, err := e.pvs.Get(pv.Name); err == nil {
			continue
		}
		_, err = e.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("volume for claim %s/%s: %w", claim.Namespace, claim.Name, err))
		}
	}
	pvs, _ := e.pvs.List(labels.Everything())
	for _, pv := range pvs {
		if pv.Annotations[provisionedBy] != provisionerName || pv.Status.Phase != corev1.VolumeReleased ||
			pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
			continue
		}
		err := e.kube.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete released volume %s: %w", pv.Name, err))
		}
	}
	return errors.Join(errs...)
}
