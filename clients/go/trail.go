// Package trail records denkeeper audit events into trail over trail's HTTP API.
//
// It mirrors denkeeper's internal/audit package (tag v0.29.10): the same Event, ListOpts and
// Stats, a Client with the method set of audit.Store, and a BufferedEmitter with the same
// batching (20 events or 500 ms) that never drops an event. Each event is written as
// `trail import --from denkeeper` writes a row (docs/interop.md), so a log filled by this client
// reads like an imported one. Standard library only.
package trail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event categories (denkeeper's).
const (
	CategoryToolCall = "tool_call"
	CategorySkill    = "skill"
	CategoryChannel  = "channel"
	CategoryApproval = "approval"
	CategorySchedule = "schedule"
	CategoryLLM      = "llm"
	CategoryConfig   = "config"
	CategorySession  = "session"
	CategoryMCP      = "mcp"
	CategorySafety   = "safety"
)

// Event statuses (denkeeper's).
const (
	StatusOK      = "ok"
	StatusError   = "error"
	StatusPending = "pending"
	StatusDenied  = "denied"
)

// Event is denkeeper's audit event. TrailID is this client's addition: the event's id in trail.
// Left empty it is `denkeeper:<ID>` when ID is nonzero, else a random UUID; the emitter fixes
// it when the event is emitted, so a retried flush can never append an event twice. List fills
// it in. ID is denkeeper's row id: 0 for events recorded without one.
type Event struct {
	ID             int64     `json:"id"`
	Timestamp      time.Time `json:"timestamp"`
	Category       string    `json:"category"`
	Action         string    `json:"action"`
	Agent          string    `json:"agent"`
	Summary        string    `json:"summary"`
	Detail         string    `json:"detail"`
	Status         string    `json:"status"`
	DurationMs     int64     `json:"duration_ms"`
	Source         string    `json:"source"`
	ConversationID string    `json:"conversation_id"`
	TrailID        string    `json:"trail_id,omitempty"`
}

// ListOpts controls filtering and pagination for List (denkeeper's, v0.29.10).
type ListOpts struct {
	Category string
	Agent    string
	Status   string
	Source   string
	Search   string
	Since    *time.Time
	Until    *time.Time
	Limit    int
	Offset   int
}

// Stats holds aggregate counts (denkeeper's).
type Stats struct {
	Total          int            `json:"total"`
	ByCategory     map[string]int `json:"by_category"`
	ByStatus       map[string]int `json:"by_status"`
	EventsLastHour int            `json:"events_last_hour"`
}

// ListResult wraps a paginated list response (denkeeper's).
type ListResult struct {
	Events []Event `json:"events"`
	Total  int     `json:"total"`
	Limit  int     `json:"limit"`
	Offset int     `json:"offset"`
}

// Store is denkeeper's audit.Store method set (v0.29.10); *Client implements it.
type Store interface {
	Insert(ctx context.Context, event Event) error
	InsertBatch(ctx context.Context, events []Event) error
	List(ctx context.Context, opts ListOpts) ([]Event, int, error)
	Stats(ctx context.Context, since *time.Time) (*Stats, error)
	PruneBefore(ctx context.Context, before time.Time) (int, error)
	Close() error
}

var _ Store = (*Client)(nil)

// ErrPruneRefused is what PruneBefore returns.
var ErrPruneRefused = errors.New("trail: PruneBefore refused: a trail log is append-only; " +
	"records are cut only behind a signed anchor, by `trail prune --days N` or by [audit] " +
	"retention_days in trail.toml (applied by `trail serve` every cleanup_interval), and every " +
	"cut is logged as a trail.prune event; no client can delete events")

// Client talks to one trail log over HTTP. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	apiKey  string
	log     string
	timeout time.Duration
	wait    bool
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sends `Authorization: Bearer KEY` (scopes: ingest to record, read to list).
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithLog names the log (`?log=ORIGIN`) on a server that serves several.
func WithLog(name string) Option { return func(c *Client) { c.log = name } }

// WithHTTPClient uses h for every request (TLS settings, proxies, transports).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTimeout bounds each request (default 30 s; 0: only the caller's context bounds it).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithWaitCheckpoint makes every insert wait until a signed checkpoint covers its events
// (`?wait=checkpoint`).
func WithWaitCheckpoint() Option { return func(c *Client) { c.wait = true } }

// New returns a client for the trail server at baseURL (`http://127.0.0.1:7700`).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("trail: base URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("trail: base URL %q: want http://HOST:PORT or https://HOST:PORT", baseURL)
	}
	c := &Client{base: u, http: http.DefaultClient, timeout: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// APIError is an answer of trail other than 2xx: the HTTP status and trail's error text.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Status     string // "400 Bad Request"
	Code       string // trail's stable code: invalid_event, body_too_large, missing_key, ...
	Message    string
	Events     []BadEvent    // for a refused batch: every bad event, by index in the batch
	RetryAfter time.Duration // from Retry-After (429, 503)
}

// BadEvent is one refused event of a batch.
type BadEvent struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	return fmt.Sprintf("trail: %s %s: HTTP %s: %s", e.Method, e.Path, e.Status, msg)
}

// Refused reports whether trail refused the events themselves (400, 413): sending the same
// events again cannot succeed. Anything else (network errors, 401, 403, 429, 5xx) may pass later.
func (e *APIError) Refused() bool {
	return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusRequestEntityTooLarge
}

// ConflictError says that ids of a batch already name other events in the log: trail kept the
// existing events and did not record these (the rest of the batch was recorded). It happens
// when two denkeeper databases both number their rows from 1, or a TrailID is reused.
type ConflictError struct {
	Indexes []int // into the batch
	IDs     []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("trail: %d event(s) not recorded: id(s) %s already name other events in the log",
		len(e.IDs), strings.Join(e.IDs, ", "))
}

// Insert records one event.
func (c *Client) Insert(ctx context.Context, event Event) error {
	return c.InsertBatch(ctx, []Event{event})
}

// Request limits of a default `trail serve` ([server] max_batch, max_body_bytes) with room.
const (
	chunkEvents = 1000
	chunkBytes  = 4 << 20
)

// InsertBatch records events in order, in one request when they fit trail's limits (then
// all-or-nothing: one refused event refuses the batch). Events that carry no TrailID and no ID
// get a random id on each call, and a zero Timestamp becomes the time of the call, so a caller
// that retries a failed InsertBatch itself should set TrailID and Timestamp (the BufferedEmitter
// does). An id already in the log is not recorded again; when it names another event (another
// time or kind) InsertBatch returns a *ConflictError for it (with a key that may read).
func (c *Client) InsertBatch(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	now := time.Now().UTC()
	wire := make([]json.RawMessage, len(events))
	for i, ev := range events {
		w, err := mapEvent(ev, now)
		if err != nil {
			return fmt.Errorf("trail: event %d: %w", i, err)
		}
		b, err := json.Marshal(w)
		if err != nil {
			return fmt.Errorf("trail: event %d: %w", i, err)
		}
		wire[i] = b
	}
	var conflicts ConflictError
	for start := 0; start < len(wire); {
		end, size := start, 2
		for end < len(wire) && end-start < chunkEvents && (end == start || size+len(wire[end])+1 <= chunkBytes) {
			size += len(wire[end]) + 1
			end++
		}
		if err := c.post(ctx, wire[start:end], start, &conflicts); err != nil {
			return err
		}
		start = end
	}
	if len(conflicts.IDs) > 0 {
		return &conflicts
	}
	return nil
}

// post sends one chunk; a 413 splits it. offset is the chunk's place in the caller's batch.
func (c *Client) post(ctx context.Context, chunk []json.RawMessage, offset int, conflicts *ConflictError) error {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, b := range chunk {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(b)
	}
	body.WriteByte(']')
	q := url.Values{}
	if c.wait {
		q.Set("wait", "checkpoint")
	}
	var resp struct {
		Events []struct {
			Seq     int64  `json:"seq"`
			ID      string `json:"id"`
			Created bool   `json:"created"`
		} `json:"events"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/events", q, body.Bytes(), &resp)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.StatusCode == http.StatusRequestEntityTooLarge && len(chunk) > 1 {
			half := len(chunk) / 2
			if err := c.post(ctx, chunk[:half], offset, conflicts); err != nil {
				return err
			}
			return c.post(ctx, chunk[half:], offset+half, conflicts)
		}
		if len(apiErr.Events) > 0 && offset > 0 {
			shifted := *apiErr
			shifted.Events = make([]BadEvent, len(apiErr.Events))
			for i, b := range apiErr.Events {
				shifted.Events[i] = BadEvent{Index: b.Index + offset, Message: b.Message}
			}
			return &shifted
		}
	}
	if err != nil {
		return err
	}
	if len(resp.Events) != len(chunk) {
		return fmt.Errorf("trail: POST /v1/events: %d events sent, %d acknowledged", len(chunk), len(resp.Events))
	}
	// created=false: the id was in the log already. Trail answers 200 either way, also when the
	// stored event is a different one, so check that it is the same event (time and kind).
	for i, ack := range resp.Events {
		if ack.Created {
			continue
		}
		var sent struct {
			ID   string `json:"id"`
			Time string `json:"time"`
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(chunk[i], &sent); err != nil {
			return err
		}
		var stored eventView
		err := c.do(ctx, http.MethodGet, "/v1/events/"+url.PathEscape(ack.ID), nil, nil, &stored)
		if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden) {
			// A key without the read scope cannot look: take trail's word that the id is stored
			// (a clash then goes unnoticed; trail's answer does not tell).
			continue
		}
		if err != nil {
			return fmt.Errorf("trail: checking the existing event %s: %w", ack.ID, err)
		}
		if stored.Record.Time != sent.Time || stored.Record.Kind != sent.Kind {
			conflicts.Indexes = append(conflicts.Indexes, offset+i)
			conflicts.IDs = append(conflicts.IDs, ack.ID)
		}
	}
	return nil
}

// The event as GET /v1/events returns it.
type eventView struct {
	Seq    int64 `json:"seq"`
	Record struct {
		ID           string `json:"id"`
		Time         string `json:"time"`
		Kind         string `json:"kind"`
		Category     string `json:"category"`
		Action       string `json:"action"`
		Agent        string `json:"agent"`
		Status       string `json:"status"`
		Conversation string `json:"conversation"`
		Source       string `json:"source"`
		DurationMs   *int64 `json:"duration_ms"`
	} `json:"record"`
	Body   json.RawMessage `json:"body"`
	Erased bool            `json:"erased"`
}

type eventsPage struct {
	Events     []eventView `json:"events"`
	NextCursor *int64      `json:"next_cursor"`
	Total      int         `json:"total"`
}

// pageMax is trail's largest page (`limit`, at most 10000).
const pageMax = 10000

// List returns denkeeper's view of the log: its events (source "denkeeper", so imported rows
// too), newest first, with the total that match. Category, Agent, Status, Since and Until are
// filtered by trail; Since and Until compare instants (denkeeper compared text). Source (kept in
// the body) and Search (denkeeper's `summary LIKE %s%`: ASCII case-insensitive, `%` and `_` as
// wildcards) cannot be asked of trail, so with either set List reads every event that passes
// the other filters and filters them here. Limit <= 0 or > 200 means 50, as in denkeeper.
// Newest first is log order (seq), which is time order for events the emitter stamped.
func (c *Client) List(ctx context.Context, opts ListOpts) ([]Event, int, error) {
	limit := opts.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	offset := opts.Offset
	if offset < 0 {
		offset = 0
	}
	q := url.Values{"source": {"denkeeper"}, "order": {"desc"}}
	var local []func(Event) bool
	for _, f := range []struct {
		param, value string
		get          func(Event) string
	}{
		{"category", opts.Category, func(e Event) string { return e.Category }},
		{"agent", opts.Agent, func(e Event) string { return e.Agent }},
		{"status", opts.Status, func(e Event) string { return e.Status }},
		{"", opts.Source, func(e Event) string { return e.Source }},
	} {
		if f.value == "" {
			continue
		}
		if _, ok := ident(f.value); ok && f.param != "" {
			q.Set(f.param, f.value)
		} else {
			// Not a value trail can hold in a record field (or not a record field): match the body.
			want, get := f.value, f.get
			local = append(local, func(e Event) bool { return get(e) == want })
		}
	}
	if opts.Search != "" {
		pattern := "%" + opts.Search + "%"
		local = append(local, func(e Event) bool { return like(e.Summary, pattern) })
	}
	if opts.Since != nil {
		q.Set("from", formatTime(*opts.Since))
	}
	if opts.Until != nil {
		q.Set("to", formatTime(opts.Until.Add(time.Nanosecond))) // trail's `to` is exclusive
	}
	var out []Event
	total, seen := 0, 0
	for {
		page := pageMax
		if len(local) == 0 && offset+limit-seen < page {
			page = offset + limit - seen
		}
		q.Set("limit", strconv.Itoa(page))
		var p eventsPage
		if err := c.do(ctx, http.MethodGet, "/v1/events", q, nil, &p); err != nil {
			return nil, 0, err
		}
		for _, v := range p.Events {
			ev, err := fromView(v)
			if err != nil {
				return nil, 0, err
			}
			ok := true
			for _, f := range local {
				ok = ok && f(ev)
			}
			if !ok {
				continue
			}
			if seen >= offset && len(out) < limit {
				out = append(out, ev)
			}
			seen++
		}
		if len(local) == 0 {
			total = p.Total
			if len(out) >= limit || p.NextCursor == nil {
				break
			}
		} else if p.NextCursor == nil {
			total = seen
			break
		}
		q.Set("cursor", strconv.FormatInt(*p.NextCursor, 10))
	}
	return out, total, nil
}

type statsView struct {
	Events     int            `json:"events"`
	ByCategory map[string]int `json:"by_category"`
	ByStatus   map[string]int `json:"by_status"`
}

// Stats counts denkeeper's events (source "denkeeper") at or after since (all when nil), by
// category and status; events without a category or status are counted under "". As in
// denkeeper, EventsLastHour ignores since.
func (c *Client) Stats(ctx context.Context, since *time.Time) (*Stats, error) {
	q := url.Values{"source": {"denkeeper"}}
	if since != nil {
		q.Set("from", formatTime(*since))
	}
	var s statsView
	if err := c.do(ctx, http.MethodGet, "/v1/stats", q, nil, &s); err != nil {
		return nil, err
	}
	q.Set("from", formatTime(time.Now().Add(-time.Hour)))
	var h statsView
	if err := c.do(ctx, http.MethodGet, "/v1/stats", q, nil, &h); err != nil {
		return nil, err
	}
	st := &Stats{Total: s.Events, ByCategory: withBlank(s.ByCategory, s.Events),
		ByStatus: withBlank(s.ByStatus, s.Events), EventsLastHour: h.Events}
	return st, nil
}

func withBlank(m map[string]int, total int) map[string]int {
	out := make(map[string]int, len(m)+1)
	for k, v := range m {
		out[k] = v
		total -= v
	}
	if total > 0 {
		out[""] = total
	}
	return out
}

// PruneBefore deletes nothing and returns ErrPruneRefused: see its text.
func (c *Client) PruneBefore(_ context.Context, _ time.Time) (int, error) {
	return 0, ErrPruneRefused
}

// Close releases idle connections. The client stays usable.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// do sends one request; on 2xx it decodes the answer into out, else returns an *APIError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out interface{}) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	if strings.Contains(path, "%") {
		u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + path
		if p, err := url.PathUnescape(u.RawPath); err == nil {
			u.Path = p
		}
	}
	qq := url.Values{}
	for k, v := range q {
		qq[k] = v
	}
	if c.log != "" {
		qq.Set("log", c.log)
	}
	u.RawQuery = qq.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("trail: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("trail: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("trail: %s %s: reading the answer (HTTP %s): %w", method, path, resp.Status, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Status: resp.Status}
		var eb struct {
			Error struct {
				Code    string     `json:"code"`
				Message string     `json:"message"`
				Events  []BadEvent `json:"events"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
			e.Code, e.Message, e.Events = eb.Error.Code, eb.Error.Message, eb.Error.Events
		} else {
			e.Message = strings.TrimSpace(string(data))
			if len(e.Message) > 500 {
				e.Message = e.Message[:500] + "..."
			}
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("trail: %s %s: unexpected answer (HTTP %s): %w", method, path, resp.Status, err)
	}
	return nil
}
