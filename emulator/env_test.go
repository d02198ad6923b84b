package main

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestExpand(t *testing.T) {
	env := []envVar{{"NS", "kubeflow"}, {"EMPTY", ""}}
	for in, want := range map[string]string{
		"--ns=$(NS)":    "--ns=kubeflow",
		"$(NS).svc":     "kubeflow.svc",
		"$(UNDEFINED)":  "$(UNDEFINED)",
		"$$(NS)":        "$(NS)",
		"a$(EMPTY)b":    "ab",
		"price $5":      "price $5",
		"trailing $":    "trailing $",
		"unclosed $(NS": "unclosed $(NS",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	pod := podWith(nil, corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
		Env: []corev1.EnvVar{
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "URL", Value: "https://svc.$(POD_NAMESPACE)"},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "CFG_level", Value: "override"},
		},
	})
	got := describeEnv(containerEnv(pod, pod.Spec.Containers[0], world()))
	want := []string{"CFG_level=override", "POD_NAMESPACE=ns", "URL=https://svc.ns", "PASSWORD=pw"}
	if !slices.Equal(got, want) {
		t.Fatalf("env = %v, want %v", got, want)
	}
}

func TestFlagValues(t *testing.T) {
	args := []string{"--a=1", "--b", "2", "--a=3", "--ab=4", "--b"}
	if got := flagValues(args, "a"); !slices.Equal(got, []string{"1", "3"}) {
		t.Errorf("a: %v", got)
	}
	if got := flagValues(args, "b"); !slices.Equal(got, []string{"2"}) {
		t.Errorf("b: %v", got)
	}
}
