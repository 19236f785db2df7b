// specwitness is an independent C2SP tlog-witness server, written from the
// specification texts alone (c2sp.org/tlog-witness, tlog-cosignature,
// signed-note, tlog-checkpoint) to serve as a test oracle. It implements
// add-checkpoint and the optional monitoring endpoint, and cosigns with an
// Ed25519 cosignature/v1 key (signature type 0x04).
//
// Usage:
//
//	specwitness --listen 127.0.0.1:0 --name NAME --state DIR --log VKEY [--log VKEY ...]
//
// VKEY is a log's signed-note verifier key (type 0x01); its key name is the
// log's origin. On first start an Ed25519 key is generated into DIR/witness.key
// (reused afterwards) and DIR/witness.vkey receives the cosigner vkey. Once
// listening, exactly one line "listening HOST:PORT" is printed on stdout.
//
// State: one file per origin, DIR/log-<sha256(origin) hex>.json, holding the
// size, root hash and full signed checkpoint of the latest cosigned
// checkpoint, replaced atomically before any 200 reply.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	maxBody       = 1 << 20 // not in the spec: a sanity bound on request bodies
	maxProofLines = 63      // tlog-witness: "MUST NOT send more than 63 consistency proof lines"
	maxSigLines   = 100     // signed-note: SHOULD limit, MUST accept at least 16
	sigPrefix     = "\u2014 "
)

// emptyRoot is the RFC 6962 hash of the empty tree, SHA-256 of "" (tlog-witness
// add-checkpoint; note x/mod's tlog.TreeHash(0) is all zeroes instead).
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// record is the persisted state for one origin.
type record struct {
	Origin     string `json:"origin"`
	Size       int64  `json:"size"`
	Root       string `json:"root"`       // base64
	Checkpoint string `json:"checkpoint"` // signed note: text, log sigs verified, our cosignature
}

type witness struct {
	name  string
	priv  ed25519.PrivateKey
	keyID [4]byte
	dir   string
	logs  map[string][]note.Verifier // origin -> trusted log keys

	mu    sync.Mutex // serialises check+persist+update (tlog-witness: must be atomic)
	state map[string]*record
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	name := flag.String("name", "", "witness (cosigner) key name")
	dir := flag.String("state", "", "state directory")
	var logs multiFlag
	flag.Var(&logs, "log", "trusted log verifier key (repeatable)")
	flag.Parse()
	if *name == "" || *dir == "" || len(logs) == 0 {
		log.Fatal("usage: specwitness --listen ADDR --name NAME --state DIR --log VKEY [--log VKEY ...]")
	}
	if !validKeyName(*name) {
		log.Fatalf("invalid witness name %q", *name)
	}
	w := &witness{name: *name, dir: *dir, logs: map[string][]note.Verifier{}, state: map[string]*record{}}
	for _, vk := range logs {
		v, err := note.NewVerifier(vk)
		if err != nil {
			log.Fatalf("--log %q: %v", vk, err)
		}
		// The vkey's name is the log's origin (tlog-checkpoint: the log's key
		// name SHOULD match the origin line; here we require it).
		w.logs[v.Name()] = append(w.logs[v.Name()], v)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	if err := w.loadKey(); err != nil {
		log.Fatal(err)
	}
	if err := w.loadState(); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, w))
}

// ---------------------------------------------------------------------------
// Keys and persistence

// loadKey reads DIR/witness.key (hex Ed25519 seed) or creates it, and writes
// DIR/witness.vkey: <name>+<hex key ID>+base64(0x04 || pub) (tlog-cosignature
// "Format"; signed-note "Verifier keys").
func (w *witness) loadKey() error {
	keyPath := filepath.Join(w.dir, "witness.key")
	b, err := os.ReadFile(keyPath)
	var seed []byte
	switch {
	case err == nil:
		seed, err = hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return fmt.Errorf("%s: bad seed", keyPath)
		}
	case errors.Is(err, os.ErrNotExist):
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return err
		}
		if err := writeAtomic(w.dir, "witness.key", []byte(hex.EncodeToString(seed)+"\n")); err != nil {
			return err
		}
	default:
		return err
	}
	w.priv = ed25519.NewKeyFromSeed(seed)
	pub := w.priv.Public().(ed25519.PublicKey)
	// key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte public key)[:4]
	h := sha256.Sum256(append(append([]byte(w.name+"\n"), 0x04), pub...))
	copy(w.keyID[:], h[:4])
	vkey := fmt.Sprintf("%s+%s+%s\n", w.name, hex.EncodeToString(w.keyID[:]),
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
	return writeAtomic(w.dir, "witness.vkey", []byte(vkey))
}

func stateFile(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return "log-" + hex.EncodeToString(h[:]) + ".json"
}

func (w *witness) loadState() error {
	files, err := filepath.Glob(filepath.Join(w.dir, "log-*.json"))
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if filepath.Base(f) != stateFile(r.Origin) {
			return fmt.Errorf("%s: origin %q does not match file name", f, r.Origin)
		}
		w.state[r.Origin] = &r
	}
	return nil
}

// writeAtomic writes dir/name via a temporary file: write, fsync, rename,
// fsync the directory (tlog-witness: persist before responding).
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ---------------------------------------------------------------------------
// HTTP

func (w *witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/add-checkpoint" {
		if r.Method != http.MethodPost { // "The request MUST be an HTTP POST."
			rw.Header().Set("Allow", "POST")
			fail(rw, http.StatusMethodNotAllowed, "add-checkpoint requires POST")
			return
		}
		w.addCheckpoint(rw, r)
		return
	}
	// Monitoring: GET <prefix>/<lowercase hex SHA-256 of origin>/checkpoint
	if parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/"); len(parts) == 2 && parts[1] == "checkpoint" && isLowerHex64(parts[0]) {
		if r.Method != http.MethodGet { // "The request MUST be an HTTP GET."
			rw.Header().Set("Allow", "GET")
			fail(rw, http.StatusMethodNotAllowed, "checkpoint requires GET")
			return
		}
		w.mu.Lock()
		var cp string
		for origin, rec := range w.state {
			if h := sha256.Sum256([]byte(origin)); hex.EncodeToString(h[:]) == parts[0] {
				cp = rec.Checkpoint
			}
		}
		w.mu.Unlock()
		if cp == "" { // "never cosigned a checkpoint for that log": 404
			fail(rw, http.StatusNotFound, "no cosigned checkpoint for this origin")
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(rw, cp)
		return
	}
	fail(rw, http.StatusNotFound, "not found")
}

func fail(rw http.ResponseWriter, code int, msg string) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(code)
	fmt.Fprintln(rw, msg)
}

func (w *witness) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBody))
	if err != nil {
		fail(rw, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		fail(rw, http.StatusBadRequest, err.Error())
		return
	}
	cp := req.checkpoint

	// "If the checkpoint origin is unknown, the witness MUST respond with 404."
	keys, ok := w.logs[cp.origin]
	if !ok {
		fail(rw, http.StatusNotFound, "unknown origin")
		return
	}
	// "MUST verify the checkpoint signature against the public key(s) it
	// trusts for the checkpoint origin, and MUST ignore signatures from
	// unknown keys." 403 if none verifies, or a trusted (name, key ID) one fails.
	var verified []string
	for _, s := range cp.sigs {
		for _, v := range keys {
			if s.name != v.Name() || s.keyID != v.KeyHash() {
				continue // signed-note: unknown key (name or ID differs), ignore
			}
			if !v.Verify([]byte(cp.text), s.sig) {
				fail(rw, http.StatusForbidden, "invalid signature from a trusted log key")
				return
			}
			verified = append(verified, s.line)
		}
	}
	if len(verified) == 0 {
		fail(rw, http.StatusForbidden, "no signature from a trusted log key")
		return
	}
	// "The old size MUST be equal to or lower than the checkpoint size", else 400.
	if req.old > cp.size {
		fail(rw, http.StatusBadRequest, "old size is larger than the checkpoint size")
		return
	}

	// Checking against and updating the stored state is one critical section.
	w.mu.Lock()
	defer w.mu.Unlock()
	var latestSize int64 // "or zero if it never cosigned a checkpoint for that origin"
	var latestRoot tlog.Hash
	if rec := w.state[cp.origin]; rec != nil {
		latestSize = rec.Size
		b, _ := base64.StdEncoding.DecodeString(rec.Root)
		copy(latestRoot[:], b)
	}
	// 409 Conflict when old != the latest cosigned size; body "<size>\n",
	// Content-Type text/x.tlog.size.
	if req.old != latestSize {
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", latestSize)
		return
	}
	// "A checkpoint of size zero MUST have the root hash of the empty tree", else 422.
	if cp.size == 0 && cp.root != emptyRoot {
		fail(rw, http.StatusUnprocessableEntity, "size 0 checkpoint without the empty tree hash")
		return
	}
	if req.old == 0 {
		// "If the old size is zero, the consistency proof MUST be empty", else 422.
		if len(req.proof) != 0 {
			fail(rw, http.StatusUnprocessableEntity, "non-empty consistency proof from size 0")
			return
		}
	} else {
		// "If the old size matches the checkpoint size, the witness MUST check
		// that the root hashes are also identical", else 422.
		if req.old == cp.size && cp.root != latestRoot {
			fail(rw, http.StatusUnprocessableEntity, "same size, different root hash")
			return
		}
		// RFC 6962 section 2.1.2 consistency proof from (old, latest root) to
		// (size, root); 422 if it does not verify. For old == size it must be empty.
		if err := tlog.CheckTree(req.proof, cp.size, cp.root, req.old, latestRoot); err != nil {
			fail(rw, http.StatusUnprocessableEntity, "consistency proof does not verify")
			return
		}
	}

	// All checks passed: cosign (tlog-cosignature, Ed25519 signed message).
	ts := uint64(time.Now().Unix())
	if ts == 0 || ts > 1<<63-1 { // "The cosignature MUST NOT omit the timestamp"
		fail(rw, http.StatusInternalServerError, "bad clock")
		return
	}
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, cp.text)
	sig := make([]byte, 0, 4+8+ed25519.SignatureSize)
	sig = append(sig, w.keyID[:]...)
	sig = binary.BigEndian.AppendUint64(sig, ts)
	sig = append(sig, ed25519.Sign(w.priv, []byte(msg))...)
	cosig := fmt.Sprintf("%s%s %s\n", sigPrefix, w.name, base64.StdEncoding.EncodeToString(sig))

	// "The witness MUST persist the new checkpoint before responding." The
	// stored checkpoint carries the log signatures we verified and our
	// cosignature, as the monitoring endpoint must serve both.
	rec := &record{
		Origin:     cp.origin,
		Size:       cp.size,
		Root:       base64.StdEncoding.EncodeToString(cp.root[:]),
		Checkpoint: cp.text + "\n" + strings.Join(verified, "") + cosig,
	}
	data, _ := json.MarshalIndent(rec, "", "  ")
	if err := writeAtomic(w.dir, stateFile(cp.origin), append(data, '\n')); err != nil {
		log.Printf("persist %s: %v", cp.origin, err)
		fail(rw, http.StatusInternalServerError, "could not persist state")
		return
	}
	w.state[cp.origin] = rec
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusOK)
	io.WriteString(rw, cosig)
}

// ---------------------------------------------------------------------------
// Parsing (tlog-witness request body, signed-note, tlog-checkpoint)

type request struct {
	old        int64
	proof      tlog.TreeProof
	checkpoint *checkpoint
}

type sigLine struct {
	line  string // the whole line, with newline
	name  string
	keyID uint32
	sig   []byte // after the key ID
}

type checkpoint struct {
	text   string // note text, including the final newline
	origin string
	size   int64
	root   tlog.Hash
	sigs   []sigLine
}

// parseRequest parses: "old N\n", up to 63 base64 hash lines, "\n", checkpoint.
func parseRequest(body []byte) (*request, error) {
	req := &request{}
	line, rest, ok := cutLine(body)
	if !ok || !strings.HasPrefix(line, "old ") {
		return nil, errors.New("missing old size line")
	}
	old, err := parseDecimal(strings.TrimPrefix(line, "old "))
	if err != nil {
		return nil, fmt.Errorf("old size: %v", err)
	}
	req.old = old
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, errors.New("missing empty line before the checkpoint")
		}
		if line == "" {
			break
		}
		if len(req.proof) == maxProofLines {
			return nil, errors.New("more than 63 consistency proof lines")
		}
		h, err := parseHash(line)
		if err != nil {
			return nil, fmt.Errorf("proof line: %v", err)
		}
		req.proof = append(req.proof, h)
	}
	req.checkpoint, err = parseCheckpoint(rest)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// cutLine returns the first newline-terminated line ("Each line MUST terminate
// in a newline character").
func cutLine(b []byte) (string, []byte, bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return "", nil, false
	}
	return string(b[:i]), b[i+1:], true
}

// parseDecimal: ASCII decimal, no leading zeroes unless the value is 0.
func parseDecimal(s string) (int64, error) {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return 0, fmt.Errorf("bad decimal %q", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad decimal %q", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64) // sizes above 2^63-1 are not handled
	if err != nil {
		return 0, fmt.Errorf("bad decimal %q", s)
	}
	return n, nil
}

// parseHash decodes a standard (RFC 4648 section 4) base64 SHA-256 hash.
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

func validKeyName(name string) bool {
	// signed-note: non-empty, no Unicode spaces, no plus.
	return name != "" && utf8.ValidString(name) && !strings.ContainsRune(name, '+') &&
		strings.IndexFunc(name, unicode.IsSpace) < 0
}

func parseCheckpoint(msg []byte) (*checkpoint, error) {
	// signed-note: valid UTF-8, no ASCII control characters but newline.
	if !utf8.Valid(msg) {
		return nil, errors.New("note is not valid UTF-8")
	}
	for _, c := range msg {
		if c < 0x20 && c != '\n' {
			return nil, errors.New("note contains a control character")
		}
	}
	// The text is separated from the signatures by the last empty line.
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("note has no signature block")
	}
	cp := &checkpoint{text: string(msg[:i+1])}
	sigs := msg[i+2:]
	if len(sigs) == 0 || sigs[len(sigs)-1] != '\n' {
		return nil, errors.New("note needs one or more newline-terminated signature lines")
	}
	for len(sigs) > 0 {
		j := bytes.IndexByte(sigs, '\n')
		line := string(sigs[:j+1])
		sigs = sigs[j+1:]
		if len(cp.sigs) == maxSigLines {
			return nil, errors.New("too many signature lines")
		}
		// "— <key name> base64(32-bit key ID || signature)"
		if !strings.HasPrefix(line, sigPrefix) {
			return nil, errors.New("malformed signature line")
		}
		name, b64, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(line, sigPrefix), "\n"), " ")
		if !ok || !validKeyName(name) {
			return nil, errors.New("malformed signature line")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) < 5 {
			return nil, errors.New("malformed signature")
		}
		cp.sigs = append(cp.sigs, sigLine{line: line, name: name,
			keyID: binary.BigEndian.Uint32(raw[:4]), sig: raw[4:]})
	}
	// tlog-checkpoint "Note text": at least three non-empty lines: origin,
	// size (decimal, no leading zeroes), base64 root hash; then optional
	// non-empty extension lines.
	lines := strings.Split(strings.TrimSuffix(cp.text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, errors.New("checkpoint has fewer than three lines")
	}
	for _, l := range lines {
		if l == "" {
			return nil, errors.New("checkpoint has an empty line")
		}
	}
	cp.origin = lines[0]
	size, err := parseDecimal(lines[1])
	if err != nil {
		return nil, fmt.Errorf("checkpoint size: %v", err)
	}
	cp.size = size
	if cp.root, err = parseHash(lines[2]); err != nil {
		return nil, fmt.Errorf("checkpoint root: %v", err)
	}
	return cp, nil
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
