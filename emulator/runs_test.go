package main

import (
	"slices"
	"testing"
	"time"
)

func TestIsKubectlImage(t *testing.T) {
	for image, want := range map[string]bool{
		"registry.k8s.io/kubectl":                      true,
		"registry.k8s.io/kubectl:v1.35.4":              true,
		"registry.k8s.io/kubectl@sha256:0123abcd":      true,
		"registry.k8s.io/kubectl:v1.35.4@sha256:01ab":  true,
		"bitnami/kubectl:1.35":                         false,
		"registry.k8s.io/kubectl-extra:v1":             false,
		"mirror.example/registry.k8s.io/kubectl:v1.35": false,
	} {
		if got := isKubectlImage(image); got != want {
			t.Errorf("isKubectlImage(%q) = %v, want %v", image, got, want)
		}
	}
}

func TestKubectlArgv(t *testing.T) {
	tests := []struct {
		command, args, want []string
		fails               bool
	}{
		{nil, []string{"get", "pods"}, []string{"kubectl", "get", "pods"}, false},
		{[]string{"kubectl"}, []string{"apply", "-f", "x"}, []string{"kubectl", "apply", "-f", "x"}, false},
		{[]string{"/bin/kubectl", "wait"}, []string{"--for=condition=Ready"}, []string{"kubectl", "wait", "--for=condition=Ready"}, false},
		{[]string{"/bin/bash", "-c"}, []string{"kubectl get pods"}, []string{"bash", "-c", "kubectl get pods"}, false},
		{[]string{"/bin/sh", "-c"}, []string{"kubectl get pods"}, []string{"sh", "-c", "kubectl get pods"}, false},
		{[]string{"python3", "-c"}, []string{"print()"}, nil, true},
	}
	for _, tt := range tests {
		got, err := kubectlArgv(tt.command, tt.args)
		if (err != nil) != tt.fails || !slices.Equal(got, tt.want) {
			t.Errorf("kubectlArgv(%v, %v) = %v, %v", tt.command, tt.args, got, err)
		}
	}
}

func TestRestartBackoff(t *testing.T) {
	want := map[int32]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 10: 5 * time.Minute}
	for restarts, d := range want {
		if got := restartBackoff(restarts); got != d {
			t.Errorf("restartBackoff(%d) = %s, want %s", restarts, got, d)
		}
	}
}
