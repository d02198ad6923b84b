package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// containerEnv is a container's environment as the kubelet builds it: envFrom
// sources first, then env entries in order, each value with $(VAR)
// references to earlier variables expanded. Missing optional sources are
// skipped; missing required ones were caught by blockerFor before start.
func containerEnv(pod *corev1.Pod, c corev1.Container, objs objects) []envVar {
	var env []envVar
	set := func(name, value string) {
		for i := range env {
			if env[i].name == name {
				env[i].value = value
				return
			}
		}
		env = append(env, envVar{name, value})
	}
	for _, from := range c.EnvFrom {
		if r := from.SecretRef; r != nil {
			if s, ok := objs.secret(pod.Namespace, r.Name); ok {
				for _, k := range sortedKeys(s.Data) {
					set(from.Prefix+k, string(s.Data[k]))
				}
			}
		}
		if r := from.ConfigMapRef; r != nil {
			if cm, ok := objs.configMap(pod.Namespace, r.Name); ok {
				for _, k := range sortedKeys(cm.Data) {
					set(from.Prefix+k, cm.Data[k])
				}
			}
		}
	}
	for _, v := range c.Env {
		if v.ValueFrom == nil {
			set(v.Name, expand(v.Value, env))
			continue
		}
		if value, ok := valueFrom(pod, v.ValueFrom, objs); ok {
			set(v.Name, value)
		}
	}
	return env
}

type envVar struct{ name, value string }

func valueFrom(pod *corev1.Pod, src *corev1.EnvVarSource, objs objects) (string, bool) {
	switch {
	case src.SecretKeyRef != nil:
		if s, ok := objs.secret(pod.Namespace, src.SecretKeyRef.Name); ok {
			v, has := s.Data[src.SecretKeyRef.Key]
			return string(v), has
		}
	case src.ConfigMapKeyRef != nil:
		if cm, ok := objs.configMap(pod.Namespace, src.ConfigMapKeyRef.Name); ok {
			v, has := cm.Data[src.ConfigMapKeyRef.Key]
			return v, has
		}
	case src.FieldRef != nil:
		return fieldValue(pod, src.FieldRef.FieldPath)
	}
	return "", false
}

// fieldValue resolves the downward API fields a kubelet offers as env.
func fieldValue(pod *corev1.Pod, path string) (string, bool) {
	switch path {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "metadata.uid":
		return string(pod.UID), true
	case "spec.nodeName":
		return pod.Spec.NodeName, true
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, true
	case "status.podIP":
		return pod.Status.PodIP, true
	case "status.hostIP":
		return pod.Status.HostIP, true
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok {
			v, has := m[strings.TrimSuffix(key, "']")]
			return v, has
		}
	}
	return "", false
}

// expand replaces $(NAME) with NAME's value where NAME is defined, and $$
// with $, like the kubelet does in env values, command and args.
func expand(s string, env []envVar) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
				name := s[i+2 : i+2+end]
				if v, ok := lookup(env, name); ok {
					b.WriteString(v)
					i += 2 + end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func lookup(env []envVar, name string) (string, bool) {
	for _, v := range env {
		if v.name == name {
			return v.value, true
		}
	}
	return "", false
}

// containerArgs is the container's command and args with $(VAR) expanded.
func containerArgs(c corev1.Container, env []envVar) (command, args []string) {
	for _, s := range c.Command {
		command = append(command, expand(s, env))
	}
	for _, s := range c.Args {
		args = append(args, expand(s, env))
	}
	return command, args
}

// flagValues returns the values of --name=value / --name value in args.
func flagValues(args []string, name string) []string {
	var out []string
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		} else if a == "--"+name && i+1 < len(args) {
			out = append(out, args[i+1])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func describeEnv(env []envVar) []string {
	out := make([]string, len(env))
	for i, v := range env {
		out[i] = fmt.Sprintf("%s=%s", v.name, v.value)
	}
	return out
}
