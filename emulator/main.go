// kube-emulator is the node side of the local cluster (scripts/cluster): what
// the kubelets, a storage provisioner, cert-manager and its cainjector, and the
// webhook servers of a real cluster do where the API server and Helm notice.
// kwok keeps the Nodes' heartbeats; everything else is here. docs/emulation.md
// lists what is modelled and what is not.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/clientcmd"
)

type options struct {
	kubeconfig    string
	nodes         int
	nodeCPU       resource.Quantity
	nodeMemory    resource.Quantity
	nodePods      int
	podReadyDelay time.Duration
	egressSocket  string
	stateDir      string
	kubectl       string
	storageClass  string
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("kube-emulator", flag.ContinueOnError)
	var o options
	var cpu, memory string
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "admin kubeconfig of the cluster (required)")
	fs.IntVar(&o.nodes, "nodes", 1, "number of emulated Nodes")
	fs.StringVar(&cpu, "node-cpu", "16", "CPU capacity of each Node")
	fs.StringVar(&memory, "node-memory", "64Gi", "memory capacity of each Node")
	fs.IntVar(&o.nodePods, "node-pods", 110, "pod capacity of each Node")
	fs.DurationVar(&o.podReadyDelay, "pod-ready-delay", time.Second,
		"time from a pod's volumes and environment being available to its containers running")
	fs.StringVar(&o.egressSocket, "egress-socket", "",
		"unix socket kube-apiserver's egress selector (cluster) dials: webhooks, conversion, kubelets (required)")
	fs.StringVar(&o.stateDir, "state-dir", "", "directory for kubectl containers' kubeconfigs and logs (required)")
	fs.StringVar(&o.kubectl, "kubectl", "kubectl", "kubectl binary that runs registry.k8s.io/kubectl containers")
	fs.StringVar(&o.storageClass, "storage-class", "standard", "name of the default StorageClass this emulator provisions")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for name, v := range map[string]string{"--kubeconfig": o.kubeconfig, "--egress-socket": o.egressSocket, "--state-dir": o.stateDir} {
		if v == "" {
			return o, fmt.Errorf("%s is required", name)
		}
	}
	var err error
	if o.nodeCPU, err = resource.ParseQuantity(cpu); err != nil {
		return o, fmt.Errorf("--node-cpu %q: %w", cpu, err)
	}
	if o.nodeMemory, err = resource.ParseQuantity(memory); err != nil {
		return o, fmt.Errorf("--node-memory %q: %w", memory, err)
	}
	if o.nodes < 1 || o.nodes > maxNodes {
		return o, fmt.Errorf("--nodes %d: must be between 1 and %d", o.nodes, maxNodes)
	}
	if o.podReadyDelay < 0 {
		return o, fmt.Errorf("--pod-ready-delay %s: must not be negative", o.podReadyDelay)
	}
	return o, nil
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Fatalf("kube-emulator: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatalf("kube-emulator: %v", err)
	}
}

func run(ctx context.Context, o options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", o.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	cfg.UserAgent = "kube-emulator"
	e, err := newEmulator(cfg, o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.stateDir, 0o755); err != nil {
		return err
	}
	// Serve the egress socket first: from now on the API server's calls to
	// pods reach this process (and fail cleanly until a pod is Ready).
	if err := e.serveEgress(ctx, o.egressSocket); err != nil {
		return err
	}
	if err := e.waitForAPIServer(ctx, 2*time.Minute); err != nil {
		return err
	}
	if err := e.ensureNodes(ctx); err != nil {
		return err
	}
	if err := e.ensureStorageClass(ctx); err != nil {
		return err
	}
	e.startInformers(ctx)
	log.Printf("ready: %d node(s), %s CPU / %s memory each; pod IPs from %s", o.nodes, o.nodeCPU.String(), o.nodeMemory.String(), podNetwork)
	e.loop(ctx)
	e.runs.stopAll()
	return nil
}
