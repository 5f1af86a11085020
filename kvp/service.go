package kvp

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// IPConfig answers GET_IP_INFO and SET_IP_INFO. Without one both operations
// fail with HV_E_FAIL, which the host shows as "no information".
type IPConfig interface {
	GetIPInfo(req IPInfo) (IPInfo, Status)
	SetIPInfo(req IPInfo) Status
}

// Service implements the operation semantics hvagent(8) describes (KVP
// POOLS, REPLY STATUS) on top of a pool Store. It is transport-agnostic: bytes in, bytes out.
type Service struct {
	store   *Store
	facts   atomic.Pointer[Facts]
	addrs   AddrSource
	ip      IPConfig
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	max     int      // records per pool
	proto   Protocol // the kernel's message size and reply layout

	mu       sync.Mutex
	reported map[string]bool // malformed-message classes already logged
	full     [NumPools]bool  // pool-full warning given, not yet cleared

	series requestSeries // the metrics' children, looked up once
}

// ServiceConfig holds a Service's dependencies. Store and Facts are
// required; the rest have working defaults.
type ServiceConfig struct {
	Store   *Store
	Facts   Facts
	Addrs   AddrSource // nil: InterfaceAddrs
	IP      IPConfig   // nil: IP operations answer HV_E_FAIL
	Log     *slog.Logger
	Metrics *Metrics // nil: no metrics
	// MaxRecords caps the records of each pool (--kvp.max-records): a
	// SET of a new key into a full pool gets HV_E_FAIL. 0 means
	// DefaultMaxRecords.
	MaxRecords int
	// Protocol is the kernel's (--kvp.protocol): its message size, where
	// a GET reply's value goes, and, on Linux, records whose strings the
	// kernel cannot pass on are never returned (see servable).
	Protocol Protocol
}

// NewService returns a Service serving cfg.Store. The store's own warnings
// (a pool journal refused and set aside) go to cfg.Log too.
func NewService(cfg ServiceConfig) *Service {
	s := &Service{
		store:    cfg.Store,
		addrs:    cfg.Addrs,
		ip:       cfg.IP,
		log:      cfg.Log,
		metrics:  cfg.Metrics,
		now:      time.Now,
		max:      cfg.MaxRecords,
		proto:    cfg.Protocol,
		reported: map[string]bool{},
	}
	if s.max <= 0 {
		s.max = DefaultMaxRecords
	}
	if s.addrs == nil {
		s.addrs = InterfaceAddrs
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	f := cfg.Facts
	s.facts.Store(&f)
	if cfg.Store != nil && cfg.Log != nil {
		cfg.Store.SetLogger(cfg.Log)
	}
	return s
}

// SetFacts replaces the auto-pool facts (after SIGHUP). Safe to call while
// requests are served.
func (s *Service) SetFacts(f Facts) { s.facts.Store(&f) }

// Facts returns the facts currently served.
func (s *Service) Facts() Facts { return *s.facts.Load() }

// Handle answers one request in a new buffer; see HandleInto.
func (s *Service) Handle(b []byte) []byte {
	return s.HandleInto(make([]byte, s.proto.MsgSize()), b)
}

// HandleInto answers the request b, writing the reply over dst, which
// must hold the protocol's message size (MsgSize, or LinuxMsgSize), and
// returns dst cut to it. A message of the
// wrong size is answered HV_E_FAIL too: the kernel counts it delivered
// and waits for a reply.
//
// GET and ENUMERATE of pools 0, 1, 3 and 4 allocate nothing: the request
// is decoded in place, the pool answers from memory while its file is
// unchanged (Pool.current), and the reply is encoded into dst.
func (s *Service) HandleInto(dst, b []byte) []byte {
	start := s.now()
	op, pool := opLabels, NumPools // "unknown", "invalid"
	size := s.proto.MsgSize()
	if len(b) == size {
		op, pool = min(int(b[offOp]), opLabels), min(int(b[offPool]), NumPools)
	}
	reply := dst[:size]
	res := s.handle(reply, b)
	if s.metrics != nil {
		s.series.counter(s.metrics, op, pool, res).Inc()
		s.series.duration(s.metrics, op).Observe(s.now().Sub(start).Seconds())
	}
	return reply
}

// handle writes the reply into dst and returns the result for metrics.
func (s *Service) handle(dst, b []byte) result {
	if len(b) != s.proto.MsgSize() {
		s.malformed("size", "message of wrong size; answered HV_E_FAIL", "bytes", len(b))
		failReply(dst, b)
		return resultMalformed
	}
	op, pool := Op(b[offOp]), int(b[offPool])
	if !op.Known() {
		s.malformed("op", "unknown operation", "op", int(op))
		return s.reply(dst, op, StatusNotSupported, nil)
	}
	if op != OpGetIPInfo && op != OpSetIPInfo && pool >= NumPools {
		s.malformed("pool", "unknown pool", "op", op.String(), "pool", pool)
		return s.reply(dst, op, StatusFail, nil)
	}
	if (op == OpGet || op == OpEnumerate) && pool != PoolAuto {
		if res, ok := s.read(dst, b, op, pool); ok {
			return res
		}
	}
	req, err := s.proto.DecodeRequest(b)
	if err != nil {
		// Counted once, as result "malformed" by HandleInto: a
		// SET_IP_INFO refused here never reaches the IPConfig, so it is
		// not one of netinfo's rejections.
		s.malformed(op.String()+"/"+errClass(err), "malformed request", "op", op.String(), "err", err)
		s.reply(dst, op, StatusInvalidArg, nil)
		return resultMalformed
	}
	status, body := s.serve(req)
	return s.reply(dst, op, status, &body)
}

// read is the read path: GET or ENUMERATE of a pool file, decoded in
// place and answered from the pool's memory, allocating nothing. ok is
// false for a request it leaves to the general path, which decodes it
// again and reports what is wrong with it.
func (s *Service) read(dst, b []byte, op Op, pool int) (res result, ok bool) {
	p := s.store.Pool(pool)
	var rec Record
	var found bool
	var err error
	var body Msg
	switch op {
	case OpGet:
		key, _, derr := kvBytes(b[offVType:])
		if derr != nil || len(key) == 0 {
			return 0, false
		}
		rec, found, err = p.Lookup(key)
	case OpEnumerate:
		body.Index = binary.LittleEndian.Uint32(b[offIndex:])
		rec, found, err = s.at(p, body.Index)
	}
	switch {
	case err != nil:
		s.log.Error(op.String(), "pool", PoolName(pool), "err", err)
		return s.reply(dst, op, StatusFail, nil), true
	case !found:
		return s.reply(dst, op, StatusCont, nil), true
	case !s.servable(rec):
		s.unservable(pool)
		return s.reply(dst, op, StatusFail, nil), true
	}
	body.KV = KeyValue{ValueType: RegSZ, Key: rec.Key, Value: rec.Value}
	return s.reply(dst, op, StatusOK, &body), true
}

// reply encodes the answer to an op request into dst; body may be nil
// for a reply without one.
func (s *Service) reply(dst []byte, op Op, st Status, body *Msg) result {
	if body == nil {
		body = &Msg{}
	}
	if err := encodeReply(dst, s.proto, op, st, body); err != nil {
		// Pool values always fit their fields; this is a bug, and the
		// host still deserves an answer.
		s.log.Error("encode reply", "op", op.String(), "err", err)
		st = StatusFail
		encodeReply(dst, s.proto, op, st, &Msg{})
	}
	return resultOf(st)
}

// serve applies a decoded request.
func (s *Service) serve(req Msg) (Status, Msg) {
	pool := int(req.Pool)
	switch req.Op {
	case OpGet:
		return s.get(pool, req.KV.Key)
	case OpSet:
		return s.set(pool, req.KV)
	case OpDelete:
		return s.delete(pool, req.KV.Key)
	case OpEnumerate:
		return s.enumerate(pool, req.Index)
	case OpGetIPInfo:
		if s.ip == nil {
			return StatusFail, Msg{}
		}
		info, st := s.ip.GetIPInfo(req.IP)
		return st, Msg{IP: info}
	case OpSetIPInfo:
		if s.ip == nil {
			return StatusFail, Msg{}
		}
		return s.ip.SetIPInfo(req.IP), Msg{IP: req.IP}
	}
	return StatusNotSupported, Msg{}
}

func (s *Service) get(pool int, key string) (Status, Msg) {
	if pool == PoolAuto {
		v, ok := s.facts.Load().autoValue(key, s.addrs)
		if !ok {
			return StatusCont, Msg{}
		}
		return StatusOK, s.kv(key, v)
	}
	v, ok, err := s.store.Pool(pool).Get(key)
	if errors.Is(err, ErrEmptyKey) {
		return StatusInvalidArg, Msg{}
	}
	if err != nil {
		s.log.Error("get", "pool", PoolName(pool), "err", err)
		return StatusFail, Msg{}
	}
	if !ok {
		return StatusCont, Msg{}
	}
	if !s.servable(Record{Key: key, Value: v}) {
		s.unservable(pool)
		return StatusFail, Msg{}
	}
	return StatusOK, s.kv(key, v)
}

func (s *Service) set(pool int, kv KeyValue) (Status, Msg) {
	if pool == PoolAuto {
		s.log.Warn("refusing host write to the auto pool", "op", "set")
		return StatusFail, Msg{}
	}
	err := s.store.Pool(pool).SetMax(kv.Key, kv.Value, s.max)
	switch {
	case errors.Is(err, ErrEmptyKey), errors.Is(err, ErrTooLong):
		return StatusInvalidArg, Msg{}
	case errors.Is(err, ErrPoolFull):
		s.poolFull(pool, err)
		return StatusFail, Msg{}
	case err != nil:
		s.log.Error("set", "pool", PoolName(pool), "err", err)
		return StatusFail, Msg{}
	}
	s.clearFull(pool)
	return StatusOK, s.kv(kv.Key, kv.Value)
}

// poolFull counts a SET refused by the cap, and logs it at warning level
// once until the pool drops below the cap again; repeats go to debug.
func (s *Service) poolFull(pool int, err error) {
	if s.metrics != nil {
		s.metrics.PoolFull.WithLabelValues(PoolName(pool)).Inc()
	}
	s.mu.Lock()
	seen := s.full[pool]
	s.full[pool] = true
	s.mu.Unlock()
	level := slog.LevelWarn
	if seen {
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, "pool full: refusing a new key (HV_E_FAIL); existing records kept, see --kvp.max-records",
		"pool", PoolName(pool), "max_records", s.max, "err", err)
}

// clearFull re-arms the pool-full warning once a pool it was given for
// is below the cap again (after a DELETE, or records removed by another
// writer). It costs a look at the pool only while the warning stands.
func (s *Service) clearFull(pool int) {
	s.mu.Lock()
	full := s.full[pool]
	s.mu.Unlock()
	if !full {
		return
	}
	if n, err := s.store.Pool(pool).Len(); err == nil && n < s.max {
		s.mu.Lock()
		s.full[pool] = false
		s.mu.Unlock()
	}
}

func (s *Service) delete(pool int, key string) (Status, Msg) {
	if pool == PoolAuto {
		s.log.Warn("refusing host write to the auto pool", "op", "delete")
		return StatusFail, Msg{}
	}
	found, err := s.store.Pool(pool).Delete(key)
	switch {
	case errors.Is(err, ErrEmptyKey):
		return StatusInvalidArg, Msg{}
	case err != nil:
		s.log.Error("delete", "pool", PoolName(pool), "err", err)
		return StatusFail, Msg{}
	case !found:
		return StatusCont, Msg{}
	}
	s.clearFull(pool)
	return StatusOK, Msg{KV: KeyValue{Key: key}}
}

func (s *Service) enumerate(pool int, index uint32) (Status, Msg) {
	if pool == PoolAuto {
		if index >= uint32(len(autoKeys)) {
			return StatusCont, Msg{}
		}
		key := autoKeys[index]
		v, _ := s.facts.Load().autoValue(key, s.addrs)
		m := s.kv(key, v)
		m.Index = index
		return StatusOK, m
	}
	rec, ok, err := s.at(s.store.Pool(pool), index)
	switch {
	case err != nil:
		s.log.Error("enumerate", "pool", PoolName(pool), "err", err)
		return StatusFail, Msg{}
	case !ok:
		return StatusCont, Msg{}
	}
	m := s.kv(rec.Key, rec.Value)
	m.Index = index
	return StatusOK, m
}

func (s *Service) kv(key, value string) Msg {
	return Msg{KV: KeyValue{ValueType: RegSZ, Key: key, Value: value}}
}

// malformed logs a class of bad input once at warning level; repeats go
// to debug so a hostile or broken peer cannot flood the log.
func (s *Service) malformed(class, msg string, args ...any) {
	s.mu.Lock()
	seen := s.reported[class]
	s.reported[class] = true
	s.mu.Unlock()
	level := slog.LevelWarn
	if seen {
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, msg, args...)
}

// errClass names a decode error for once-per-class logging.
func errClass(err error) string {
	switch {
	case errors.Is(err, errNoNUL):
		return "no-nul"
	case errors.Is(err, errSizeField):
		return "size-field"
	case errors.Is(err, errInvalidUTF8):
		return "utf8"
	}
	return "other"
}

// failReply writes into dst, cut to the protocol's message size, the
// HV_E_FAIL answer to a message of another size: what came of it, in a
// whole message, with the status in front.
func failReply(dst, b []byte) {
	clear(dst[copy(dst, b):])
	binary.LittleEndian.PutUint32(dst[offOp:], uint32(StatusFail)) // the error field overlays operation
}
