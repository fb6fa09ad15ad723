package weights

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHub stands in for the Hugging Face Hub, because this machine has no
// route to huggingface.co. It serves the part of the Hub protocol Download
// uses, as huggingface_hub 2.4.0 expects it:
//
//   - HEAD and GET {hub}/{repo}/resolve/{revision}/{file}, the revision
//     path-escaped whole (refs%2Fpr%2F1), with X-Repo-Commit on every
//     answer, 404s included;
//   - regular (git) files: 200 with ETag = "<git blob sha1>" and
//     Content-Length;
//   - LFS files: 302 to another server (the CDN) with X-Linked-Etag =
//     "<sha256>" and X-Linked-Size, as the Hub redirects to its CDN;
//   - errors with X-Error-Code: 401 RepoNotFound for an unknown repository,
//     401 GatedRepo without the right token, 404 RevisionNotFound and
//     EntryNotFound.
type fakeHub struct {
	hub, cdn *httptest.Server

	mu    sync.Mutex
	repos map[string]*fakeRepo
	blobs map[string][]byte // sha256 -> content, for the CDN

	heads, gets, cdnGets atomic.Int64
	hubAuth, cdnAuth     atomic.Value // last Authorization header seen

	// cdnHook, if set, may serve a CDN request itself (returns true).
	cdnHook func(w http.ResponseWriter, r *http.Request, sha string) bool
	// sizeLie is added to X-Linked-Size.
	sizeLie int64
	// gzipGets makes GETs of regular files gzip-encoded whatever the
	// client accepts, as a misbehaving proxy might.
	gzipGets bool
}

type fakeRepo struct {
	refs    map[string]string              // branch or tag -> commit
	commits map[string]map[string]fakeFile // commit -> path -> file
	token   string                         // if set, the repository is gated
}

type fakeFile struct {
	data []byte
	lfs  bool
	weak bool // send the ETag as W/"..."
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{repos: map[string]*fakeRepo{}, blobs: map[string][]byte{}}
	h.hubAuth.Store("")
	h.cdnAuth.Store("")
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.cdn.Close)
	return h
}

// add puts a commit with files into repo and points the refs at it.
func (h *fakeHub) add(repo, commit string, files map[string]fakeFile, refs ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.repos[repo]
	if r == nil {
		r = &fakeRepo{refs: map[string]string{}, commits: map[string]map[string]fakeFile{}}
		h.repos[repo] = r
	}
	r.commits[commit] = files
	for _, ref := range refs {
		r.refs[ref] = commit
	}
	for _, f := range files {
		if f.lfs {
			h.blobs[sha256Hex(f.data)] = f.data
		}
	}
}

func (h *fakeHub) requests() int64 { return h.heads.Load() + h.gets.Load() + h.cdnGets.Load() }

func hubError(w http.ResponseWriter, status int, code, msg, commit string) {
	if commit != "" {
		w.Header().Set("X-Repo-Commit", commit)
	}
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	w.WriteHeader(status)
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodHead:
		h.heads.Add(1)
	case http.MethodGet:
		h.gets.Add(1)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	h.hubAuth.Store(r.Header.Get("Authorization"))
	parts := strings.Split(r.URL.EscapedPath(), "/")
	i := slices.Index(parts, "resolve")
	if i < 2 || len(parts) < i+3 {
		http.NotFound(w, r)
		return
	}
	repo := strings.Join(parts[1:i], "/")
	rev, _ := url.PathUnescape(parts[i+1])
	var segs []string
	for _, s := range parts[i+2:] {
		u, _ := url.PathUnescape(s)
		segs = append(segs, u)
	}
	file := strings.Join(segs, "/")

	h.mu.Lock()
	rp := h.repos[repo]
	var commit string
	var f fakeFile
	var found bool
	var token string
	if rp != nil {
		token = rp.token
		if c, ok := rp.refs[rev]; ok {
			commit = c
		} else if _, ok := rp.commits[rev]; ok {
			commit = rev
		}
		if commit != "" {
			f, found = rp.commits[commit][file]
		}
	}
	h.mu.Unlock()

	switch {
	case rp == nil:
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository Not Found for url: "+r.URL.String()+".", "")
		return
	case token != "" && r.Header.Get("Authorization") != "Bearer "+token:
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+repo+" is restricted. You must have access to it and be authenticated to access it. Please log in.", "")
		return
	case commit == "":
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev, "")
		return
	case !found:
		hubError(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on \""+rev+"\"", commit)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if f.lfs {
		sha := sha256Hex(f.data)
		w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(int64(len(f.data))+h.sizeLie))
		w.Header().Set("ETag", `"`+gitBlobSHA1([]byte("pointer "+sha))+`"`) // the pointer file's oid
		w.Header().Set("Location", h.cdn.URL+"/repos/"+sha[:2]+"/"+sha+"?X-Amz-Signature=fake")
		w.WriteHeader(http.StatusFound)
		return
	}
	etag := `"` + gitBlobSHA1(f.data) + `"`
	if f.weak {
		etag = "W/" + etag
	}
	w.Header().Set("ETag", etag)
	if r.Method == http.MethodGet && h.gzipGets {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(f.data)
		zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(z.Len()))
		w.Write(z.Bytes())
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(f.data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(f.data)
	}
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.cdnGets.Add(1)
	h.cdnAuth.Store(r.Header.Get("Authorization"))
	sha := filepath.Base(r.URL.Path)
	if h.cdnHook != nil && h.cdnHook(w, r, sha) {
		return
	}
	h.mu.Lock()
	data, ok := h.blobs[sha]
	h.mu.Unlock()
	if !ok || r.URL.Query().Get("X-Amz-Signature") == "" {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// gitBlobSHA1 is git's object id of a blob, the Hub's ETag for a regular file.
func gitBlobSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func commitOf(s string) string { return gitBlobSHA1([]byte("commit " + s)) } // 40 hex

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// hubTestEnv points every Hugging Face variable at a fresh folder (HF_HOME
// under a temporary HOME) and returns the hub cache in it.
func hubTestEnv(t *testing.T) string {
	t.Helper()
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_TOKEN",
		"HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT",
		"HF_HUB_DISABLE_IMPLICIT_TOKEN"} {
		t.Setenv(k, "")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("HF_HOME", filepath.Join(home, "hf"))
	return filepath.Join(home, "hf", "hub")
}

func modelFiles(seed uint64) map[string]fakeFile {
	return map[string]fakeFile{
		"config.json":            {data: []byte(`{"model_type": "llama", "hidden_size": 64}`)},
		"generation_config.json": {data: []byte(`{"eos_token_id": 2}`)},
		"tokenizer.json":         {data: []byte(`{"model": {"type": "BPE"}}`), weak: true},
		"tokenizer_config.json":  {data: []byte(`{"eos_token": "</s>"}`)},
		"model.safetensors":      {data: randomBytes(3<<20+123, seed), lfs: true},
		"README.md":              {data: []byte("# not fetched by default\n")},
	}
}

// checkSnapshot checks every file's content and that it is a relative
// symlink to ../../blobs/<etag> (more ../ for nested paths).
func checkSnapshot(t *testing.T, snap string, files map[string]fakeFile, names ...string) {
	t.Helper()
	for _, name := range names {
		f := files[name]
		p := filepath.Join(snap, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", name, len(got), err, len(f.data))
			continue
		}
		etag := gitBlobSHA1(f.data)
		if f.lfs {
			etag = sha256Hex(f.data)
		}
		want := strings.Repeat("../", 2+strings.Count(name, "/")) + "blobs/" + etag
		if link, err := os.Readlink(p); err != nil || filepath.ToSlash(link) != want {
			t.Errorf("%s links to %q (%v), want %q", name, link, err, want)
		}
	}
}

func noIncomplete(t *testing.T, cache string) {
	t.Helper()
	filepath.WalkDir(cache, func(p string, e os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".incomplete") || strings.HasSuffix(p, ".tmp")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestDownloadModelSet(t *testing.T) {
	cache := hubTestEnv(t)
	t.Setenv("HF_TOKEN", " tok-123\n")
	h := newFakeHub(t)
	files := modelFiles(1)
	c1 := commitOf("tiny-1")
	h.add("org/tiny", c1, files, "main")
	t.Setenv("HF_ENDPOINT", h.hub.URL+"/") // the trailing slash is dropped

	final := map[string][2]int64{}
	snap, err := Download(context.Background(), "org/tiny", DownloadOptions{
		Progress: func(file string, done, total int64) {
			if done > total && total >= 0 {
				t.Errorf("progress %s: %d of %d", file, done, total)
			}
			final[file] = [2]int64{done, total}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--org--tiny")
	if snap != filepath.Join(repoDir, "snapshots", c1) {
		t.Fatalf("snapshot %s", snap)
	}
	set := []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"}
	checkSnapshot(t, snap, files, set...)
	if _, err := os.Lstat(filepath.Join(snap, "README.md")); err == nil {
		t.Error("README.md fetched")
	}
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(b) != c1 {
		t.Errorf("refs/main = %q, %v; want %s without a newline", b, err, c1)
	}
	if _, err := os.Stat(filepath.Join(cache, "CACHEDIR.TAG")); err != nil {
		t.Error(err)
	}
	for _, name := range set {
		n := int64(len(files[name].data))
		if final[name] != [2]int64{n, n} {
			t.Errorf("last progress for %s: %v, want %d of %d", name, final[name], n, n)
		}
	}
	noIncomplete(t, cache)
	if err := CheckFiles(snap); err != nil {
		t.Error(err)
	}
	if dir, err := FindInHFCache("org/tiny"); err != nil || dir != snap {
		t.Errorf("FindInHFCache: %s, %v", dir, err)
	}
	if got := h.hubAuth.Load(); got != "Bearer tok-123" {
		t.Errorf("hub saw Authorization %q", got)
	}
	if got := h.cdnAuth.Load(); got != "" {
		t.Errorf("the token leaked to the CDN: %q", got)
	}
	if h.cdnGets.Load() != 1 {
		t.Errorf("%d CDN GETs, want 1", h.cdnGets.Load())
	}

	// Again: one HEAD to resolve main, no GET.
	heads, gets, cdnGets := h.heads.Load(), h.gets.Load(), h.cdnGets.Load()
	snap2, err := Download(context.Background(), "org/tiny", DownloadOptions{})
	if err != nil || snap2 != snap {
		t.Fatalf("second download: %s, %v", snap2, err)
	}
	if h.gets.Load() != gets || h.cdnGets.Load() != cdnGets || h.heads.Load() != heads+1 {
		t.Errorf("second download: %d HEAD, %d GET, %d CDN GET; want 1, 0, 0",
			h.heads.Load()-heads, h.gets.Load()-gets, h.cdnGets.Load()-cdnGets)
	}

	// A blob that is there (as another tool may leave it) is linked, not fetched.
	os.Remove(filepath.Join(snap, "model.safetensors"))
	cdnGets = h.cdnGets.Load()
	if _, err := Download(context.Background(), "org/tiny", DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	if h.cdnGets.Load() != cdnGets {
		t.Error("a cached blob was downloaded again")
	}
	checkSnapshot(t, snap, files, "model.safetensors")

	// main moves on: a new snapshot, refs/main follows, unchanged blobs are shared.
	files2 := modelFiles(1)
	files2["config.json"] = fakeFile{data: []byte(`{"model_type": "llama", "hidden_size": 128}`)}
	c2 := commitOf("tiny-2")
	h.add("org/tiny", c2, files2, "main")
	cdnGets = h.cdnGets.Load()
	snap3, err := Download(context.Background(), "org/tiny", DownloadOptions{})
	if err != nil || snap3 != filepath.Join(repoDir, "snapshots", c2) {
		t.Fatalf("after a push: %s, %v", snap3, err)
	}
	checkSnapshot(t, snap3, files2, set...)
	checkSnapshot(t, snap, files, set...)
	if h.cdnGets.Load() != cdnGets {
		t.Error("an unchanged LFS blob was downloaded again for the new commit")
	}
	if b, _ := os.ReadFile(filepath.Join(repoDir, "refs", "main")); string(b) != c2 {
		t.Errorf("refs/main = %q, want %s", b, c2)
	}
}

func TestDownloadShardedAndOptional(t *testing.T) {
	cache := hubTestEnv(t)
	h := newFakeHub(t)
	s1, s2 := randomBytes(1<<20, 2), randomBytes(1000, 3)
	index := `{"metadata": {"total_size": 1049576}, "weight_map": {
		"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
		"c": "model-00001-of-00002.safetensors"}}`
	files := map[string]fakeFile{
		"config.json":                      {data: []byte(`{}`)},
		"tokenizer.json":                   {data: []byte(`{}`)},
		"tokenizer_config.json":            {data: []byte(`{"a": 1}`)},
		"model.safetensors.index.json":     {data: []byte(index)},
		"model-00001-of-00002.safetensors": {data: s1, lfs: true},
		"model-00002-of-00002.safetensors": {data: s2, lfs: true},
	}
	c := commitOf("sharded")
	h.add("sharded", c, files, "main") // a repository id without an org
	opts := DownloadOptions{Endpoint: h.hub.URL}
	snap, err := Download(context.Background(), "sharded", opts)
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--sharded")
	if snap != filepath.Join(repoDir, "snapshots", c) {
		t.Fatalf("snapshot %s", snap)
	}
	checkSnapshot(t, snap, files, "config.json", "tokenizer.json", "tokenizer_config.json",
		"model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
	if err := CheckFiles(snap); err != nil {
		t.Error(err)
	}
	// The absences are recorded the way huggingface_hub records them.
	for _, f := range []string{"generation_config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(repoDir, ".no_exist", c, f)); err != nil {
			t.Errorf(".no_exist marker for %s: %v", f, err)
		}
		if _, err := os.Lstat(filepath.Join(snap, f)); err == nil {
			t.Errorf("%s is in the snapshot", f)
		}
	}
	if h.cdnGets.Load() != 2 {
		t.Errorf("%d CDN GETs, want 2", h.cdnGets.Load())
	}
	noIncomplete(t, cache)

	// Again: only the HEAD that resolves main; the markers save the 404s.
	heads, gets := h.heads.Load(), h.gets.Load()+h.cdnGets.Load()
	if _, err := Download(context.Background(), "sharded", opts); err != nil {
		t.Fatal(err)
	}
	if h.heads.Load() != heads+1 || h.gets.Load()+h.cdnGets.Load() != gets {
		t.Errorf("second download: %d HEAD, %d GET; want 1, 0", h.heads.Load()-heads, h.gets.Load()+h.cdnGets.Load()-gets)
	}

	// Offline, the index and its shards are what is checked.
	t.Setenv("HF_HUB_OFFLINE", "1")
	if dir, err := Download(context.Background(), "sharded", opts); err != nil || dir != snap {
		t.Errorf("offline: %s, %v", dir, err)
	}
	os.Remove(filepath.Join(snap, "model-00002-of-00002.safetensors"))
	if _, err := Download(context.Background(), "sharded", opts); err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Errorf("offline with a shard gone: %v", err)
	}
	t.Setenv("HF_HUB_OFFLINE", "")

	// An index naming a shard outside the repository is refused.
	h.add("evil/idx", c, map[string]fakeFile{
		"config.json": {data: []byte(`{}`)}, "tokenizer.json": {data: []byte(`{}`)}, "tokenizer_config.json": {data: []byte(`{}`)},
		"model.safetensors.index.json": {data: []byte(`{"weight_map": {"a": "../../../escape.safetensors"}}`)},
	}, "main")
	if _, err := Download(context.Background(), "evil/idx", opts); err == nil || !strings.Contains(err.Error(), "escape.safetensors") {
		t.Errorf("evil index: %v", err)
	}
	// Neither weights file: the error says so.
	h.add("org/noweights", c, map[string]fakeFile{
		"config.json": {data: []byte(`{}`)}, "tokenizer.json": {data: []byte(`{}`)}, "tokenizer_config.json": {data: []byte(`{}`)},
	}, "main")
	_, err = Download(context.Background(), "org/noweights", opts)
	if err == nil || !strings.Contains(err.Error(), "model.safetensors.index.json") || !strings.Contains(err.Error(), "EntryNotFound") {
		t.Errorf("no weights: %v", err)
	}
}

func TestDownloadRevisions(t *testing.T) {
	cache := hubTestEnv(t)
	h := newFakeHub(t)
	c1, c2, c3 := commitOf("r1"), commitOf("r2"), commitOf("r3")
	mk := func(v string) map[string]fakeFile {
		return map[string]fakeFile{
			"config.json":             {data: []byte(`{"v": "` + v + `"}`)},
			"sub/dir/extra.json":      {data: []byte(`{"nested": "` + v + `"}`)},
			"sub/weights.safetensors": {data: randomBytes(5000, 9), lfs: true},
		}
	}
	h.add("org/rev", c1, mk("1"), "v1.0")
	h.add("org/rev", c2, mk("2"), "main")
	h.add("org/rev", c3, mk("3"), "refs/pr/1")
	repoDir := filepath.Join(cache, "models--org--rev")
	names := []string{"config.json", "sub/dir/extra.json", "sub/weights.safetensors"}
	opts := func(rev string) DownloadOptions {
		return DownloadOptions{Endpoint: h.hub.URL, Revision: rev, Files: names}
	}

	snap, err := Download(context.Background(), "org/rev", opts("v1.0"))
	if err != nil || snap != filepath.Join(repoDir, "snapshots", c1) {
		t.Fatalf("v1.0: %s, %v", snap, err)
	}
	checkSnapshot(t, snap, mk("1"), names...)
	if b, _ := os.ReadFile(filepath.Join(repoDir, "refs", "v1.0")); string(b) != c1 {
		t.Errorf("refs/v1.0 = %q", b)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "refs", "main")); err == nil {
		t.Error("refs/main written for a tag download")
	}

	snap, err = Download(context.Background(), "org/rev", opts("refs/pr/1"))
	if err != nil || snap != filepath.Join(repoDir, "snapshots", c3) {
		t.Fatalf("refs/pr/1: %s, %v", snap, err)
	}
	checkSnapshot(t, snap, mk("3"), names...)
	if b, _ := os.ReadFile(filepath.Join(repoDir, "refs", "refs", "pr", "1")); string(b) != c3 {
		t.Errorf("refs/refs/pr/1 = %q", b)
	}
	if dir, err := FindInHFCacheRevision("org/rev", "refs/pr/1"); err != nil || dir != snap {
		t.Errorf("FindInHFCacheRevision(refs/pr/1): %s, %v", dir, err)
	}

	// A commit hash: no ref is written, and once cached, nothing is asked.
	snap, err = Download(context.Background(), "org/rev", opts(c2))
	if err != nil || snap != filepath.Join(repoDir, "snapshots", c2) {
		t.Fatalf("commit: %s, %v", snap, err)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "refs", c2)); err == nil {
		t.Error("a ref named after a commit hash")
	}
	n := h.requests()
	if _, err := Download(context.Background(), "org/rev", opts(c2)); err != nil {
		t.Fatal(err)
	}
	if h.requests() != n {
		t.Errorf("a cached commit made %d requests", h.requests()-n)
	}

	// Unknown revision and file: 404s that say which.
	_, err = Download(context.Background(), "org/rev", opts("nope"))
	var he *HubError
	if !errors.As(err, &he) || he.StatusCode != 404 || he.Code != "RevisionNotFound" || !strings.Contains(err.Error(), `"nope"`) ||
		!strings.Contains(err.Error(), h.hub.URL+"/org/rev/resolve/nope/config.json") {
		t.Errorf("unknown revision: %v", err)
	}
	_, err = Download(context.Background(), "org/rev", DownloadOptions{Endpoint: h.hub.URL, Files: []string{"config.json", "absent.bin"}})
	if !errors.As(err, &he) || he.File != "absent.bin" || !strings.Contains(err.Error(), "absent.bin") || !strings.Contains(err.Error(), "org/rev") {
		t.Errorf("absent file: %v", err)
	}
	// A failed download does not move refs/main.
	if _, err := os.Stat(filepath.Join(repoDir, "refs", "main")); err == nil {
		t.Error("refs/main written by a failed download")
	}
}

func TestDownloadOffline(t *testing.T) {
	cache := hubTestEnv(t)
	h := newFakeHub(t)
	files := modelFiles(4)
	c := commitOf("off")
	h.add("org/off", c, files, "main")
	opts := DownloadOptions{Endpoint: h.hub.URL}
	snap, err := Download(context.Background(), "org/off", opts)
	if err != nil {
		t.Fatal(err)
	}
	n := h.requests()
	for _, v := range []string{"1", "yes", "True", "ON"} {
		t.Setenv("HF_HUB_OFFLINE", v)
		if dir, err := Download(context.Background(), "org/off", opts); err != nil || dir != snap {
			t.Errorf("HF_HUB_OFFLINE=%s: %s, %v", v, dir, err)
		}
	}
	// Requested files that are not cached: the error lists them and the cache.
	_, err = Download(context.Background(), "org/off", DownloadOptions{Endpoint: h.hub.URL, Files: []string{"config.json", "README.md", "extra/vocab.txt"}})
	if err == nil || !strings.Contains(err.Error(), "README.md, extra/vocab.txt") || !strings.Contains(err.Error(), cache) ||
		strings.Contains(err.Error(), "config.json,") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline miss: %v", err)
	}
	// A repository that is not cached at all.
	_, err = Download(context.Background(), "org/never", opts)
	if err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), "model.safetensors") ||
		!strings.Contains(err.Error(), cache) || !strings.Contains(err.Error(), "models--org--never") {
		t.Errorf("offline, not cached: %v", err)
	}
	if h.requests() != n {
		t.Errorf("offline mode made %d requests", h.requests()-n)
	}
	// TRANSFORMERS_OFFLINE counts when HF_HUB_OFFLINE is unset, and falsy values are online.
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("TRANSFORMERS_OFFLINE", "1")
	if !hubOffline() {
		t.Error("TRANSFORMERS_OFFLINE=1 ignored")
	}
	t.Setenv("HF_HUB_OFFLINE", "0")
	if hubOffline() {
		t.Error("HF_HUB_OFFLINE=0 is offline")
	}
	for v, want := range map[string]bool{"1": true, "on": true, "Yes": true, "TRUE": true, "0": false, "": false, "no": false, " 1": false, "y": false} {
		if isTrueEnv(v) != want {
			t.Errorf("isTrueEnv(%q) = %v", v, !want)
		}
	}
}

func TestDownloadFallsBackToCacheWhenUnreachable(t *testing.T) {
	hubTestEnv(t)
	h := newFakeHub(t)
	h.add("org/fb", commitOf("fb"), modelFiles(5), "main")
	snap, err := Download(context.Background(), "org/fb", DownloadOptions{Endpoint: h.hub.URL})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := h.hub.URL
	h.hub.Close()
	if dir, err := Download(context.Background(), "org/fb", DownloadOptions{Endpoint: endpoint}); err != nil || dir != snap {
		t.Errorf("hub down, cached: %s, %v", dir, err)
	}
	_, err = Download(context.Background(), "org/other", DownloadOptions{Endpoint: endpoint})
	var he *HubError
	if !errors.As(err, &he) || he.StatusCode != 0 || he.Err == nil || !strings.Contains(err.Error(), endpoint+"/org/other/resolve/main/config.json") ||
		!strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("hub down, not cached: %v", err)
	}
}

func TestDownloadSizeAndHashMismatch(t *testing.T) {
	cache := hubTestEnv(t)
	h := newFakeHub(t)
	files := map[string]fakeFile{"config.json": {data: []byte(`{}`)}, "w.safetensors": {data: randomBytes(70000, 6), lfs: true}}
	h.add("org/bad", commitOf("bad"), files, "main")
	opts := DownloadOptions{Endpoint: h.hub.URL, Files: []string{"config.json", "w.safetensors"}}
	repoDir := filepath.Join(cache, "models--org--bad")
	nothingCached := func(what string) {
		t.Helper()
		entries, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
		for _, e := range entries {
			if e.Name() != gitBlobSHA1(files["config.json"].data) {
				t.Errorf("%s: blobs/%s left behind", what, e.Name())
			}
		}
		if _, err := os.Lstat(filepath.Join(repoDir, "snapshots", commitOf("bad"), "w.safetensors")); err == nil {
			t.Errorf("%s: snapshot link made", what)
		}
		if _, err := os.Stat(filepath.Join(repoDir, "refs", "main")); err == nil {
			t.Errorf("%s: refs/main written", what)
		}
	}

	h.sizeLie = 10 // the Hub announces 10 bytes more than the CDN sends
	_, err := Download(context.Background(), "org/bad", opts)
	if err == nil || !strings.Contains(err.Error(), "size mismatch") || !strings.Contains(err.Error(), "w.safetensors") ||
		!strings.Contains(err.Error(), "70000") || !strings.Contains(err.Error(), "org/bad/resolve/"+commitOf("bad")+"/w.safetensors") {
		t.Errorf("short body: %v", err)
	}
	nothingCached("short body")
	h.sizeLie = -10
	if _, err := Download(context.Background(), "org/bad", opts); err == nil || !strings.Contains(err.Error(), "size mismatch") {
		t.Errorf("long body: %v", err)
	}
	nothingCached("long body")

	h.sizeLie = 0
	h.cdnHook = func(w http.ResponseWriter, r *http.Request, sha string) bool {
		data := slices.Clone(files["w.safetensors"].data)
		data[100] ^= 1
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
		return true
	}
	if _, err := Download(context.Background(), "org/bad", opts); err == nil || !strings.Contains(err.Error(), "sha256 mismatch") ||
		!strings.Contains(err.Error(), sha256Hex(files["w.safetensors"].data)) {
		t.Errorf("corrupt body: %v", err)
	}
	nothingCached("corrupt body")

	h.cdnHook = nil
	if _, err := Download(context.Background(), "org/bad", opts); err != nil {
		t.Errorf("honest hub: %v", err)
	}
	noIncomplete(t, cache)
}

func TestDownloadCancelMidBody(t *testing.T) {
	cache := hubTestEnv(t)
	h := newFakeHub(t)
	big := randomBytes(4<<20, 7)
	c := commitOf("cancel")
	h.add("org/cancel", c, map[string]fakeFile{"config.json": {data: []byte(`{}`)}, "big.safetensors": {data: big, lfs: true}}, "main")
	sent := make(chan struct{})
	h.cdnHook = func(w http.ResponseWriter, r *http.Request, sha string) bool {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		w.Write(big[:len(big)/2])
		w.(http.Flusher).Flush()
		close(sent)
		<-r.Context().Done() // hang until the client goes away
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var incompleteSeen atomic.Bool
	blobs := filepath.Join(cache, "models--org--cancel", "blobs")
	start := time.Now()
	_, err := Download(ctx, "org/cancel", DownloadOptions{
		Endpoint: h.hub.URL,
		Files:    []string{"config.json", "big.safetensors"},
		Progress: func(file string, done, total int64) {
			if file == "big.safetensors" && done > 0 {
				once.Do(func() {
					entries, _ := os.ReadDir(blobs)
					for _, e := range entries {
						if strings.HasPrefix(e.Name(), sha256Hex(big)+".") && strings.HasSuffix(e.Name(), ".incomplete") {
							incompleteSeen.Store(true)
						}
					}
					go func() { <-sent; cancel() }()
				})
			}
		},
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "big.safetensors") {
		t.Fatalf("cancelled download: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if !incompleteSeen.Load() {
		t.Error("no blobs/<sha256>.*.incomplete while downloading")
	}
	entries, _ := os.ReadDir(blobs)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), sha256Hex(big)) {
			t.Errorf("blobs/%s left behind", e.Name())
		}
	}
	if _, err := os.Lstat(filepath.Join(cache, "models--org--cancel", "snapshots", c, "big.safetensors")); err == nil {
		t.Error("snapshot link made for a cancelled download")
	}
	// A context cancelled before the call makes no request.
	n := h.requests()
	if _, err := Download(ctx, "org/cancel", DownloadOptions{Endpoint: h.hub.URL}); !errors.Is(err, context.Canceled) || h.requests() != n {
		t.Errorf("cancelled before: %v, %d requests", err, h.requests()-n)
	}
}

func TestDownloadAuth(t *testing.T) {
	hubTestEnv(t)
	h := newFakeHub(t)
	h.add("org/gated", commitOf("g"), map[string]fakeFile{"config.json": {data: []byte(`{}`)}, "w.bin": {data: []byte("weights"), lfs: true}}, "main")
	h.mu.Lock()
	h.repos["org/gated"].token = "good-token"
	h.mu.Unlock()
	opts := DownloadOptions{Endpoint: h.hub.URL, Files: []string{"config.json", "w.bin"}}

	_, err := Download(context.Background(), "org/gated", opts)
	var he *HubError
	if !errors.As(err, &he) || he.StatusCode != 401 || he.Code != "GatedRepo" {
		t.Fatalf("no token: %v", err)
	}
	for _, want := range []string{"HF_TOKEN", "org/gated", "config.json", h.hub.URL + "/org/gated/resolve/main/config.json", "no token was sent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no token: %q lacks %q", err, want)
		}
	}
	t.Setenv("HF_TOKEN", "bad-token")
	if _, err := Download(context.Background(), "org/gated", opts); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("bad token: %v", err)
	}
	// An unknown repository is a 401 too (the Hub does not tell private from absent).
	if _, err := Download(context.Background(), "org/absent", opts); !errors.As(err, &he) || he.Code != "RepoNotFound" || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("unknown repo: %v", err)
	}

	// The token file `hf auth login` writes, in HF_HOME.
	t.Setenv("HF_TOKEN", "")
	home := os.Getenv("HF_HOME")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, "token"), []byte("good-token\n"), 0o600)
	if _, err := Download(context.Background(), "org/gated", opts); err != nil {
		t.Errorf("token file: %v", err)
	}
	if got := h.cdnAuth.Load(); got != "" {
		t.Errorf("the token leaked to the CDN: %q", got)
	}
	// HF_HUB_DISABLE_IMPLICIT_TOKEN stops it; an explicit Token still goes.
	t.Setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
	opts.Revision = commitOf("g")
	opts.Files = []string{"config.json", "w.bin", "missing"}
	if _, err := Download(context.Background(), "org/gated", opts); err == nil || !strings.Contains(err.Error(), "no token was sent") {
		t.Errorf("implicit token disabled: %v", err)
	}
	opts.Token = "good-token"
	if _, err := Download(context.Background(), "org/gated", opts); !errors.As(err, &he) || he.StatusCode != 404 || he.File != "missing" {
		t.Errorf("explicit token: %v", err)
	}
	// HF_TOKEN_PATH moves the token file.
	t.Setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "")
	tp := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tp, []byte("  from-path \r\n"), 0o600)
	t.Setenv("HF_TOKEN_PATH", tp)
	if got := implicitToken(); got != "from-path" {
		t.Errorf("HF_TOKEN_PATH token = %q", got)
	}
}

func TestDownloadRejectsBadInput(t *testing.T) {
	hubTestEnv(t)
	h := newFakeHub(t)
	for _, id := range []string{"", "a/b/c", "../x", "a/..", "a--b/c", "/abs", "a/b.git", "a b/c", "org/-x", "org/x.", "a/b?c", "a/b#c", "a/b%2f", "org/" + strings.Repeat("x", 97)} {
		if _, err := Download(context.Background(), id, DownloadOptions{Endpoint: h.hub.URL}); err == nil || !strings.Contains(err.Error(), "invalid repository id") {
			t.Errorf("Download(%q): %v", id, err)
		}
	}
	for _, rev := range []string{"../main", "a//b", "x\\y", "/main"} {
		if _, err := Download(context.Background(), "org/m", DownloadOptions{Endpoint: h.hub.URL, Revision: rev}); err == nil || !strings.Contains(err.Error(), "invalid revision") {
			t.Errorf("revision %q: %v", rev, err)
		}
	}
	for _, f := range []string{"../x", "/etc/passwd", "a/../../b", "a\\b", ""} {
		if _, err := Download(context.Background(), "org/m", DownloadOptions{Endpoint: h.hub.URL, Files: []string{f}}); err == nil || !strings.Contains(err.Error(), "invalid file name") {
			t.Errorf("file %q: %v", f, err)
		}
	}
	if _, err := Download(context.Background(), "org/m", DownloadOptions{Endpoint: h.hub.URL, Files: []string{}}); err == nil {
		t.Error("empty Files accepted")
	}
	if _, err := Download(context.Background(), "org/m", DownloadOptions{Endpoint: "ftp://x"}); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("bad endpoint: %v", err)
	}
	if n := h.requests(); n != 0 {
		t.Errorf("bad input made %d requests", n)
	}
	for _, id := range []string{"gpt2", "HuggingFaceTB/SmolLM2-135M-Instruct", "Qwen/Qwen2.5-0.5B", "a_b/c.d-e"} {
		if err := validHubRepoID(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestHFCacheDirExpandsVariables(t *testing.T) {
	hubTestEnv(t)
	base := t.TempDir()
	t.Setenv("GORAY_TEST_BASE", base)
	t.Setenv("HF_HOME", "$GORAY_TEST_BASE/hf")
	if dir, err := HFCacheDir(); err != nil || dir != filepath.Join(base, "hf", "hub") {
		t.Errorf("$VAR in HF_HOME: %s, %v", dir, err)
	}
	t.Setenv("HF_HUB_CACHE", "${GORAY_TEST_BASE}/c/$GORAY_TEST_UNSET_VAR")
	if dir, err := HFCacheDir(); err != nil || dir != base+"/c/$GORAY_TEST_UNSET_VAR" {
		t.Errorf("${VAR} and an unset $VAR in HF_HUB_CACHE: %s, %v", dir, err)
	}
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", base)
	if dir, err := HFCacheDir(); err != nil || dir != filepath.Join(base, "huggingface", "hub") {
		t.Errorf("XDG_CACHE_HOME: %s, %v", dir, err)
	}
	if p, err := hfHomeDir(); err != nil || p != filepath.Join(base, "huggingface") {
		t.Errorf("hfHomeDir: %s, %v", p, err)
	}
}

// hubPython finds a Python with huggingface_hub: the project venv (make
// venv, which make test builds) first, then the golden venv.
func hubPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"../../../.venv/bin/python", "../../../.venv-golden/bin/python"} {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if _, err := os.Stat(abs); err != nil {
			continue
		}
		if exec.Command(abs, "-c", "import huggingface_hub").Run() == nil {
			return abs
		}
	}
	t.Skip("no Python with huggingface_hub in .venv or .venv-golden (run `make venv`); skipping the check against huggingface_hub's cache reader")
	return ""
}

// TestDownloadInteropHuggingFaceHub has huggingface_hub read what Download
// wrote: try_to_load_from_cache must find each file at our snapshot path,
// and scan_cache_dir must list the repository with no warnings.
func TestDownloadInteropHuggingFaceHub(t *testing.T) {
	py := hubPython(t)
	cache := hubTestEnv(t)
	h := newFakeHub(t)
	files := modelFiles(8)
	delete(files, "generation_config.json")
	files["sub/dir/extra.json"] = fakeFile{data: []byte(`{"x": 1}`)}
	c1, c2 := commitOf("i1"), commitOf("i2")
	h.add("org/interop", c1, files, "v1")
	h.add("org/interop", c2, files, "main")
	snap, err := Download(context.Background(), "org/interop", DownloadOptions{Endpoint: h.hub.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Download(context.Background(), "org/interop", DownloadOptions{Endpoint: h.hub.URL, Files: []string{"sub/dir/extra.json"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Download(context.Background(), "org/interop", DownloadOptions{Endpoint: h.hub.URL, Revision: "v1", Files: []string{"config.json"}}); err != nil {
		t.Fatal(err)
	}
	names := []string{"config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors", "sub/dir/extra.json"}
	args := append([]string{"../../../tests/interop/hf_cache_check.py", cache, "org/interop"}, names...)
	args = append(args, "--no-exist", "generation_config.json")
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("hf_cache_check.py: %v\n%s\n%s", err, out, stderr)
	}
	var got struct {
		Version string `json:"huggingface_hub"`
		Files   map[string]struct {
			Path    *string `json:"path"`
			NoExist bool    `json:"no_exist"`
			Size    *int64  `json:"size"`
		} `json:"files"`
		Scan struct {
			Repos []struct {
				RepoID    string            `json:"repo_id"`
				NbFiles   int               `json:"nb_files"`
				Refs      map[string]string `json:"refs"`
				Revisions []struct {
					Commit string   `json:"commit_hash"`
					Files  []string `json:"files"`
				} `json:"revisions"`
			} `json:"repos"`
			Warnings []string `json:"warnings"`
		} `json:"scan"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("checked against huggingface_hub %s", got.Version)
	if len(got.Problems) > 0 {
		t.Errorf("problems: %q", got.Problems)
	}
	for _, n := range names {
		f := got.Files[n]
		if f.Path == nil || *f.Path != filepath.Join(snap, filepath.FromSlash(n)) || f.Size == nil || *f.Size != int64(len(files[n].data)) {
			t.Errorf("%s: huggingface_hub found %+v, want %s", n, f, filepath.Join(snap, n))
		}
	}
	if !got.Files["generation_config.json"].NoExist {
		t.Error("huggingface_hub does not see generation_config.json as known-absent")
	}
	if len(got.Scan.Repos) != 1 || got.Scan.Repos[0].RepoID != "org/interop" || len(got.Scan.Warnings) > 0 {
		t.Fatalf("scan_cache_dir: %+v", got.Scan)
	}
	r := got.Scan.Repos[0]
	if r.Refs["main"] != c2 || r.Refs["v1"] != c1 || len(r.Revisions) != 2 {
		t.Errorf("scan_cache_dir refs %v, %d revisions", r.Refs, len(r.Revisions))
	}
	// v1 has only config.json, the same content (blob) as main's: 5 blobs.
	if r.NbFiles != 5 {
		t.Errorf("scan_cache_dir counts %d blobs, want 5", r.NbFiles)
	}

	// And the other way: our reader finds what huggingface_hub lays out, here
	// at the revisions it reports.
	for ref, commit := range r.Refs {
		if dir, err := FindInHFCacheRevision("org/interop", ref); err != nil || filepath.Base(dir) != commit {
			t.Errorf("FindInHFCacheRevision(%s) = %s, %v; huggingface_hub says %s", ref, dir, err, commit)
		}
	}
}

func TestDownloadHeadMetadata(t *testing.T) {
	hubTestEnv(t)
	h := newFakeHub(t)
	files := modelFiles(10)
	c := commitOf("meta")
	h.add("org/meta", c, files, "main")
	d := &downloader{repo: "org/meta", rev: "main", endpoint: h.hub.URL, client: http.DefaultClient}
	hc := *d.client
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.headClient = &hc

	// A regular file: the git etag (W/ and quotes stripped), Content-Length, the resolve URL.
	u := d.resolveURL("main", "tokenizer.json")
	m, err := d.head(context.Background(), u, "tokenizer.json")
	if err != nil || m.commit != c || m.etag != gitBlobSHA1(files["tokenizer.json"].data) ||
		m.size != int64(len(files["tokenizer.json"].data)) || m.location != u {
		t.Errorf("regular file: %+v, %v", m, err)
	}
	// An LFS file: the redirect is not followed; X-Linked-* win over ETag.
	m, err = d.head(context.Background(), d.resolveURL("main", "model.safetensors"), "model.safetensors")
	if err != nil || m.etag != sha256Hex(files["model.safetensors"].data) ||
		m.size != int64(len(files["model.safetensors"].data)) || !strings.HasPrefix(m.location, h.cdn.URL+"/") {
		t.Errorf("LFS file: %+v, %v", m, err)
	}
	if h.cdnGets.Load() != 0 {
		t.Error("HEAD followed the redirect to the CDN")
	}
	if got := d.resolveURL("refs/pr/1", "a b/c#.json"); got != h.hub.URL+"/org/meta/resolve/refs%2Fpr%2F1/a%20b/c%23.json" {
		t.Errorf("resolveURL: %s", got)
	}
	for in, want := range map[string]string{`"abc"`: "abc", `W/"abc"`: "abc", "abc": "abc", "": ""} {
		if got := normalizeEtag(in); got != want {
			t.Errorf("normalizeEtag(%q) = %q", in, got)
		}
	}

	// A proxy that gzips anyway: the body is decoded and checked against the real size.
	h.gzipGets = true
	snap, err := Download(context.Background(), "org/meta", DownloadOptions{Endpoint: h.hub.URL, Files: []string{"config.json", "tokenizer.json"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, "config.json", "tokenizer.json")
}

func TestDownloadStalledBody(t *testing.T) {
	cache := hubTestEnv(t)
	old := stallTimeout
	stallTimeout = 200 * time.Millisecond
	t.Cleanup(func() { stallTimeout = old })
	h := newFakeHub(t)
	data := randomBytes(100000, 11)
	h.add("org/stall", commitOf("s"), map[string]fakeFile{"w.bin": {data: data, lfs: true}}, "main")
	h.cdnHook = func(w http.ResponseWriter, r *http.Request, sha string) bool {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	}
	start := time.Now()
	_, err := Download(context.Background(), "org/stall", DownloadOptions{Endpoint: h.hub.URL, Files: []string{"w.bin"}})
	var he *HubError
	if !errors.As(err, &he) || he.StatusCode != 0 || !strings.Contains(err.Error(), "no data for") || !strings.Contains(err.Error(), "after 1000 bytes") {
		t.Errorf("stalled body: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stall was noticed after %v", d)
	}
	noIncomplete(t, cache)
}
