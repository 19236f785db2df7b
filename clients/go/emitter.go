package trail

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"
)

// Emitter is the interface for emitting audit events. Unlike denkeeper's, Emit returns an error:
// an event that cannot be accepted is reported, never dropped.
type Emitter interface {
	Emit(ctx context.Context, event Event) error
}

// NopEmitter discards all events (denkeeper's, for tests and disabled auditing).
type NopEmitter struct{}

// Emit does nothing.
func (NopEmitter) Emit(context.Context, Event) error { return nil }

// Inserter is what the emitter writes to: a *Client, or any Store.
type Inserter interface {
	InsertBatch(ctx context.Context, events []Event) error
}

// Logger is satisfied by *slog.Logger (Go 1.21+) and by anything with these two methods.
type Logger interface {
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// ErrClosed is returned by Emit and TryEmit after Close (or after Start's context ended).
var ErrClosed = errors.New("trail: emitter closed; event not accepted")

// ErrBufferFull is returned by TryEmit when the buffer is full (Emit waits instead).
var ErrBufferFull = errors.New("trail: emitter buffer full; event not accepted")

// Batching as denkeeper's BufferedEmitter.
const (
	batchSize     = 20
	flushInterval = 500 * time.Millisecond
)

// Counters are the emitter's running totals. Pending = Emitted - Delivered - Rejected.
type Counters struct {
	Emitted   int64 // accepted by Emit/TryEmit
	Delivered int64 // acknowledged by the store
	Retried   int64 // failed flush attempts that were retried
	Rejected  int64 // refused by trail itself (see Rejected); never retried, never dropped silently
	Pending   int64
}

// Rejection is an event trail refused (HTTP 400 or 413 for that event alone, or an id that
// names another event), with the reason. Sending it again would fail the same way.
type Rejection struct {
	Event Event
	Err   error
}

// UndeliveredError is returned by Shutdown when its context ended before every event was
// delivered. The events keep their TrailID: sending them again later is safe (trail records an
// id once), including those whose last attempt was cut off after trail had stored them.
type UndeliveredError struct {
	Events []Event
	Cause  error
}

func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("trail: %d event(s) not delivered: %v", len(e.Events), e.Cause)
}

func (e *UndeliveredError) Unwrap() error { return e.Cause }

// RejectedError is returned by Close when trail refused events during the emitter's life.
type RejectedError struct{ Rejections []Rejection }

func (e *RejectedError) Error() string {
	return fmt.Sprintf("trail: %d event(s) refused by trail (first: %v)", len(e.Rejections), e.Rejections[0].Err)
}

// BufferedEmitter queues events and writes them in batches, as denkeeper's does (a batch at 20
// events or every 500 ms), without its silent losses: a full buffer makes Emit wait (TryEmit
// returns ErrBufferFull), a failed flush is retried with backoff until it is delivered, in
// order, Close delivers everything and may be called more than once, and Emit after Close
// returns ErrClosed. Events trail itself refuses are kept with the reason (Rejected), never
// retried forever and never dropped silently.
type BufferedEmitter struct {
	store  Inserter
	ch     chan Event
	logger Logger

	mu          sync.Mutex
	started     bool
	closed      bool
	inflight    int
	sendersDone chan struct{} // closed once closed && inflight == 0
	loopDone    chan struct{}
	flushReq    chan chan struct{}

	abortOnce   sync.Once
	abort       chan struct{} // Shutdown's deadline passed: stop retrying
	abortCtx    context.Context
	abortCancel context.CancelFunc

	minBackoff, maxBackoff time.Duration

	emitted, delivered, retried, rejected int64

	resMu       sync.Mutex
	rejections  []Rejection
	undelivered []Event
	lastErr     error
}

// NewBufferedEmitter creates an emitter holding up to bufSize events (<= 0: 1000) on their way
// to store. A nil logger logs with the standard log package.
func NewBufferedEmitter(store Inserter, bufSize int, logger Logger) *BufferedEmitter {
	if bufSize <= 0 {
		bufSize = 1000
	}
	if logger == nil {
		logger = stdLogger{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &BufferedEmitter{
		store: store, ch: make(chan Event, bufSize), logger: logger,
		sendersDone: make(chan struct{}), loopDone: make(chan struct{}),
		flushReq: make(chan chan struct{}), abort: make(chan struct{}),
		abortCtx: ctx, abortCancel: cancel,
		minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second,
	}
}

// SetBackoff sets the wait between retries of a failed flush: min, doubling up to max
// (defaults 100 ms and 10 s). A Retry-After from trail is honoured when longer. Call before Start.
func (e *BufferedEmitter) SetBackoff(min, max time.Duration) {
	e.minBackoff, e.maxBackoff = min, max
}

// prepare fills what denkeeper's Emit fills (time, status "ok") and fixes the event's id.
func prepare(ev Event) Event {
	if ev.Timestamp.IsZero() {
		ev.Timestamp = time.Now().UTC()
	}
	if ev.Status == "" {
		ev.Status = StatusOK
	}
	if ev.TrailID == "" {
		ev.TrailID = EventID(ev)
		if ev.TrailID == "" {
			ev.TrailID = NewID()
		}
	}
	return ev
}

// Emit queues an event, waiting while the buffer is full. It returns an error, and the event is
// not recorded, only when ctx ends while it waits or the emitter is closed.
func (e *BufferedEmitter) Emit(ctx context.Context, event Event) error {
	return e.emit(ctx, event, true)
}

// TryEmit queues an event or returns ErrBufferFull at once.
func (e *BufferedEmitter) TryEmit(event Event) error {
	return e.emit(context.Background(), event, false)
}

func (e *BufferedEmitter) emit(ctx context.Context, ev Event, wait bool) error {
	ev = prepare(ev)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.inflight++
	e.mu.Unlock()
	defer e.doneSending()
	atomic.AddInt64(&e.emitted, 1)
	select { // a free slot wins over a context that has ended (a finished request's)
	case e.ch <- ev:
		return nil
	default:
	}
	if !wait {
		atomic.AddInt64(&e.emitted, -1)
		return ErrBufferFull
	}
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case e.ch <- ev:
		return nil
	case <-ctx.Done():
		atomic.AddInt64(&e.emitted, -1)
		return fmt.Errorf("trail: event not accepted (buffer full): %w", ctx.Err())
	case <-e.abort:
		atomic.AddInt64(&e.emitted, -1)
		return ErrClosed
	}
}

func (e *BufferedEmitter) doneSending() {
	e.mu.Lock()
	e.inflight--
	if e.closed && e.inflight == 0 {
		close(e.sendersDone)
	}
	e.mu.Unlock()
}

// Start begins the background flush loop. When ctx ends the emitter stops accepting events and
// delivers what it holds; Close waits for that.
func (e *BufferedEmitter) Start(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startLocked(ctx)
}

func (e *BufferedEmitter) startLocked(ctx context.Context) {
	if e.started {
		return
	}
	e.started = true
	go e.loop(ctx)
}

// beginClose refuses new events and starts the loop if it never was.
func (e *BufferedEmitter) beginClose() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startLocked(context.Background())
	if !e.closed {
		e.closed = true
		if e.inflight == 0 {
			close(e.sendersDone)
		}
	}
}

// Flush delivers every event emitted before it, waiting as long as that takes.
func (e *BufferedEmitter) Flush() { _ = e.FlushContext(context.Background()) }

// FlushContext is Flush that gives up waiting when ctx ends (delivery goes on).
func (e *BufferedEmitter) FlushContext(ctx context.Context) error {
	e.mu.Lock()
	e.startLocked(context.Background())
	e.mu.Unlock()
	ack := make(chan struct{})
	select {
	case e.flushReq <- ack:
	case <-e.loopDone:
		return e.result()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-e.loopDone:
		return e.result()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events and returns once every event has been delivered or refused (it
// waits as long as trail is unreachable; Shutdown takes a deadline). It may be called again and
// returns the same result: nil, or a *RejectedError listing what trail refused.
func (e *BufferedEmitter) Close() error { return e.Shutdown(context.Background()) }

// Shutdown is Close with a deadline: when ctx ends first, delivery stops and the events not
// delivered are returned in an *UndeliveredError, to be kept and sent again later.
func (e *BufferedEmitter) Shutdown(ctx context.Context) error {
	e.beginClose()
	select {
	case <-e.loopDone:
	case <-ctx.Done():
		e.abortOnce.Do(func() {
			e.resMu.Lock()
			e.lastErr = ctx.Err()
			e.resMu.Unlock()
			close(e.abort)
			e.abortCancel()
		})
		<-e.loopDone
	}
	return e.result()
}

func (e *BufferedEmitter) result() error {
	e.resMu.Lock()
	defer e.resMu.Unlock()
	if len(e.undelivered) > 0 {
		return &UndeliveredError{Events: append([]Event(nil), e.undelivered...), Cause: e.lastErr}
	}
	if len(e.rejections) > 0 {
		return &RejectedError{Rejections: append([]Rejection(nil), e.rejections...)}
	}
	return nil
}

// Counters returns the running totals.
func (e *BufferedEmitter) Counters() Counters {
	c := Counters{Emitted: atomic.LoadInt64(&e.emitted), Delivered: atomic.LoadInt64(&e.delivered),
		Retried: atomic.LoadInt64(&e.retried), Rejected: atomic.LoadInt64(&e.rejected)}
	c.Pending = c.Emitted - c.Delivered - c.Rejected
	return c
}

// Rejected returns the events trail refused, with the reasons.
func (e *BufferedEmitter) Rejected() []Rejection {
	e.resMu.Lock()
	defer e.resMu.Unlock()
	return append([]Rejection(nil), e.rejections...)
}

func (e *BufferedEmitter) loop(ctx context.Context) {
	defer close(e.loopDone)
	ticker := time.NewTicker(flushInterval)
	defer ticker.Stop()
	batch := make([]Event, 0, batchSize)
	ctxDone := ctx.Done()
	// add appends one event and delivers at 20; false when delivery was aborted.
	add := func(ev Event) bool {
		batch = append(batch, ev)
		if len(batch) >= batchSize {
			if !e.deliver(batch) {
				return false
			}
			batch = batch[:0]
		}
		return true
	}
	// drain takes every queued event; false when delivery was aborted.
	drain := func() bool {
		for {
			select {
			case ev := <-e.ch:
				if !add(ev) {
					return false
				}
			default:
				return true
			}
		}
	}
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		if !e.deliver(batch) {
			return false
		}
		batch = batch[:0]
		return true
	}
	for {
		ok := true
		select {
		case ev := <-e.ch:
			ok = add(ev)
		case <-ticker.C:
			ok = flush()
		case ack := <-e.flushReq:
			ok = drain() && flush()
			if ok {
				close(ack)
			}
		case <-ctxDone:
			ctxDone = nil
			e.beginClose()
		case <-e.sendersDone:
			// No Emit can add anything now: deliver what is queued and stop.
			ok = drain() && flush()
			if ok {
				return
			}
		}
		if !ok {
			// Aborted by Shutdown's deadline: hand back everything not delivered, in order.
			<-e.sendersDone
			e.resMu.Lock()
			for len(e.ch) > 0 {
				e.undelivered = append(e.undelivered, <-e.ch)
			}
			e.resMu.Unlock()
			return
		}
	}
}

// deliver writes batch, retrying until it is stored; events trail refuses are set aside with
// the reason. False when Shutdown's deadline stopped it (what is left is in e.undelivered).
func (e *BufferedEmitter) deliver(batch []Event) bool {
	queue := [][]Event{append([]Event(nil), batch...)}
	backoff := e.minBackoff
	attempt := 0
	for len(queue) > 0 {
		seg := queue[0]
		if len(seg) == 0 {
			queue = queue[1:]
			continue
		}
		err := e.store.InsertBatch(e.abortCtx, seg)
		if err == nil {
			atomic.AddInt64(&e.delivered, int64(len(seg)))
			queue, backoff, attempt = queue[1:], e.minBackoff, 0
			continue
		}
		var conflict *ConflictError
		var apiErr *APIError
		if errors.As(err, &conflict) {
			bad := map[int]bool{}
			for _, i := range conflict.Indexes {
				bad[i] = true
			}
			for i, ev := range seg {
				if bad[i] {
					e.reject(ev, fmt.Errorf("trail: id %s already names another event in the log; this event was not recorded", ev.TrailID))
				} else {
					atomic.AddInt64(&e.delivered, 1)
				}
			}
			queue = queue[1:]
			continue
		}
		if errors.As(err, &apiErr) && apiErr.Refused() && e.abortCtx.Err() == nil {
			bad := map[int]string{}
			for _, b := range apiErr.Events {
				if b.Index >= 0 && b.Index < len(seg) {
					bad[b.Index] = b.Message
				}
			}
			switch {
			case len(bad) > 0: // trail named the bad events: set them aside, send the rest
				rest := make([]Event, 0, len(seg))
				for i, ev := range seg {
					if m, ok := bad[i]; ok {
						e.reject(ev, fmt.Errorf("%w [this event: %s]", err, m))
					} else {
						rest = append(rest, ev)
					}
				}
				queue[0] = rest
			case len(seg) == 1:
				e.reject(seg[0], err)
				queue = queue[1:]
			default: // find the refused event(s) by halves
				h := len(seg) / 2
				queue = append([][]Event{seg[:h], seg[h:]}, queue[1:]...)
			}
			continue
		}
		wait := backoff
		if apiErr != nil && apiErr.RetryAfter > wait {
			wait = apiErr.RetryAfter
		}
		if backoff *= 2; backoff > e.maxBackoff {
			backoff = e.maxBackoff
		}
		attempt++
		if e.abortCtx.Err() == nil {
			atomic.AddInt64(&e.retried, 1)
			e.logger.Warn("trail: audit flush failed; retrying (events are kept)",
				"events", len(seg), "attempt", attempt, "retry_in", wait.String(), "error", err.Error())
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
				continue
			case <-e.abort:
				timer.Stop()
			}
		}
		e.resMu.Lock()
		for _, s := range queue {
			e.undelivered = append(e.undelivered, s...)
		}
		e.resMu.Unlock()
		return false
	}
	return true
}

func (e *BufferedEmitter) reject(ev Event, err error) {
	atomic.AddInt64(&e.rejected, 1)
	e.resMu.Lock()
	e.rejections = append(e.rejections, Rejection{Event: ev, Err: err})
	e.resMu.Unlock()
	e.logger.Error("trail: audit event refused by trail; kept in Rejected(), not retried",
		"category", ev.Category, "action", ev.Action, "id", ev.TrailID, "error", err.Error())
}

type stdLogger struct{}

func (stdLogger) Warn(msg string, args ...any)  { log.Println(append([]any{"WARN", msg}, args...)...) }
func (stdLogger) Error(msg string, args ...any) { log.Println(append([]any{"ERROR", msg}, args...)...) }
