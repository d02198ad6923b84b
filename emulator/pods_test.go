package main

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// fakeObjects is an in-memory objects lookup.
type fakeObjects struct {
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
	claims     map[string]*corev1.PersistentVolumeClaim
}

func (f fakeObjects) secret(ns, name string) (*corev1.Secret, bool) {
	s, ok := f.secrets[ns+"/"+name]
	return s, ok
}

func (f fakeObjects) configMap(ns, name string) (*corev1.ConfigMap, bool) {
	c, ok := f.configMaps[ns+"/"+name]
	return c, ok
}

func (f fakeObjects) claim(ns, name string) (*corev1.PersistentVolumeClaim, bool) {
	c, ok := f.claims[ns+"/"+name]
	return c, ok
}

func world() fakeObjects {
	return fakeObjects{
		secrets: map[string]*corev1.Secret{
			"ns/creds": {Data: map[string][]byte{"password": []byte("pw")}},
		},
		configMaps: map[string]*corev1.ConfigMap{
			"ns/settings": {Data: map[string]string{"level": "debug"}},
		},
		claims: map[string]*corev1.PersistentVolumeClaim{
			"ns/bound":   {Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
			"ns/pending": {Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
		},
	}
}

func podWith(volumes []corev1.Volume, c corev1.Container) *corev1.Pod {
	c.Name, c.Image = "app", "registry.example/app:1"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"},
		Spec:       corev1.PodSpec{Volumes: volumes, Containers: []corev1.Container{c}},
	}
}

func secretVolume(name string, optional bool, keys ...string) corev1.Volume {
	v := corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name, Optional: ptr.To(optional)}}}
	for _, k := range keys {
		v.Secret.Items = append(v.Secret.Items, corev1.KeyToPath{Key: k, Path: k})
	}
	return v
}

func TestBlockerFor(t *testing.T) {
	secretKey := func(name, key string) corev1.Container {
		return corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key},
		}}}}
	}
	claim := func(name string) corev1.Volume {
		return corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}
	}
	projected := corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}},
	}}}}
	tests := []struct {
		name           string
		pod            *corev1.Pod
		reason, expect string // expect: substring of the message; "" = no blocker
	}{
		{"nothing referenced", podWith(nil, corev1.Container{}), "", ""},
		{"secret volume present", podWith([]corev1.Volume{secretVolume("creds", false)}, corev1.Container{}), "", ""},
		{"secret volume missing", podWith([]corev1.Volume{secretVolume("later", false)}, corev1.Container{}), "ContainerCreating", `secret "later" not found`},
		{"optional secret volume missing", podWith([]corev1.Volume{secretVolume("later", true)}, corev1.Container{}), "", ""},
		{"secret volume item key missing", podWith([]corev1.Volume{secretVolume("creds", false, "token")}, corev1.Container{}), "ContainerCreating", "non-existent secret key: token"},
		{"projected config map missing", podWith([]corev1.Volume{projected}, corev1.Container{}), "ContainerCreating", `configmap "absent" not found`},
		{"claim bound", podWith([]corev1.Volume{claim("bound")}, corev1.Container{}), "", ""},
		{"claim pending", podWith([]corev1.Volume{claim("pending")}, corev1.Container{}), "ContainerCreating", `"pending" is not bound`},
		{"claim missing", podWith([]corev1.Volume{claim("none")}, corev1.Container{}), "ContainerCreating", `"none" not found`},
		{"secretKeyRef present", podWith(nil, secretKey("creds", "password")), "", ""},
		{"secretKeyRef secret missing", podWith(nil, secretKey("later", "password")), "CreateContainerConfigError", `secret "later" not found`},
		{"secretKeyRef key missing", podWith(nil, secretKey("creds", "user")), "CreateContainerConfigError", "couldn't find key user in Secret ns/creds"},
		{"envFrom config map missing", podWith(nil, corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}}}}), "CreateContainerConfigError", `configmap "absent" not found`},
		{"optional envFrom secret missing", podWith(nil, corev1.Container{EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}}}}), "", ""},
		{"volume reported before env", podWith([]corev1.Volume{secretVolume("later", false)}, secretKey("later", "x")), "ContainerCreating", "MountVolume.SetUp failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := blockerFor(tt.pod, world())
			if tt.reason == "" {
				if b != nil {
					t.Fatalf("want no blocker, got %+v", *b)
				}
				return
			}
			if b == nil || b.reason != tt.reason || !strings.Contains(b.message, tt.expect) {
				t.Fatalf("want %s containing %q, got %+v", tt.reason, tt.expect, b)
			}
		})
	}
}

func readyCondition(s corev1.PodStatus) corev1.ConditionStatus {
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status
		}
	}
	return ""
}

func TestStatuses(t *testing.T) {
	now := time.Now()
	pod := podWith(nil, corev1.Container{})
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	rt := &podRuntime{ip: "198.18.1.7", started: now}

	waitingS := waitingStatus(pod, blocker{"ContainerCreating", "m"}, now)
	if waitingS.Phase != corev1.PodPending || readyCondition(waitingS) != corev1.ConditionFalse || waitingS.PodIP != "" {
		t.Fatalf("waiting: %+v", waitingS)
	}
	if got := waitingS.ContainerStatuses[0].State.Waiting.Reason; got != "ContainerCreating" {
		t.Fatalf("waiting reason %q", got)
	}
	runningS := runningStatus(pod, rt, "198.18.0.1", now)
	if runningS.Phase != corev1.PodRunning || readyCondition(runningS) != corev1.ConditionTrue || runningS.PodIP != rt.ip || !runningS.ContainerStatuses[0].Ready {
		t.Fatalf("running: %+v", runningS)
	}
	scheduled := false
	for _, c := range runningS.Conditions {
		scheduled = scheduled || (c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue)
	}
	if !scheduled {
		t.Fatal("the scheduler's PodScheduled condition was dropped")
	}
	if signature(runningS) == signature(waitingS) {
		t.Fatal("signature does not tell running from waiting")
	}
	if done := finishedStatus(pod, rt, "198.18.0.1", nil, now); done.Phase != corev1.PodSucceeded || done.ContainerStatuses[0].State.Terminated.ExitCode != 0 {
		t.Fatalf("completed: %+v", done)
	}
	failed := &runResult{done: true, containers: map[string]containerRun{"app": {state: completed(1, "Error", now, now)}}}
	if s := finishedStatus(pod, rt, "198.18.0.1", failed, now); s.Phase != corev1.PodFailed || s.ContainerStatuses[0].State.Terminated.ExitCode != 1 {
		t.Fatalf("failed: %+v", s)
	}
	crashing := &runResult{containers: map[string]containerRun{"app": {state: waiting("CrashLoopBackOff", ""), restarts: 2}}}
	if s := crashing.runningStatus(pod, rt, "198.18.0.1", now); readyCondition(s) != corev1.ConditionFalse || s.ContainerStatuses[0].RestartCount != 2 {
		t.Fatalf("crash loop: %+v", s)
	}
}

func TestWithConditionsKeepsTransitionTime(t *testing.T) {
	then := metav1.NewTime(time.Now().Add(-time.Hour))
	old := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: then}}}
	got := withConditions(old, condition(corev1.PodReady, true, "", time.Now()))
	if len(got) != 1 || !got[0].LastTransitionTime.Equal(&then) {
		t.Fatalf("got %+v", got)
	}
}

func TestNodeIndex(t *testing.T) {
	for name, want := range map[string]bool{"emulated-node-0": true, "emulated-node-12": true, "emulated-node-x": false, "kind-worker": false, "emulated-node-01": false} {
		if _, ok := nodeIndex(name); ok != want {
			t.Errorf("nodeIndex(%q) = %v, want %v", name, ok, want)
		}
	}
}
