package main

import (
	"context"
	"log"
	"os"
	"sync"
	"time"

	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	apiextlisters "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	admissionlisters "k8s.io/client-go/listers/admissionregistration/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// emulator holds the clients, the informer caches and the in-memory state
// (pod runtimes, serving certificates) of one cluster. Every change of an
// object it watches triggers one level-triggered pass over everything
// (syncAll): simple, and cheap at the size of a test cluster.
type emulator struct {
	opts   options
	cfg    *rest.Config
	kube   kubernetes.Interface
	apiext apiextclient.Interface
	dyn    dynamic.Interface

	pods         corelisters.PodLister
	secrets      corelisters.SecretLister
	configMaps   corelisters.ConfigMapLister
	pvcs         corelisters.PersistentVolumeClaimLister
	pvs          corelisters.PersistentVolumeLister
	services     corelisters.ServiceLister
	accounts     corelisters.ServiceAccountLister
	namespaces   corelisters.NamespaceLister
	deployments  appslisters.DeploymentLister
	classes      storagelisters.StorageClassLister
	validating   admissionlisters.ValidatingWebhookConfigurationLister
	mutating     admissionlisters.MutatingWebhookConfigurationLister
	crds         apiextlisters.CustomResourceDefinitionLister
	certManager  *certManagerCache
	clusterCAPEM []byte

	kick        chan struct{}
	reviewConns *connListener // TLS connections the egress proxy hands to the review server
	ips         *ipPool
	runs        *runs

	mu       sync.Mutex
	runtimes map[string]*podRuntime // by pod UID
	backends map[string]backend     // by "podIP:port", what the egress proxy serves
	selfCAs  map[string]*servingCA  // by service "ns/name", for self-managed webhooks
	dynCAs   map[string]*servingCA  // cert-manager webhook dynamic serving CAs, by secret "ns/name"
}

func newEmulator(cfg *rest.Config, o options) (*emulator, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	apiext, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	return &emulator{
		opts: o, cfg: cfg, kube: kube, apiext: apiext, dyn: dyn,
		clusterCAPEM: ca,
		kick:         make(chan struct{}, 1),
		ips:          newIPPool(),
		runs:         newRuns(),
		runtimes:     map[string]*podRuntime{},
		backends:     map[string]backend{},
		selfCAs:      map[string]*servingCA{},
		dynCAs:       map[string]*servingCA{},
	}, nil
}

// trigger asks for a sync pass soon (non-blocking; passes coalesce).
func (e *emulator) trigger() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *emulator) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { e.trigger() },
		UpdateFunc: func(any, any) { e.trigger() },
		DeleteFunc: func(any) { e.trigger() },
	}
}

func (e *emulator) startInformers(ctx context.Context) {
	f := informers.NewSharedInformerFactory(e.kube, 0)
	watch := func(i cache.SharedIndexInformer) { _, _ = i.AddEventHandler(e.handler()) }
	core := f.Core().V1()
	watch(core.Pods().Informer())
	watch(core.Secrets().Informer())
	watch(core.ConfigMaps().Informer())
	watch(core.PersistentVolumeClaims().Informer())
	watch(core.PersistentVolumes().Informer())
	watch(core.Services().Informer())
	watch(core.ServiceAccounts().Informer())
	watch(core.Namespaces().Informer())
	watch(f.Apps().V1().Deployments().Informer())
	watch(f.Storage().V1().StorageClasses().Informer())
	watch(f.Admissionregistration().V1().ValidatingWebhookConfigurations().Informer())
	watch(f.Admissionregistration().V1().MutatingWebhookConfigurations().Informer())
	e.pods = core.Pods().Lister()
	e.secrets = core.Secrets().Lister()
	e.configMaps = core.ConfigMaps().Lister()
	e.pvcs = core.PersistentVolumeClaims().Lister()
	e.pvs = core.PersistentVolumes().Lister()
	e.services = core.Services().Lister()
	e.accounts = core.ServiceAccounts().Lister()
	e.namespaces = core.Namespaces().Lister()
	e.deployments = f.Apps().V1().Deployments().Lister()
	e.classes = f.Storage().V1().StorageClasses().Lister()
	e.validating = f.Admissionregistration().V1().ValidatingWebhookConfigurations().Lister()
	e.mutating = f.Admissionregistration().V1().MutatingWebhookConfigurations().Lister()

	xf := apiextinformers.NewSharedInformerFactory(e.apiext, 0)
	watch(xf.Apiextensions().V1().CustomResourceDefinitions().Informer())
	e.crds = xf.Apiextensions().V1().CustomResourceDefinitions().Lister()
	e.certManager = newCertManagerCache(e.dyn, e.handler())

	f.Start(ctx.Done())
	xf.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	xf.WaitForCacheSync(ctx.Done())
}

// loop runs syncAll on every change and when a timer a pass asked for (a
// pod's ready delay, a retry) expires.
func (e *emulator) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
		case <-timer.C:
		}
		// Let a burst of events (helm install creates many objects) land first.
		time.Sleep(20 * time.Millisecond)
		next := e.syncAll(ctx)
		timer.Reset(time.Until(next))
	}
}

// syncAll brings the cluster one step towards what its node side would do.
// It returns when the next pass is due at the latest.
func (e *emulator) syncAll(ctx context.Context) time.Time {
	now := time.Now()
	next := now.Add(5 * time.Second)
	soon := func(t time.Time) {
		if t.Before(next) {
			next = t
		}
	}
	retry := func(what string, err error) {
		if err != nil {
			log.Printf("%s: %v (retrying)", what, err)
			soon(now.Add(500 * time.Millisecond))
		}
	}
	e.certManager.ensureInformers(ctx, e.crds)
	retry("volumes", e.syncProvisioner(ctx))
	retry("cert-manager", e.syncCertManager(ctx))
	retry("cainjector", e.syncCAInjector(ctx))
	retry("istiod", e.syncIstiod(ctx))
	due, err := e.syncPods(ctx, now)
	retry("pods", err)
	soon(due)
	retry("webhook serving", e.syncServing(ctx))
	return next
}
