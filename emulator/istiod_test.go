package main

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestIstiodAvailableNeedsAnAvailableDeployment(t *testing.T) {
	cond := func(s corev1.ConditionStatus) *appsv1.Deployment {
		return &appsv1.Deployment{Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: s}}}}
	}
	cases := []struct {
		name string
		in   []*appsv1.Deployment
		want bool
	}{
		{"none", nil, false},
		{"not available", []*appsv1.Deployment{cond(corev1.ConditionFalse)}, false},
		{"no conditions yet", []*appsv1.Deployment{{}}, false},
		{"available", []*appsv1.Deployment{cond(corev1.ConditionFalse), cond(corev1.ConditionTrue)}, true},
	}
	for _, c := range cases {
		if got := istiodAvailable(c.in); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
