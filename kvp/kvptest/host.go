package kvptest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/kvp"
)

// EnumerateLimit caps how many indexes Enumerate asks for, as the host
// reads about 1024 records per pool at most (hvagent(8), KVP POOLS,
// Limits).
const EnumerateLimit = 1024

// Host is a simulated Hyper-V host speaking through a Kernel (the socket
// transport) or a Device (the character device model). Its methods are
// safe for concurrent use; the kernel side serializes the requests.
type Host struct {
	k Backend
}

// Backend is the kernel side a Host drives: *Kernel or *Device.
type Backend interface {
	// Do sends one request and returns the daemon's reply.
	Do(ctx context.Context, req kvp.Msg) (kvp.Msg, error)
	// WaitRegistered returns once a daemon is registered.
	WaitRegistered(ctx context.Context) error
	// session returns a channel closed when the current registration
	// ends, and whether a daemon is registered.
	session() (gone <-chan struct{}, ok bool)
	// closing is closed when the backend is closed.
	closing() <-chan struct{}
}

// NewHost returns a Host that sends its requests through k.
func NewHost(k Backend) *Host { return &Host{k: k} }

// Set stores key=value (REG_SZ) in pool and returns the daemon's status.
func (h *Host) Set(ctx context.Context, pool uint8, key, value string) (kvp.Status, error) {
	r, err := h.k.Do(ctx, kvp.Msg{Op: kvp.OpSet, Pool: pool,
		KV: kvp.KeyValue{ValueType: kvp.RegSZ, Key: key, Value: value}})
	return r.Status, err
}

// Get asks for the value of key in pool. A missing key is HV_S_CONT.
func (h *Host) Get(ctx context.Context, pool uint8, key string) (string, kvp.Status, error) {
	r, err := h.k.Do(ctx, kvp.Msg{Op: kvp.OpGet, Pool: pool, KV: kvp.KeyValue{Key: key}})
	return r.KV.Value, r.Status, err
}

// Delete removes key from pool.
func (h *Host) Delete(ctx context.Context, pool uint8, key string) (kvp.Status, error) {
	r, err := h.k.Do(ctx, kvp.Msg{Op: kvp.OpDelete, Pool: pool, KV: kvp.KeyValue{Key: key}})
	return r.Status, err
}

// Enumerate asks for index 0, 1, ... of pool until the daemon answers
// anything but HV_S_OK, and returns the items and that final status
// (HV_S_CONT normally). It stops with HV_S_OK after EnumerateLimit items,
// and at the first transport error, returning the items read so far.
func (h *Host) Enumerate(ctx context.Context, pool uint8) ([]kvp.KeyValue, kvp.Status, error) {
	var items []kvp.KeyValue
	for i := range uint32(EnumerateLimit) {
		r, err := h.k.Do(ctx, kvp.Msg{Op: kvp.OpEnumerate, Pool: pool, Index: i})
		if err != nil {
			return items, r.Status, fmt.Errorf("enumerate pool %d index %d: %w", pool, i, err)
		}
		if r.Status != kvp.StatusOK {
			return items, r.Status, nil
		}
		items = append(items, r.KV)
	}
	return items, kvp.StatusOK, nil
}

// GetIPInfo asks for the addresses of the adapter with MAC address mac.
func (h *Host) GetIPInfo(ctx context.Context, mac string) (kvp.IPInfo, kvp.Status, error) {
	r, err := h.k.Do(ctx, kvp.Msg{Op: kvp.OpGetIPInfo, IP: kvp.IPInfo{AdapterID: mac}})
	return r.IP, r.Status, err
}

// PushOnConnect sends the host parameters (pool 3) and the admin items
// (pool 0) as SETs, as Hyper-V does when a daemon registers. Items the
// daemon refuses are reported in the error and the push goes on; a
// transport error stops it.
func (h *Host) PushOnConnect(ctx context.Context, params, admin []kvp.KeyValue) error {
	err := h.push(ctx, kvp.PoolAutoExternal, params)
	if err != nil && !isRefusal(err) {
		return err
	}
	return errors.Join(err, h.push(ctx, kvp.PoolExternal, admin))
}

// refusal is a non-OK status the daemon answered to a SET.
type refusal struct {
	pool   uint8
	key    string
	status kvp.Status
}

func (r *refusal) Error() string {
	return fmt.Sprintf("set pool %d key %q: daemon answered %s", r.pool, r.key, r.status)
}

func isRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

// push SETs items into pool. It returns the refusals joined, or the
// first transport error (joined with the refusals before it).
func (h *Host) push(ctx context.Context, pool uint8, items []kvp.KeyValue) error {
	var refused []error
	for _, kv := range items {
		st, err := h.Set(ctx, pool, kv.Key, kv.Value)
		if err != nil {
			return errors.Join(fmt.Errorf("set pool %d key %q: %w", pool, kv.Key, err), errors.Join(refused...))
		}
		if st != kvp.StatusOK {
			refused = append(refused, &refusal{pool, kv.Key, st})
		}
	}
	return errors.Join(refused...)
}

// DefaultParams returns realistic pool-3 items for a VM named vmName, as
// a Windows Server 2022 Hyper-V host sends them. VirtualMachineId is a GUID
// derived from vmName, so the same name always gets the same id.
func DefaultParams(vmName string) []kvp.KeyValue {
	sum := sha256.Sum256([]byte("hvagent kvptest " + vmName))
	sum[6] = sum[6]&0x0f | 0x50 // RFC 4122 layout: version 5 ...
	sum[8] = sum[8]&0x3f | 0x80 // ... variant 10
	id := fmt.Sprintf("%X-%X-%X-%X-%X", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	items := [][2]string{
		{"HostName", "HVHOST01.corp.example.com"},
		{"HostingSystemEditionId", "8"}, // Datacenter
		{"HostingSystemNestedLevel", "0"},
		{"HostingSystemOsMajor", "10"},
		{"HostingSystemOsMinor", "0"},
		{"HostingSystemProcessorArchitecture", "9"}, // PROCESSOR_ARCHITECTURE_AMD64
		{"PhysicalHostName", "HVHOST01"},
		{"PhysicalHostNameFullyQualified", "HVHOST01.corp.example.com"},
		{"VirtualMachineDynamicMemoryBalancingEnabled", "0"},
		{"VirtualMachineId", id},
		{"VirtualMachineName", vmName},
	}
	kvs := make([]kvp.KeyValue, len(items))
	for i, it := range items {
		kvs[i] = kvp.KeyValue{ValueType: kvp.RegSZ, Key: it[0], Value: it[1]}
	}
	return kvs
}
