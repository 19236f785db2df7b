// tlogcheck checks a C2SP tlog-tiles tree with Go's own transparency-log code
// (golang.org/x/mod/sumdb/tlog, the checksum database's): it reads the checkpoint,
// has tlog.TileHashReader verify every tile it reads against the signed tree
// hash, recomputes the tree hash, and proves and checks every record's
// inclusion from the entry bundles. It knows nothing of trail beyond the C2SP
// texts: tile paths without the height, entry bundles of uint16-length-prefixed
// entries, leaf hashes as RFC 6962 record hashes of the entries.
//
// Usage: tlogcheck DIR|URL   (prints "ok N ROOT" or fails with a message)
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type source struct{ base string }

func (s source) get(path string) ([]byte, error) {
	if strings.HasPrefix(s.base, "http://") || strings.HasPrefix(s.base, "https://") {
		req, err := http.NewRequest("GET", strings.TrimSuffix(s.base, "/")+"/"+path, nil)
		if err != nil {
			return nil, err
		}
		if k := os.Getenv("TRAIL_API_KEY"); k != "" {
			req.Header.Set("Authorization", "Bearer "+k)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %s", path, resp.Status)
		}
		return body, nil
	}
	return os.ReadFile(s.base + "/" + path)
}

// c2spPath maps Go's sumdb tile path ("tile/8/0/001", "tile/8/data/001") to
// the C2SP one ("tile/0/001", "tile/entries/001").
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		return "tile/entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type reader struct {
	src   source
	reads int
}

func (r *reader) Height() int { return 8 }

func (r *reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.src.get(c2spPath(t))
		if err != nil {
			return nil, err
		}
		r.reads++
		out[i] = b
	}
	return out, nil
}

func (r *reader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: tlogcheck DIR|URL")
	}
	src := source{os.Args[1]}
	cp, err := src.get("checkpoint")
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(string(cp), "\n")
	if len(lines) < 3 {
		fail("checkpoint: too short")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root: %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	r := &reader{src: src}
	hashes := tlog.TileHashReader(tlog.Tree{N: n, Hash: root}, r)
	th, err := tlog.TreeHash(n, hashes)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if th != root {
		fail("tree hash %v, checkpoint says %v", th, root)
	}
	// Every record: its entry from the bundles, its inclusion proved and checked.
	for start := int64(0); start < n; start += 256 {
		w := n - start
		if w > 256 {
			w = 256
		}
		bundle, err := src.get(c2spPath(tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}))
		if err != nil {
			fail("entry bundle: %v", err)
		}
		for i := int64(0); i < w; i++ {
			if len(bundle) < 2 {
				fail("entry %d: bundle cut short", start+i)
			}
			l := int(binary.BigEndian.Uint16(bundle))
			if len(bundle) < 2+l {
				fail("entry %d: bundle cut short", start+i)
			}
			entry := bundle[2 : 2+l]
			bundle = bundle[2+l:]
			proof, err := tlog.ProveRecord(n, start+i, hashes)
			if err != nil {
				fail("prove record %d: %v", start+i, err)
			}
			if err := tlog.CheckRecord(proof, n, root, start+i, tlog.RecordHash(entry)); err != nil {
				fail("record %d: %v", start+i, err)
			}
		}
		if len(bundle) != 0 {
			fail("bundle %d: %d bytes after its entries", start/256, len(bundle))
		}
	}
	fmt.Printf("ok %d %s\n", n, base64.StdEncoding.EncodeToString(root[:]))
}
