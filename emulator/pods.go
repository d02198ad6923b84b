package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// podRuntime is what this emulator remembers about a pod on one of its Nodes.
type podRuntime struct {
	availableSince time.Time // volumes and environment all present since
	started        time.Time // containers started (zero: not yet)
	ip             string
}

// objects are the lookups the kubelet makes before starting containers.
type objects interface {
	secret(namespace, name string) (*corev1.Secret, bool)
	configMap(namespace, name string) (*corev1.ConfigMap, bool)
	claim(namespace, name string) (*corev1.PersistentVolumeClaim, bool)
}

// blocker is why the kubelet cannot start a pod's containers yet, as it
// reports it: ContainerCreating while a volume cannot be mounted,
// CreateContainerConfigError while an environment source is missing.
type blocker struct {
	reason, message string
}

// blockerFor returns what keeps the pod's containers from starting, or nil.
// Volumes are mounted before containers are configured, as on a kubelet.
func blockerFor(pod *corev1.Pod, objs objects) *blocker {
	ns := pod.Namespace
	for _, v := range pod.Spec.Volumes {
		if msg := volumeProblem(ns, v, objs); msg != "" {
			return &blocker{"ContainerCreating", fmt.Sprintf("MountVolume.SetUp failed for volume %q: %s", v.Name, msg)}
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if msg := envProblem(ns, c, objs); msg != "" {
			return &blocker{"CreateContainerConfigError", msg}
		}
	}
	return nil
}

func volumeProblem(ns string, v corev1.Volume, objs objects) string {
	switch {
	case v.Secret != nil:
		return secretProblem(ns, v.Secret.SecretName, ptr.Deref(v.Secret.Optional, false), v.Secret.Items, objs)
	case v.ConfigMap != nil:
		return configMapProblem(ns, v.ConfigMap.Name, ptr.Deref(v.ConfigMap.Optional, false), v.ConfigMap.Items, objs)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			if s.Secret != nil {
				if msg := secretProblem(ns, s.Secret.Name, ptr.Deref(s.Secret.Optional, false), s.Secret.Items, objs); msg != "" {
					return msg
				}
			}
			if s.ConfigMap != nil {
				if msg := configMapProblem(ns, s.ConfigMap.Name, ptr.Deref(s.ConfigMap.Optional, false), s.ConfigMap.Items, objs); msg != "" {
					return msg
				}
			}
		}
	case v.PersistentVolumeClaim != nil:
		name := v.PersistentVolumeClaim.ClaimName
		claim, ok := objs.claim(ns, name)
		if !ok {
			return fmt.Sprintf("persistentvolumeclaim %q not found", name)
		}
		if claim.Status.Phase != corev1.ClaimBound {
			return fmt.Sprintf("persistentvolumeclaim %q is not bound", name)
		}
	}
	return ""
}

func secretProblem(ns, name string, optional bool, items []corev1.KeyToPath, objs objects) string {
	s, ok := objs.secret(ns, name)
	if !ok {
		if optional {
			return ""
		}
		return fmt.Sprintf("secret %q not found", name)
	}
	for _, it := range items {
		if _, has := s.Data[it.Key]; !has && !optional {
			return fmt.Sprintf("references non-existent secret key: %s", it.Key)
		}
	}
	return ""
}

func configMapProblem(ns, name string, optional bool, items []corev1.KeyToPath, objs objects) string {
	cm, ok := objs.configMap(ns, name)
	if !ok {
		if optional {
			return ""
		}
		return fmt.Sprintf("configmap %q not found", name)
	}
	for _, it := range items {
		_, has := cm.Data[it.Key]
		_, hasBinary := cm.BinaryData[it.Key]
		if !has && !hasBinary && !optional {
			return fmt.Sprintf("configmap references non-existent config key: %s", it.Key)
		}
	}
	return ""
}

func envProblem(ns string, c corev1.Container, objs objects) string {
	for _, from := range c.EnvFrom {
		if r := from.SecretRef; r != nil && !ptr.Deref(r.Optional, false) {
			if _, ok := objs.secret(ns, r.Name); !ok {
				return fmt.Sprintf("secret %q not found", r.Name)
			}
		}
		if r := from.ConfigMapRef; r != nil && !ptr.Deref(r.Optional, false) {
			if _, ok := objs.configMap(ns, r.Name); !ok {
				return fmt.Sprintf("configmap %q not found", r.Name)
			}
		}
	}
	for _, env := range c.Env {
		if env.ValueFrom == nil {
			continue
		}
		if r := env.ValueFrom.SecretKeyRef; r != nil && !ptr.Deref(r.Optional, false) {
			s, ok := objs.secret(ns, r.Name)
			if !ok {
				return fmt.Sprintf("secret %q not found", r.Name)
			}
			if _, has := s.Data[r.Key]; !has {
				return fmt.Sprintf("couldn't find key %s in Secret %s/%s", r.Key, ns, r.Name)
			}
		}
		if r := env.ValueFrom.ConfigMapKeyRef; r != nil && !ptr.Deref(r.Optional, false) {
			cm, ok := objs.configMap(ns, r.Name)
			if !ok {
				return fmt.Sprintf("configmap %q not found", r.Name)
			}
			if _, has := cm.Data[r.Key]; !has {
				return fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", r.Key, ns, r.Name)
			}
		}
	}
	return ""
}

// restarts reports whether the pod's containers run until stopped
// (restartPolicy Always) rather than to completion.
func restarts(pod *corev1.Pod) bool {
	return pod.Spec.RestartPolicy == "" || pod.Spec.RestartPolicy == corev1.RestartPolicyAlways
}

func condition(t corev1.PodConditionType, ok bool, reason string, since time.Time) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, LastTransitionTime: metav1.NewTime(since)}
	if ok {
		c.Status, c.Reason = corev1.ConditionTrue, ""
	}
	return c
}

// withConditions keeps the conditions others own (PodScheduled from the
// scheduler, DisruptionTarget, readiness gates) and sets the kubelet's, with
// the old transition time where the status did not change.
func withConditions(old corev1.PodStatus, set ...corev1.PodCondition) []corev1.PodCondition {
	mine := map[corev1.PodConditionType]bool{}
	for _, c := range set {
		mine[c.Type] = true
	}
	var out []corev1.PodCondition
	for _, c := range old.Conditions {
		if !mine[c.Type] {
			out = append(out, c)
		}
	}
	for _, c := range set {
		for _, o := range old.Conditions {
			if o.Type == c.Type && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		out = append(out, c)
	}
	return out
}

func kubeletConditions(old corev1.PodStatus, sandbox, initialized, ready bool, notReadyReason string, now time.Time) []corev1.PodCondition {
	return withConditions(old,
		condition(corev1.PodReadyToStartContainers, sandbox, "", now),
		condition(corev1.PodInitialized, initialized, "ContainersNotInitialized", now),
		condition(corev1.ContainersReady, ready, notReadyReason, now),
		condition(corev1.PodReady, ready, notReadyReason, now),
	)
}

func containerStatus(c corev1.Container, state corev1.ContainerState, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name: c.Name, Image: c.Image, ImageID: c.Image, State: state, Ready: ready,
		Started: ptr.To(state.Running != nil),
	}
}

func waiting(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

func running(since time.Time) corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(since)}}
}

func completed(code int32, reason string, started, finished time.Time) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(finished),
	}}
}

// waitingStatus: the pod is on its Node but its containers are not created.
func waitingStatus(pod *corev1.Pod, b blocker, now time.Time) corev1.PodStatus {
	s := corev1.PodStatus{Phase: corev1.PodPending, QOSClass: pod.Status.QOSClass, HostIP: pod.Status.HostIP, HostIPs: pod.Status.HostIPs}
	initialized := len(pod.Spec.InitContainers) == 0
	s.Conditions = kubeletConditions(pod.Status, false, initialized, false, "ContainersNotReady", now)
	for _, c := range pod.Spec.InitContainers {
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(c, waiting("PodInitializing", ""), false))
	}
	reason := b.reason
	if len(pod.Spec.InitContainers) > 0 && reason == "ContainerCreating" {
		reason = "PodInitializing"
	}
	for _, c := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, containerStatus(c, waiting(reason, b.message), false))
	}
	return s
}

func (rt *podRuntime) addresses(pod *corev1.Pod, hostIP string) (podIPs []corev1.PodIP, hostIPs []corev1.HostIP) {
	return []corev1.PodIP{{IP: rt.ip}}, []corev1.HostIP{{IP: hostIP}}
}

// runningStatus: every container started and ready (readiness probes are not
// run; a started container counts as ready).
func runningStatus(pod *corev1.Pod, rt *podRuntime, hostIP string, now time.Time) corev1.PodStatus {
	s := corev1.PodStatus{Phase: corev1.PodRunning, QOSClass: pod.Status.QOSClass, HostIP: hostIP, PodIP: rt.ip, StartTime: ptr.To(metav1.NewTime(rt.started))}
	s.PodIPs, s.HostIPs = rt.addresses(pod, hostIP)
	s.Conditions = kubeletConditions(pod.Status, true, true, true, "", now)
	for _, c := range pod.Spec.InitContainers {
		state := completed(0, "Completed", rt.started, rt.started)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if sidecar {
			state = running(rt.started)
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(c, state, sidecar))
	}
	for _, c := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, containerStatus(c, running(rt.started), true))
	}
	return s
}

// finishedStatus: every container ran to completion with exit code 0 (an
// image that is not run), or with the exit codes of a run (runs.go).
func finishedStatus(pod *corev1.Pod, rt *podRuntime, hostIP string, res *runResult, now time.Time) corev1.PodStatus {
	s := corev1.PodStatus{Phase: corev1.PodSucceeded, QOSClass: pod.Status.QOSClass, HostIP: hostIP, PodIP: rt.ip, StartTime: ptr.To(metav1.NewTime(rt.started))}
	s.PodIPs, s.HostIPs = rt.addresses(pod, hostIP)
	state := func(name string) (corev1.ContainerState, int32) {
		if res == nil {
			return completed(0, "Completed", rt.started, now), 0
		}
		if st, ok := res.containers[name]; ok {
			return st.state, st.restarts
		}
		return waiting("PodInitializing", ""), 0
	}
	failed := false
	for _, c := range pod.Spec.InitContainers {
		st, n := state(c.Name)
		failed = failed || (st.Terminated != nil && st.Terminated.ExitCode != 0)
		cs := containerStatus(c, st, false)
		cs.RestartCount = n
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	for _, c := range pod.Spec.Containers {
		st, n := state(c.Name)
		failed = failed || st.Terminated == nil || st.Terminated.ExitCode != 0
		cs := containerStatus(c, st, false)
		cs.RestartCount = n
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	reason := "PodCompleted"
	if failed {
		s.Phase = corev1.PodFailed
		reason = "PodFailed"
	}
	s.Conditions = kubeletConditions(pod.Status, false, true, false, reason, now)
	return s
}

// signature is the part of a pod status this emulator decides; a status is
// written only when it changes (timestamps and fields the API server or other
// controllers add do not count).
func signature(s corev1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|", s.Phase, s.PodIP)
	for _, c := range s.Conditions {
		fmt.Fprintf(&b, "%s=%s,", c.Type, c.Status)
	}
	for _, list := range [][]corev1.ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses} {
		b.WriteString("|")
		for _, c := range list {
			fmt.Fprintf(&b, "%s:%t:%d:", c.Name, c.Ready, c.RestartCount)
			switch {
			case c.State.Running != nil:
				b.WriteString("running")
			case c.State.Terminated != nil:
				fmt.Fprintf(&b, "terminated/%d/%s", c.State.Terminated.ExitCode, c.State.Terminated.Reason)
			case c.State.Waiting != nil:
				fmt.Fprintf(&b, "waiting/%s/%s", c.State.Waiting.Reason, c.State.Waiting.Message)
			}
			b.WriteString(",")
		}
	}
	return b.String()
}

// listerObjects answers blockerFor from the informer caches.
type listerObjects struct{ e *emulator }

func (l listerObjects) secret(ns, name string) (*corev1.Secret, bool) {
	s, err := l.e.secrets.Secrets(ns).Get(name)
	return s, err == nil
}

func (l listerObjects) configMap(ns, name string) (*corev1.ConfigMap, bool) {
	cm, err := l.e.configMaps.ConfigMaps(ns).Get(name)
	return cm, err == nil
}

func (l listerObjects) claim(ns, name string) (*corev1.PersistentVolumeClaim, bool) {
	c, err := l.e.pvcs.PersistentVolumeClaims(ns).Get(name)
	return c, err == nil
}

// nodeIndex is i for "emulated-node-<i>"; false for Nodes this emulator does
// not run.
func nodeIndex(name string) (int, bool) {
	var i int
	if _, err := fmt.Sscanf(name, "emulated-node-%d", &i); err != nil || nodeName(i) != name {
		return 0, false
	}
	return i, true
}

// syncPods does what the kubelets of the emulated Nodes would do for each
// pod bound to them. It returns when a pod's ready delay expires next.
func (e *emulator) syncPods(ctx context.Context, now time.Time) (time.Time, error) {
	pods, err := e.pods.List(labels.Everything())
	if err != nil {
		return now, err
	}
	next := now.Add(time.Hour)
	live := map[string]bool{}
	var errs []error
	for _, pod := range pods {
		node, ours := nodeIndex(pod.Spec.NodeName)
		if !ours {
			continue
		}
		uid := string(pod.UID)
		live[uid] = true
		if pod.DeletionTimestamp != nil {
			// The kubelet stops the containers and removes the pod.
			e.runs.stop(uid)
			err := e.kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
				GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(uid),
			})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs = append(errs, fmt.Errorf("delete %s/%s: %w", pod.Namespace, pod.Name, err))
			}
			continue
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		rt := e.runtime(pod)
		status, due, err := e.podStatus(ctx, pod, rt, nodeIP(node), now)
		if err != nil {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
			continue
		}
		if !due.IsZero() && due.Before(next) {
			next = due
		}
		if signature(status) == signature(pod.Status) {
			continue
		}
		updated := pod.DeepCopy()
		status.NominatedNodeName = pod.Status.NominatedNodeName
		updated.Status = status
		// A conflict means a newer pod is on its way to the cache, whose event
		// brings the next pass.
		if _, err := e.kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("status of %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	}
	e.forgetPodsExcept(live)
	return next, errors.Join(errs...)
}

func (e *emulator) runtime(pod *corev1.Pod) *podRuntime {
	e.mu.Lock()
	defer e.mu.Unlock()
	uid := string(pod.UID)
	rt, ok := e.runtimes[uid]
	if !ok {
		rt = &podRuntime{}
		// A pod this emulator started before it was restarted keeps its
		// address and start time.
		if pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != "" && pod.Status.StartTime != nil {
			e.ips.claim(uid, pod.Status.PodIP)
			rt.ip, rt.started = pod.Status.PodIP, pod.Status.StartTime.Time
		}
		e.runtimes[uid] = rt
	}
	return rt
}

func (e *emulator) forgetPodsExcept(live map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for uid := range e.runtimes {
		if !live[uid] {
			delete(e.runtimes, uid)
			e.ips.release(uid)
			e.runs.stop(uid)
		}
	}
}

// podStatus is the status the kubelet would report for pod now, and when it
// changes next without any event (zero: only on events).
func (e *emulator) podStatus(ctx context.Context, pod *corev1.Pod, rt *podRuntime, hostIP string, now time.Time) (corev1.PodStatus, time.Time, error) {
	runsKubectl := !restarts(pod) && hasKubectlContainer(pod)
	if rt.started.IsZero() {
		if b := blockerFor(pod, listerObjects{e}); b != nil {
			rt.availableSince = time.Time{}
			return waitingStatus(pod, *b, now), time.Time{}, nil
		}
		if rt.availableSince.IsZero() {
			rt.availableSince = now
		}
		if startAt := rt.availableSince.Add(e.opts.podReadyDelay); now.Before(startAt) {
			return waitingStatus(pod, blocker{reason: "ContainerCreating"}, now), startAt, nil
		}
		ip := hostIP
		if !pod.Spec.HostNetwork {
			var err error
			if ip, err = e.ips.allocate(string(pod.UID)); err != nil {
				return pod.Status, time.Time{}, err
			}
		}
		rt.ip, rt.started = ip, now
		// What a webhook server does before it reports Ready happens before
		// the pod turns Ready.
		if err := e.prepareServing(ctx, pod); err != nil {
			rt.started = time.Time{}
			return pod.Status, time.Time{}, err
		}
		if runsKubectl {
			e.runs.start(e, pod)
		}
		log.Printf("pod %s/%s started on %s (%s)", pod.Namespace, pod.Name, pod.Spec.NodeName, ip)
	}
	switch {
	case runsKubectl:
		res := e.runs.result(string(pod.UID))
		if res == nil {
			// Started by an earlier emulator process: run it again.
			e.runs.start(e, pod)
			return runningStatus(pod, rt, hostIP, now), time.Time{}, nil
		}
		if !res.done {
			return res.runningStatus(pod, rt, hostIP, now), time.Time{}, nil
		}
		return finishedStatus(pod, rt, hostIP, res, now), time.Time{}, nil
	case restarts(pod):
		return runningStatus(pod, rt, hostIP, now), time.Time{}, nil
	default:
		return finishedStatus(pod, rt, hostIP, nil, now), time.Time{}, nil
	}
}
