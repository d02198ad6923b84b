package main

import (
	"fmt"
	"net/netip"
	"sync"
)

// podNetwork is the benchmarking range of RFC 2544 (198.18.0.0/15): neither
// private nor public, and never dialled. Loopback would be the natural
// choice, but the API server rejects loopback addresses in EndpointSlices
// ("may not be in the loopback range"), so a webhook's Service would never get
// endpoints. No packet is ever sent to these addresses: kube-apiserver's
// egress selector sends every connection to the cluster (webhooks,
// conversion, aggregated APIs, kubelets) to this emulator's unix socket,
// which serves it in process (egress.go).
var podNetwork = netip.MustParsePrefix("198.18.0.0/15")

// maxNodes: Node InternalIPs are 198.18.0.1 ... 198.18.0.250.
const maxNodes = 250

// nodeIP is the InternalIP of emulated Node i.
func nodeIP(i int) string {
	return netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}).String()
}

// ipPool hands out pod IPs from 198.18.1.0 upwards, never two live pods the
// same address.
type ipPool struct {
	mu    sync.Mutex
	used  map[netip.Addr]string // address -> pod UID
	byUID map[string]netip.Addr
	next  netip.Addr
}

var firstPodIP = netip.MustParseAddr("198.18.1.0")

func newIPPool() *ipPool {
	return &ipPool{used: map[netip.Addr]string{}, byUID: map[string]netip.Addr{}, next: firstPodIP}
}

// claim records an address already in a pod's status (after an emulator
// restart). A conflicting claim is ignored: the pod keeps what it has.
func (p *ipPool) claim(uid, ip string) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !podNetwork.Contains(a) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.used[a]; !taken {
		p.used[a] = uid
		p.byUID[uid] = a
	}
}

// allocate returns the pod's address, assigning the next free one.
func (p *ipPool) allocate(uid string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byUID[uid]; ok {
		return a.String(), nil
	}
	for range 1 << 17 {
		a := p.next
		p.next = a.Next()
		if !podNetwork.Contains(p.next) {
			p.next = firstPodIP
		}
		if _, taken := p.used[a]; !taken {
			p.used[a] = uid
			p.byUID[uid] = a
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("no free pod IP left in %s", podNetwork)
}

// release frees the address of a pod that is gone.
func (p *ipPool) release(uid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byUID[uid]; ok {
		delete(p.used, a)
		delete(p.byUID, uid)
	}
}
