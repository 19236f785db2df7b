// speclog is a minimal transparency log that submits its checkpoints to a
// C2SP tlog-witness (c2sp.org/tlog-witness add-checkpoint) and verifies the
// returned Ed25519 cosignatures (c2sp.org/tlog-cosignature) by hand. It is a
// test oracle written from the specification texts alone.
//
// Usage:
//
//	speclog --origin ORIGIN --witness URL --witness-vkey VKEY --sizes 3,10,10,25
//	        [--fork-at N] [--seed HEX32] [--state-file F]
//	        [--bad-proof] [--bad-sig] [--old N]
//
// Output: "vkey <log vkey>", then one line per size:
// "size <n> status <http code> cosigned <true|false>".
// Exit status 1 on a protocol violation by the witness (a 409 without the
// text/x.tlog.size body, a 200 without a valid cosignature, a cosignature
// from the witness key that fails to verify), 2 on usage or transport errors.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var violations int

func violation(format string, args ...any) {
	violations++
	fmt.Fprintf(os.Stderr, "speclog: VIOLATION: "+format+"\n", args...)
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "speclog: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	origin := flag.String("origin", "", "log origin (also the log key name)")
	witnessURL := flag.String("witness", "", "witness submission prefix URL")
	witnessVkey := flag.String("witness-vkey", "", "witness cosigner vkey (type 0x04)")
	sizesFlag := flag.String("sizes", "", "comma-separated checkpoint sizes to submit, in order")
	forkAt := flag.Int64("fork-at", -1, "leaves i >= N are \"forked <i>\\n\" instead of \"entry <i>\\n\"")
	seedHex := flag.String("seed", "", "hex 32-byte Ed25519 seed for the log key (default random)")
	stateFile := flag.String("state-file", "", "file remembering the witness's size as the client believes it")
	badProof := flag.Bool("bad-proof", false, "flip a byte of the first consistency proof hash")
	badSig := flag.Bool("bad-sig", false, "flip a byte of the log signature")
	forceOld := flag.Int64("old", -1, "old size to send on the first submission")
	flag.Parse()
	if *origin == "" || *witnessURL == "" || *witnessVkey == "" || *sizesFlag == "" {
		fatal("usage: speclog --origin ORIGIN --witness URL --witness-vkey VKEY --sizes N,N,... [--fork-at N] [--seed HEX32] [--state-file F] [--bad-proof] [--bad-sig] [--old N]")
	}
	var sizes []int64
	var maxSize int64
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			fatal("bad size %q", s)
		}
		sizes = append(sizes, n)
		if n > maxSize {
			maxSize = n
		}
	}
	// Log key: an x/mod note Ed25519 signer (signature type 0x01), name = origin.
	seed := make([]byte, ed25519.SeedSize)
	var err error
	if *seedHex != "" {
		if seed, err = hex.DecodeString(*seedHex); err != nil || len(seed) != ed25519.SeedSize {
			fatal("--seed must be 32 bytes of hex")
		}
	} else if _, err := rand.Read(seed); err != nil {
		fatal("%v", err)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(*origin, pub)
	if err != nil {
		fatal("%v", err)
	}
	keyID := vkey[len(*origin)+1 : len(*origin)+9]
	signer, err := note.NewSigner(fmt.Sprintf("PRIVATE+KEY+%s+%s+%s", *origin, keyID,
		base64.StdEncoding.EncodeToString(append([]byte{0x01}, seed...))))
	if err != nil {
		fatal("log key: %v", err)
	}
	fmt.Printf("vkey %s\n", vkey) // printed first, so a run may be used just to learn it
	wit, err := parseCosignerVkey(*witnessVkey)
	if err != nil {
		fatal("--witness-vkey: %v", err)
	}

	// RFC 6962 tree of leaves "entry <i>\n" (or "forked <i>\n" from --fork-at).
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := int64(0); i < maxSize; i++ {
		leaf := fmt.Sprintf("entry %d\n", i)
		if *forkAt >= 0 && i >= *forkAt {
			leaf = fmt.Sprintf("forked %d\n", i)
		}
		hs, err := tlog.StoredHashes(i, []byte(leaf), reader)
		if err != nil {
			fatal("%v", err)
		}
		stored = append(stored, hs...)
	}
	rootAt := func(n int64) tlog.Hash {
		if n == 0 {
			return tlog.Hash(sha256.Sum256(nil)) // RFC 6962 MTH({}) = SHA-256("")
		}
		h, err := tlog.TreeHash(n, reader)
		if err != nil {
			fatal("%v", err)
		}
		return h
	}
	proofFor := func(old, n int64) tlog.TreeProof {
		if old <= 0 || old >= n { // empty: from 0, or same size (or invalid old > n)
			return nil
		}
		p, err := tlog.ProveTree(n, old, reader)
		if err != nil {
			fatal("%v", err)
		}
		return p
	}

	// The client's belief of the witness's latest cosigned size.
	var believed int64
	if *stateFile != "" {
		if b, err := os.ReadFile(*stateFile); err == nil {
			if believed, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
				fatal("--state-file: %v", err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			fatal("%v", err)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	url := strings.TrimSuffix(*witnessURL, "/") + "/add-checkpoint"

	for i, size := range sizes {
		// tlog-checkpoint note text: origin, size, base64 root hash.
		root := rootAt(size)
		text := fmt.Sprintf("%s\n%d\n%s\n", *origin, size, base64.StdEncoding.EncodeToString(root[:]))
		signed, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			fatal("%v", err)
		}
		if *badSig {
			signed = corruptSignature(signed, len(text))
		}
		old := believed
		if i == 0 && *forceOld >= 0 {
			old = *forceOld
		}
		status, respBody, ctype := submit(client, url, old, proofFor(old, size), *badProof, signed)
		if status == http.StatusConflict {
			// tlog-witness: 409 body is "<size>\n" with Content-Type text/x.tlog.size.
			wsize, err := parseSizeBody(respBody, ctype)
			if err != nil {
				violation("409 response: %v", err)
			} else {
				believed = wsize
				if wsize <= size { // a log cannot prove consistency from a larger tree
					old = wsize
					status, respBody, ctype = submit(client, url, old, proofFor(old, size), *badProof, signed)
				}
			}
		}
		cosigned := false
		if status == http.StatusOK {
			cosigned = verifyCosignatures(respBody, wit, text)
			if !cosigned {
				violation("200 response without a valid cosignature from %s: %q", wit.name, respBody)
			} else {
				believed = size
			}
		} else {
			fmt.Fprintf(os.Stderr, "speclog: size %d old %d: %d %s", size, old, status, respBody)
		}
		fmt.Printf("size %d status %d cosigned %v\n", size, status, cosigned)
	}
	if *stateFile != "" {
		if err := os.WriteFile(*stateFile, []byte(fmt.Sprintf("%d\n", believed)), 0o644); err != nil {
			fatal("%v", err)
		}
	}
	if violations > 0 {
		os.Exit(1)
	}
}

// submit POSTs the add-checkpoint body: "old N\n", proof lines, "\n", checkpoint.
func submit(c *http.Client, url string, old int64, proof tlog.TreeProof, badProof bool, signed []byte) (int, string, string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	if badProof {
		if len(proof) == 0 { // nothing to flip: send a bogus hash instead
			proof = tlog.TreeProof{{0xff}}
		} else {
			proof = append(tlog.TreeProof{}, proof...)
			proof[0][0] ^= 0x01
		}
	}
	for _, h := range proof {
		fmt.Fprintf(&b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b.WriteString("\n")
	b.Write(signed)
	// The spec names no request Content-Type, so none is sent.
	req, err := http.NewRequest(http.MethodPost, url, &b)
	if err != nil {
		fatal("%v", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		fatal("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		fatal("POST %s: %v", url, err)
	}
	return resp.StatusCode, string(body), resp.Header.Get("Content-Type")
}

func parseSizeBody(body, ctype string) (int64, error) {
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || mt != "text/x.tlog.size" {
		return 0, fmt.Errorf("Content-Type %q, want text/x.tlog.size", ctype)
	}
	s := strings.TrimSuffix(body, "\n")
	if !strings.HasSuffix(body, "\n") || s == "" || (s[0] == '0' && len(s) > 1) || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("body %q is not a decimal size and a newline", body)
	}
	return strconv.ParseInt(s, 10, 64)
}

// corruptSignature flips a byte of the signature proper (after the 4-byte key
// ID) of the first signature line, so the key name and ID still match.
func corruptSignature(signed []byte, textLen int) []byte {
	lines := strings.SplitAfter(string(signed[textLen+1:]), "\n")
	name, b64, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(lines[0], "\u2014 "), "\n"), " ")
	raw, _ := base64.StdEncoding.DecodeString(b64)
	raw[4] ^= 0x01
	lines[0] = fmt.Sprintf("\u2014 %s %s\n", name, base64.StdEncoding.EncodeToString(raw))
	return []byte(string(signed[:textLen+1]) + strings.Join(lines, ""))
}

type cosigner struct {
	name  string
	keyID [4]byte
	pub   ed25519.PublicKey
}

// parseCosignerVkey parses <name>+<hex key ID>+base64(0x04 || 32-byte key) and
// checks key ID = SHA-256(name || "\n" || 0x04 || key)[:4] (tlog-cosignature).
func parseCosignerVkey(vkey string) (*cosigner, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3) // base64 may contain "+"
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 8 {
		return nil, errors.New("want <name>+<hex key ID>+<base64 key>")
	}
	id, err1 := hex.DecodeString(parts[1])
	key, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(key) != 33 || key[0] != 0x04 {
		return nil, errors.New("want an Ed25519 cosignature/v1 (type 0x04) key")
	}
	c := &cosigner{name: parts[0], pub: ed25519.PublicKey(key[1:])}
	h := sha256.Sum256(append([]byte(c.name+"\n"), key...))
	copy(c.keyID[:], h[:4])
	if !bytes.Equal(id, c.keyID[:]) {
		return nil, errors.New("key ID does not match name and key")
	}
	return c, nil
}

// verifyCosignatures checks the add-checkpoint 200 body: one or more lines
// "— <name> base64(key ID || u64be timestamp || Ed25519 signature)\n".
// Lines from other keys (name or key ID differs) are ignored; a line from the
// witness key must carry a non-zero timestamp <= 2^63-1 and a valid signature
// over "cosignature/v1\ntime <ts>\n" || checkpoint text. Returns true iff at
// least one line verified and none from the witness key failed.
func verifyCosignatures(body string, c *cosigner, text string) bool {
	if body == "" || !strings.HasSuffix(body, "\n") {
		fmt.Fprintf(os.Stderr, "speclog: response is not newline-terminated signature lines\n")
		return false
	}
	ok := false
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		found := strings.HasPrefix(line, "\u2014 ")
		rest := strings.TrimPrefix(line, "\u2014 ")
		name, b64, found2 := strings.Cut(rest, " ")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if !found || !found2 || err != nil || len(raw) < 4 {
			fmt.Fprintf(os.Stderr, "speclog: malformed signature line %q\n", line)
			return false
		}
		if name != c.name || !bytes.Equal(raw[:4], c.keyID[:]) {
			fmt.Fprintf(os.Stderr, "speclog: ignoring signature from unknown key %s %x\n", name, raw[:4])
			continue
		}
		if len(raw) != 4+8+ed25519.SignatureSize {
			fmt.Fprintf(os.Stderr, "speclog: cosignature has %d bytes\n", len(raw))
			return false
		}
		ts := binary.BigEndian.Uint64(raw[4:12])
		if ts == 0 || ts > 1<<63-1 {
			fmt.Fprintf(os.Stderr, "speclog: cosignature timestamp %d out of range\n", ts)
			return false
		}
		msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, text)
		if !ed25519.Verify(c.pub, []byte(msg), raw[12:]) {
			fmt.Fprintf(os.Stderr, "speclog: cosignature does not verify\n")
			return false
		}
		ok = true
	}
	return ok
}
