package main

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// istioRootCert is the ConfigMap istiod's namespace controller writes into
// every namespace: the mesh's root certificate, which gateways and sidecars
// mount (the ingress gateway's `istiod-ca-cert` volume is not optional).
const istioRootCert = "istio-ca-root-cert"

// syncIstiod plays istiod's namespace controller while an istiod Deployment
// is Available: every namespace gets istio-ca-root-cert. The certificate is
// the emulation's own CA; nothing here speaks mTLS, so its content is only
// there to be mounted.
func (e *emulator) syncIstiod(ctx context.Context) error {
	if !istiodAvailable(e.deploymentsWith(labels.SelectorFromSet(labels.Set{"app": "istiod"}))) {
		return nil
	}
	namespaces, _ := e.namespaces.List(labels.Everything())
	for _, ns := range namespaces {
		if ns.Status.Phase == corev1.NamespaceTerminating {
			continue
		}
		if _, err := e.configMaps.ConfigMaps(ns.Name).Get(istioRootCert); err == nil {
			continue
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:      istioRootCert,
				Namespace: ns.Name,
				Labels:    map[string]string{"istio.io/config": "true"},
			},
			Data: map[string]string{"root-cert.pem": string(e.clusterCAPEM)},
		}
		if _, err := e.kube.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

func (e *emulator) deploymentsWith(sel labels.Selector) []*appsv1.Deployment {
	list, _ := e.deployments.List(sel)
	return list
}

// istiodAvailable: one of the Deployments reports Available.
func istiodAvailable(deployments []*appsv1.Deployment) bool {
	for _, d := range deployments {
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return true
			}
		}
	}
	return false
}
