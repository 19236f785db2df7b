package trail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The event as POST /v1/events takes it, mapped as `trail import --from denkeeper` maps a row
// (crates/interop/src/denkeeper.rs).
type wireEvent struct {
	ID           string                 `json:"id"`
	Time         string                 `json:"time"`
	Kind         string                 `json:"kind"`
	Source       string                 `json:"source"`
	Category     string                 `json:"category,omitempty"`
	Action       string                 `json:"action,omitempty"`
	Agent        string                 `json:"agent,omitempty"`
	Status       string                 `json:"status,omitempty"`
	Conversation string                 `json:"conversation,omitempty"`
	DurationMs   *int64                 `json:"duration_ms,omitempty"`
	Body         map[string]interface{} `json:"body"`
}

const maxSafe = 1 << 53 // JCS (RFC 8785) holds integers up to ±2^53 exactly

// maxIDLen is trail's limit on identifier fields (crates/core MAX_ID_LEN).
const maxIDLen = 512

// EventID is the id trail records ev under: TrailID, else `denkeeper:<ID>`, else "" (the
// caller picks a random one).
func EventID(ev Event) string {
	if ev.TrailID != "" {
		return ev.TrailID
	}
	if ev.ID != 0 {
		return "denkeeper:" + strconv.FormatInt(ev.ID, 10)
	}
	return ""
}

func mapEvent(ev Event, now time.Time) (*wireEvent, error) {
	ts := ev.Timestamp
	if ts.IsZero() {
		ts = now
	}
	if y := ts.UTC().Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("timestamp %s is outside years 1-9999 (RFC 3339)", ts)
	}
	id := EventID(ev)
	if id == "" {
		id = NewID()
	}
	var kept []string
	den := map[string]interface{}{}
	if ev.ID != 0 {
		den["id"] = intValue("/denkeeper/id", ev.ID, &kept)
	}
	den["timestamp"] = textValue("/denkeeper/timestamp", ts.Format(time.RFC3339Nano), &kept)
	den["category"] = textValue("/denkeeper/category", ev.Category, &kept)
	den["action"] = textValue("/denkeeper/action", ev.Action, &kept)
	den["agent"] = textValue("/denkeeper/agent", ev.Agent, &kept)
	den["summary"] = textValue("/denkeeper/summary", ev.Summary, &kept)
	detail, parsed := parseDetail(ev.Detail)
	if parsed {
		den["detail"] = detail
	} else {
		den["detail"] = textValue("/denkeeper/detail", ev.Detail, &kept)
	}
	den["status"] = textValue("/denkeeper/status", ev.Status, &kept)
	den["duration_ms"] = intValue("/denkeeper/duration_ms", ev.DurationMs, &kept)
	den["source"] = textValue("/denkeeper/source", ev.Source, &kept)
	den["conversation_id"] = textValue("/denkeeper/conversation_id", ev.ConversationID, &kept)

	w := &wireEvent{ID: id, Time: formatTime(ts), Kind: kindFrom(ev.Category), Source: "denkeeper",
		Body: map[string]interface{}{"denkeeper": den}}
	if len(kept) > 0 {
		w.Body["client"] = map[string]interface{}{"kept_as_text": kept}
	}
	w.Category, _ = ident(ev.Category)
	if m, ok := detail.(map[string]interface{}); ok && parsed && ev.Category == CategoryToolCall {
		if tool, ok := m["tool"].(string); ok {
			w.Action, _ = ident(tool)
		}
	}
	if w.Action == "" {
		w.Action, _ = ident(ev.Action)
	}
	w.Agent, _ = ident(ev.Agent)
	w.Status, _ = ident(ev.Status)
	w.Conversation, _ = ident(ev.ConversationID)
	if ev.DurationMs >= 0 && ev.DurationMs < maxSafe {
		d := ev.DurationMs
		w.DurationMs = &d
	}
	return w, nil
}

// formatTime is trail's form: UTC, nine fraction digits (text order is time order).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

// ident is a value trail accepts in an identifier field: non-empty UTF-8, at most 512 bytes, no
// control characters. Anything else stays in the body only, as in the importer.
func ident(s string) (string, bool) {
	if s == "" || len(s) > maxIDLen || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return s, true
}

// kindFrom is the importer's kind_from: the name when it fits trail's kind syntax, else
// `custom.` and the name with other bytes replaced by `_`. Kinds starting with "trail." are
// trail's own and refused from clients, so they get the `custom.` prefix too.
func kindFrom(s string) string {
	ok := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("_.:-/", b) >= 0
	}
	good := s != "" && len(s) <= 128
	for i := 0; good && i < len(s); i++ {
		good = ok(s[i])
	}
	if good && !strings.HasPrefix(s, "trail.") {
		return s
	}
	if good {
		return "custom." + s
	}
	var b strings.Builder
	for i := 0; i < len(s) && i < 100; i++ {
		if ok(s[i]) {
			b.WriteByte(s[i])
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "custom.unnamed"
	}
	return "custom." + b.String()
}

// textValue keeps a string; text that is not UTF-8 (denkeeper's byte-cut summaries) becomes
// {"text_lossy", "bytes_hex"} and its path is listed, as the importer does.
func textValue(path, s string, kept *[]string) interface{} {
	if utf8.ValidString(s) {
		return s
	}
	*kept = append(*kept, path)
	return map[string]interface{}{"text_lossy": strings.ToValidUTF8(s, "\uFFFD"), "bytes_hex": hex.EncodeToString([]byte(s))}
}

func intValue(path string, n int64, kept *[]string) interface{} {
	if n >= -maxSafe && n <= maxSafe {
		return n
	}
	*kept = append(*kept, path)
	return strconv.FormatInt(n, 10)
}

// parseDetail parses detail when it is JSON text (starts with { or [), as the importer does.
// Text JSON or trail could not hold faithfully (integers beyond ±2^53, numbers beyond a double,
// repeated keys, lone surrogates) stays text, so the event is never refused for its detail.
func parseDetail(s string) (interface{}, bool) {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	if t == "" || t[0] != '{' && t[0] != '[' || !utf8.ValidString(s) || surrogateEscape.MatchString(s) || !faithful(s) {
		return nil, false
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v interface{}
	if d.Decode(&v) != nil {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// Go's decoder turns a lone surrogate escape into U+FFFD; trail keeps such text as it is, so any
// surrogate escape (json.Marshal never writes one) keeps the detail as text.
var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F][0-9a-fA-F]{2}`)

// faithful walks the JSON tokens: no repeated key in an object, every number exact in JCS.
func faithful(s string) bool {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return len(stack) == 0
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.key
		if top != nil && top.object {
			top.key = !top.key
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, &frame{})
			default: // a closing delimiter: the parent already counted this value
				stack = stack[:len(stack)-1]
			}
		case string:
			if isKey {
				if top.keys[t] {
					return false
				}
				top.keys[t] = true
			}
		case json.Number:
			if !exactNumber(string(t)) {
				return false
			}
		}
	}
}

func exactNumber(n string) bool {
	if !strings.ContainsAny(n, ".eE") {
		b, ok := new(big.Int).SetString(n, 10)
		return ok && b.CmpAbs(big.NewInt(maxSafe)) <= 0
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	// An integral float beyond 2^53 is an integer JCS cannot hold exactly.
	return !(f == math.Trunc(f) && math.Abs(f) > maxSafe)
}

// NewID is a random UUID (version 4).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("trail: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// fromView turns a stored event back into denkeeper's Event: from body.denkeeper when the body
// holds it, else (erased body) from the record.
func fromView(v eventView) (Event, error) {
	r := v.Record
	ev := Event{TrailID: r.ID, Category: r.Category, Action: r.Action, Agent: r.Agent,
		Status: r.Status, ConversationID: r.Conversation}
	if t, err := time.Parse(time.RFC3339Nano, r.Time); err == nil {
		ev.Timestamp = t
	}
	if r.DurationMs != nil {
		ev.DurationMs = *r.DurationMs
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(r.ID, "denkeeper:"), 10, 64); err == nil && strings.HasPrefix(r.ID, "denkeeper:") {
		ev.ID = n
	}
	var body struct {
		Denkeeper map[string]json.RawMessage `json:"denkeeper"`
		Client    struct {
			KeptAsText []string `json:"kept_as_text"`
		} `json:"client"`
		Import struct {
			KeptAsText []string `json:"kept_as_text"`
		} `json:"import"`
	}
	if len(v.Body) == 0 || json.Unmarshal(v.Body, &body) != nil || body.Denkeeper == nil {
		return ev, nil
	}
	kept := map[string]bool{}
	for _, p := range append(body.Client.KeptAsText, body.Import.KeptAsText...) {
		kept[p] = true
	}
	d := body.Denkeeper
	text := func(name string, dst *string) {
		raw, ok := d[name]
		if !ok {
			return
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			*dst = s
			return
		}
		var lossy struct {
			TextLossy string `json:"text_lossy"`
			BytesHex  string `json:"bytes_hex"`
		}
		if kept["/denkeeper/"+name] && json.Unmarshal(raw, &lossy) == nil {
			if b, err := hex.DecodeString(lossy.BytesHex); err == nil {
				*dst = string(b)
				return
			}
			*dst = lossy.TextLossy
			return
		}
		if name == "detail" { // parsed JSON: give it back as compact text
			var buf bytes.Buffer
			if json.Compact(&buf, raw) == nil {
				*dst = buf.String()
			}
		}
	}
	number := func(name string, dst *int64) {
		raw, ok := d[name]
		if !ok {
			return
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			if i, err := n.Int64(); err == nil {
				*dst = i
			}
			return
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				*dst = i
			}
		}
	}
	number("id", &ev.ID)
	var ts string
	text("timestamp", &ts)
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		ev.Timestamp = t
	}
	text("category", &ev.Category)
	text("action", &ev.Action)
	text("agent", &ev.Agent)
	text("summary", &ev.Summary)
	text("detail", &ev.Detail)
	text("status", &ev.Status)
	number("duration_ms", &ev.DurationMs)
	text("source", &ev.Source)
	text("conversation_id", &ev.ConversationID)
	return ev, nil
}

// like is SQLite's `LIKE` without ESCAPE, as denkeeper's search runs it: `%` any run, `_` any
// one character, ASCII letters case-insensitive.
func like(s, pattern string) bool {
	fold := func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return r
	}
	str, pat := []rune(s), []rune(pattern)
	// Iterative matcher with backtracking to the last %.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(pat) && pat[pi] == '%':
			star, mark = pi, si
			pi++
		case pi < len(pat) && (pat[pi] == '_' || fold(pat[pi]) == fold(str[si])):
			si++
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}
