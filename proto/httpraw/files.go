package httpraw

import (
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// How the responder serves files under Root without stalling its event
// loop (the loop thread runs every connection's requests one after the
// other, so a read there delays them all):
//
//   - Files up to CacheFileBytes (1 MiB) are read once and kept in memory,
//     up to CacheBytes (64 MiB) in all. An entry is trusted for a second
//     after its last check, then its size and modification time are looked
//     at again (one open and fstat), as nginx's open_file_cache does with
//     open_file_cache_valid: a changed file is served new within a second.
//   - Larger files are never read into memory: each request opens its own
//     descriptor and the server runtime sends the bytes with sendfile(2)
//     as the peer takes them (server.FileSender), closing it at the end.
//
// Measured on this machine: a cache hit costs no system call; a 16 MiB
// file, which the previous code read whole on the loop per request, now
// costs an open, an fstat and sendfile calls of at most 1 MiB each.
const (
	defaultCacheFileBytes = 1 << 20
	defaultCacheBytes     = 64 << 20
	cacheValid            = time.Second
)

// doc is what a request resolved to: bytes in memory (the embedded page or
// a cached file) or a file to send.
type doc struct {
	body     []byte
	file     *os.File // owned by the request: closed once sent
	size     int64
	mod      time.Time
	ctype    string
	etag     string
	lines    string // Last-Modified and ETag header lines
	head     string // for a document in memory: every header line of its 200
	redirect string // a directory asked for without its slash: 301 here
	status   int
}

// cacheEntry is a file's document in memory (a 200 with its body) and when
// it was last checked against the file.
type cacheEntry struct {
	doc     doc
	checked time.Time
}

type fileCache struct {
	mu    sync.Mutex
	m     map[string]*cacheEntry
	bytes int64
}

func (c *fileCache) get(key string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

// put stores e, evicting other entries (in map order: about at random)
// until the total fits max.
func (c *fileCache) put(key string, e *cacheEntry, max int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*cacheEntry{}
	}
	if old := c.m[key]; old != nil {
		c.bytes -= int64(len(old.doc.body))
		delete(c.m, key)
	}
	for k, old := range c.m {
		if c.bytes+int64(len(e.doc.body)) <= max {
			break
		}
		c.bytes -= int64(len(old.doc.body))
		delete(c.m, k)
	}
	if c.bytes+int64(len(e.doc.body)) <= max {
		c.m[key] = e
		c.bytes += int64(len(e.doc.body))
	}
}

func (r *Responder) cacheFileBytes() int64 {
	if r.CacheFileBytes > 0 {
		return r.CacheFileBytes
	}
	if r.CacheFileBytes < 0 {
		return -1
	}
	return defaultCacheFileBytes
}

func (r *Responder) cacheBytes() int64 {
	if r.CacheBytes > 0 {
		return r.CacheBytes
	}
	return defaultCacheBytes
}

func (r *Responder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// lookup finds the document for a request target's path.
func (r *Responder) lookup(target string) doc {
	if !strings.HasPrefix(target, "/") {
		// absolute-form (RFC 9112 §3.2.2): the path is what counts, as
		// nginx takes it whatever the scheme.
		if u, err := url.Parse(target); err == nil && u.IsAbs() {
			target = u.RequestURI()
		}
	}
	raw, _, _ := strings.Cut(target, "?")
	if !strings.HasPrefix(raw, "/") {
		return doc{status: 400}
	}
	p, err := url.PathUnescape(raw)
	if err != nil || strings.ContainsRune(p, 0) || aboveRoot(p) {
		return doc{status: 400}
	}
	slash := strings.HasSuffix(p, "/")
	p = path.Clean(p)
	if r.Root == nil {
		switch p {
		case "/", "/index.html":
			return pageDoc
		case "/format.css":
			return cssDoc
		}
		return doc{status: 404}
	}
	rel := strings.TrimPrefix(p, "/")
	if rel == "" {
		rel, slash = ".", true
	}
	key := rel
	if slash {
		key += "/"
	}
	now := r.now()
	e := r.cache.get(key)
	if e != nil && now.Sub(e.checked) < cacheValid {
		return e.doc
	}
	f, fi, name, d := r.open(rel, raw, slash, p)
	if f == nil {
		return d
	}
	if e != nil && fi.ModTime().Equal(e.doc.mod) && fi.Size() == e.doc.size {
		f.Close()
		r.cache.put(key, &cacheEntry{doc: e.doc, checked: now}, r.cacheBytes())
		return e.doc
	}
	d = doc{size: fi.Size(), mod: fi.ModTime(), ctype: contentType(name), status: 200}
	d.etag, d.lines = validators(d.mod, int(d.size))
	if r.MaxFileBytes > 0 && d.size > r.MaxFileBytes {
		f.Close()
		return doc{status: 403}
	}
	if limit := r.cacheFileBytes(); limit >= 0 && d.size <= limit {
		body, err := io.ReadAll(io.LimitReader(f, d.size+1))
		f.Close()
		if err != nil || int64(len(body)) != d.size {
			return doc{status: 500}
		}
		d.body, d.head = body, headLines(d.ctype, d.size, d.lines)
		r.cache.put(key, &cacheEntry{doc: d, checked: now}, r.cacheBytes())
		return d
	}
	d.file = f
	return d
}

// aboveRoot reports a path whose dot-segments climb above "/" (/../x,
// /a/../../x, and their percent-encoded forms once decoded): a malformed
// target, refused with 400 as nginx does, where path.Clean would quietly
// keep it at the root.
func aboveRoot(p string) bool {
	depth := 0
	for seg := range strings.SplitSeq(p[1:], "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// open opens the file a cleaned path names under Root: a directory's
// index.html (the embedded page at "/" when there is none). Each file
// opened is closed unless returned.
func (r *Responder) open(rel, raw string, slash bool, clean string) (*os.File, fs.FileInfo, string, doc) {
	f, err := r.Root.Open(rel)
	if err != nil {
		if clean == "/" {
			return nil, nil, "", pageDoc
		}
		return nil, nil, "", doc{status: fileStatus(err)}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, "", doc{status: 500}
	}
	if !fi.IsDir() {
		if slash {
			f.Close() // "/file.txt/" names no directory (nginx: 404)
			return nil, nil, "", doc{status: 404}
		}
		return f, fi, rel, doc{}
	}
	f.Close()
	if !slash {
		// nginx's answer for a directory without its slash, so relative
		// links in its index resolve.
		return nil, nil, "", doc{status: 301, redirect: raw + "/"}
	}
	name := path.Join(rel, "index.html")
	if f, err = r.Root.Open(name); err != nil {
		if clean == "/" {
			return nil, nil, "", pageDoc
		}
		return nil, nil, "", doc{status: fileStatus(err)}
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, "", doc{status: 404}
	}
	return f, fi, name, doc{}
}

func contentType(name string) string {
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func fileStatus(err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 404
	case errors.Is(err, fs.ErrPermission):
		return 403
	}
	// os.Root refuses paths that escape it.
	return 404
}
