package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// kubectlImage is the one image whose containers really run: its entrypoint
// is kubectl, which is on this machine. Containers of any other image are not
// run (their pods turn Ready, or complete with exit code 0).
const kubectlImage = "registry.k8s.io/kubectl"

// isKubectlImage: registry.k8s.io/kubectl with any tag or digest.
func isKubectlImage(image string) bool {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == kubectlImage
}

func hasKubectlContainer(pod *corev1.Pod) bool {
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if isKubectlImage(c.Image) {
			return true
		}
	}
	return false
}

// imagePrograms are the programs of the registry.k8s.io/kubectl image (since
// Kubernetes 1.28 it is built on debian-base and adds bash and jq, for
// scripts); a container's command runs the host's program of that name.
var imagePrograms = map[string]bool{"kubectl": true, "bash": true, "sh": true, "jq": true}

// kubectlArgv is what runs for a kubectl container: the image's entrypoint
// (kubectl) with the args, or the command if it names one of the image's
// programs. Any other command does not exist in that image, as on a real node.
func kubectlArgv(command, args []string) ([]string, error) {
	if len(command) == 0 {
		return append([]string{"kubectl"}, args...), nil
	}
	program := path.Base(command[0])
	if !imagePrograms[program] {
		return nil, fmt.Errorf("exec: %q: executable file not found in $PATH", command[0])
	}
	return append(append([]string{program}, command[1:]...), args...), nil
}

type containerRun struct {
	state    corev1.ContainerState
	restarts int32
}

// runResult is the progress of a pod's containers, run one after another
// (init containers first).
type runResult struct {
	done       bool
	containers map[string]containerRun
}

// runningStatus is the pod's status while its containers run: Ready unless a
// container waits to be restarted.
func (r *runResult) runningStatus(pod *corev1.Pod, rt *podRuntime, hostIP string, now time.Time) corev1.PodStatus {
	s := runningStatus(pod, rt, hostIP, now)
	ready := true
	overlay := func(list []corev1.ContainerStatus) {
		for i := range list {
			if run, ok := r.containers[list[i].Name]; ok {
				list[i].State, list[i].RestartCount = run.state, run.restarts
				list[i].Ready = run.state.Running != nil
				list[i].Started = ptr.To(run.state.Running != nil)
				ready = ready && (run.state.Waiting == nil)
			}
		}
	}
	overlay(s.InitContainerStatuses)
	overlay(s.ContainerStatuses)
	if !ready {
		s.Conditions = kubeletConditions(pod.Status, true, true, false, "ContainersNotReady", now)
	}
	return s
}

type podRun struct {
	cancel context.CancelFunc
	result runResult
}

// runs are the pods whose containers this emulator executes, by pod UID.
type runs struct {
	mu    sync.Mutex
	byUID map[string]*podRun
}

func newRuns() *runs { return &runs{byUID: map[string]*podRun{}} }

func (r *runs) start(e *emulator, pod *corev1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	uid := string(pod.UID)
	if _, ok := r.byUID[uid]; ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &podRun{cancel: cancel, result: runResult{containers: map[string]containerRun{}}}
	r.byUID[uid] = run
	go e.execute(ctx, pod.DeepCopy(), run)
}

func (r *runs) result(uid string) *runResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.byUID[uid]
	if !ok {
		return nil
	}
	copied := runResult{done: run.result.done, containers: map[string]containerRun{}}
	for k, v := range run.result.containers {
		copied.containers[k] = v
	}
	return &copied
}

func (r *runs) set(run *podRun, name string, c containerRun, done bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run.result.containers[name] = c
	run.result.done = run.result.done || done
}

func (r *runs) finish(run *podRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run.result.done = true
}

func (r *runs) stop(uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run, ok := r.byUID[uid]; ok {
		run.cancel()
		delete(r.byUID, uid)
	}
}

func (r *runs) stopAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid, run := range r.byUID {
		run.cancel()
		delete(r.byUID, uid)
	}
}

// restartBackoff is the kubelet's crash-loop back-off: 10 s, doubling, at
// most 5 minutes.
func restartBackoff(restarts int32) time.Duration {
	d := 10 * time.Second
	for i := int32(1); i < restarts && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// execute runs the pod's containers in order and records each outcome; with
// restartPolicy OnFailure a failed container is restarted after a back-off,
// with Never the pod fails.
func (e *emulator) execute(ctx context.Context, pod *corev1.Pod, run *podRun) {
	dir := filepath.Join(e.opts.stateDir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	defer e.trigger()
	kubeconfig, err := e.podKubeconfig(ctx, pod, dir)
	if err != nil {
		log.Printf("pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	containers := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		var restarts int32
		for {
			started := time.Now()
			e.runs.set(run, c.Name, containerRun{state: running(started), restarts: restarts}, false)
			e.trigger()
			code, reason, message := 0, "Completed", ""
			if isKubectlImage(c.Image) {
				if kubeconfig == "" {
					code, reason, message = 128, "StartError", fmt.Sprintf("no kubeconfig for the pod: %v", err)
				} else {
					code, reason, message = e.execKubectl(ctx, pod, c, dir, kubeconfig)
				}
			}
			if ctx.Err() != nil {
				return
			}
			ended := completed(int32(code), reason, started, time.Now())
			ended.Terminated.Message = message
			if code == 0 {
				e.runs.set(run, c.Name, containerRun{state: ended, restarts: restarts}, false)
				break
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
				e.runs.set(run, c.Name, containerRun{state: ended, restarts: restarts}, true)
				return
			}
			restarts++
			e.runs.set(run, c.Name, containerRun{state: waiting("CrashLoopBackOff", "back-off restarting failed container "+c.Name), restarts: restarts}, false)
			e.trigger()
			select {
			case <-ctx.Done():
				return
			case <-time.After(restartBackoff(restarts)):
			}
		}
	}
	e.runs.finish(run)
}

// execKubectl runs one container with the host's kubectl: its args (or
// command minus "kubectl"), its environment, and the in-cluster credentials
// the pod would have. Output goes to the state dir's logs.
func (e *emulator) execKubectl(ctx context.Context, pod *corev1.Pod, c corev1.Container, dir, kubeconfig string) (int, string, string) {
	env := containerEnv(pod, c, listerObjects{e})
	command, args := containerArgs(c, env)
	argv, err := kubectlArgv(command, args)
	if err != nil {
		return 128, "StartError", err.Error()
	}
	logPath := filepath.Join(e.opts.stateDir, "logs", fmt.Sprintf("%s_%s_%s.log", pod.Namespace, pod.Name, c.Name))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return 128, "StartError", err.Error()
	}
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 128, "StartError", err.Error()
	}
	defer out.Close()
	program := argv[0]
	if program == "kubectl" {
		program = e.opts.kubectl
	}
	cmd := exec.CommandContext(ctx, program, argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "KUBECONFIG=" + kubeconfig}, describeEnv(env)...)
	// Its own process group, killed whole when the pod goes: a script's
	// kubectl children must not outlive the container.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	log.Printf("pod %s/%s container %s: kubectl %s", pod.Namespace, pod.Name, c.Name, strings.Join(argv, " "))
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, "Completed", ""
	case errors.As(err, &exit):
		return exit.ExitCode(), "Error", ""
	default:
		return 128, "StartError", err.Error()
	}
}

// podKubeconfig writes the credentials a pod's in-cluster config would give
// kubectl: a token for its ServiceAccount bound to the pod (none when token
// automounting is off), the cluster CA, and the pod's namespace.
func (e *emulator) podKubeconfig(ctx context.Context, pod *corev1.Pod, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	account := pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	automount := true
	if sa, err := e.accounts.ServiceAccounts(pod.Namespace).Get(account); err == nil && sa.AutomountServiceAccountToken != nil {
		automount = *sa.AutomountServiceAccountToken
	}
	if pod.Spec.AutomountServiceAccountToken != nil {
		automount = *pod.Spec.AutomountServiceAccountToken
	}
	user := &clientcmdapi.AuthInfo{}
	if automount {
		req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To[int64](3607),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		}}
		tr, err := e.kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, account, req, metav1.CreateOptions{})
		if err != nil {
			return "", fmt.Errorf("token for service account %s/%s: %w", pod.Namespace, account, err)
		}
		user.Token = tr.Status.Token
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["in-cluster"] = &clientcmdapi.Cluster{Server: e.cfg.Host, CertificateAuthorityData: e.clusterCAPEM}
	cfg.AuthInfos["pod"] = user
	cfg.Contexts["in-cluster"] = &clientcmdapi.Context{Cluster: "in-cluster", AuthInfo: "pod", Namespace: pod.Namespace}
	cfg.CurrentContext = "in-cluster"
	file := filepath.Join(dir, "kubeconfig")
	return file, clientcmd.WriteToFile(*cfg, file)
}
