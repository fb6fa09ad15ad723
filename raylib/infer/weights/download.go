package weights

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Downloading follows huggingface_hub's file_download.py (checked against
// huggingface_hub 2.4.0) so that the Python tools find what we fetch and we
// find what they fetched: one cache, one layout, the same environment
// variables.

const (
	defaultHubEndpoint = "https://huggingface.co"

	// staleIncomplete is how old an abandoned .incomplete file must be
	// before a new download of the same blob deletes it. Live downloads
	// (ours or Python's) write every few milliseconds.
	staleIncomplete = time.Hour
)

// stallTimeout aborts a body read that has received nothing for this long.
// The client has no overall timeout (a 10 GB shard takes as long as it
// takes), so without it a dead connection could hang forever. A variable
// for the tests.
var stallTimeout = 2 * time.Minute

// DownloadOptions says what [Download] fetches and how.
type DownloadOptions struct {
	// Revision is a branch, tag or commit hash; "" means "main".
	Revision string
	// Files lists the repository files to fetch (paths with "/"). nil
	// means the model set: config.json, generation_config.json (skipped
	// if the repository has none), tokenizer.json, tokenizer_config.json,
	// and model.safetensors or, if there is none, model.safetensors.index.json
	// and every shard its weight_map names. Listed files are fetched as
	// they are; an index listed here does not pull in its shards.
	Files []string
	// Endpoint is the Hub's base URL; "" means $HF_ENDPOINT or
	// https://huggingface.co.
	Endpoint string
	// Token is sent as "Authorization: Bearer" for gated and private
	// repositories. "" means $HF_TOKEN (or the legacy
	// $HUGGING_FACE_HUB_TOKEN), else the token file written by
	// `hf auth login` ($HF_TOKEN_PATH, default $HF_HOME/token, that is
	// ~/.cache/huggingface/token), unless HF_HUB_DISABLE_IMPLICIT_TOKEN
	// is set.
	Token string
	// Client makes the requests; nil means a shared client that honours
	// the proxy variables, with connect and response-header timeouts but
	// no overall timeout. Either way a body that stalls for 2 minutes is
	// abandoned.
	Client *http.Client
	// Progress, if set, is called as each file's bytes arrive (done so
	// far, total or -1 if unknown) and once with done == total when a
	// file is complete, also when it was already cached. It is called
	// from the goroutine that called Download.
	Progress func(file string, done, total int64)
}

// Download fetches a model repository's files from the Hugging Face Hub into
// the local Hugging Face cache ([HFCacheDir]) and returns the snapshot
// folder, <cache>/models--Org--Name/snapshots/<commit>, which then holds
// every requested file (as symlinks into ../../blobs).
//
// The cache is huggingface_hub's own: blobs/<etag> holds the content (the
// etag is the sha256 for LFS files, the git blob id otherwise),
// snapshots/<commit>/<path> links to it, refs/<revision> names the commit a
// branch or tag resolved to. Python tools (transformers, `hf download`) see
// these files and Download reuses theirs: a file whose snapshot link is
// already there is not fetched again, and a blob already there is only
// linked. Asking for a commit hash whose files are all cached makes no
// request at all; a branch or tag costs one HEAD request to learn its
// current commit.
//
// Each file is first written to blobs/<etag>.<random>.incomplete, checked
// against the size the Hub announced (and the sha256 for LFS files) and only
// then renamed into place and linked, so a failed, cancelled or concurrent
// download never leaves a complete-looking file behind. refs/<revision> is
// updated only once every file is in place, so an interrupted update leaves
// the previous snapshot in use.
//
// With HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1, ON, YES or TRUE,
// nothing touches the network: Download returns the cached snapshot if every
// requested file is there and otherwise an error listing what is missing.
// When online, if the Hub cannot be reached (or refuses with 401, 403, 429
// or a 5xx) but everything is cached, the cached snapshot is returned, as
// huggingface_hub does.
//
// Request failures are [*HubError] values naming the repository, file and
// URL; ctx cancels everything, mid-file included.
func Download(ctx context.Context, repoID string, opts DownloadOptions) (snapshotDir string, err error) {
	if err := validHubRepoID(repoID); err != nil {
		return "", err
	}
	rev := opts.Revision
	if rev == "" {
		rev = "main"
	}
	if err := validRevision(rev); err != nil {
		return "", err
	}
	for _, f := range opts.Files {
		if err := validRepoFile(f); err != nil {
			return "", fmt.Errorf("weights: download %s: %w", repoID, err)
		}
	}
	if opts.Files != nil && len(opts.Files) == 0 {
		return "", fmt.Errorf("weights: download %s: DownloadOptions.Files is empty (use nil for the model files)", repoID)
	}
	cache, err := HFCacheDir()
	if err != nil {
		return "", err
	}
	d := &downloader{
		repo:     repoID,
		rev:      rev,
		files:    opts.Files,
		cache:    cache,
		repoDir:  filepath.Join(cache, repoFolderName(repoID)),
		progress: opts.Progress,
	}
	if hubOffline() {
		return d.fromCache("HF_HUB_OFFLINE is set, so nothing is downloaded")
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("weights: download %s: %w", repoID, err)
	}

	d.endpoint = opts.Endpoint
	if d.endpoint == "" {
		d.endpoint = os.Getenv("HF_ENDPOINT")
	}
	if d.endpoint == "" {
		d.endpoint = defaultHubEndpoint
	}
	d.endpoint = strings.TrimRight(d.endpoint, "/")
	if u, err := url.Parse(d.endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("weights: invalid Hub endpoint %q (from DownloadOptions.Endpoint or HF_ENDPOINT), want http(s)://host", d.endpoint)
	}
	d.token = opts.Token
	if d.token == "" && !isTrueEnv(os.Getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
		d.token = implicitToken()
	}
	d.client = opts.Client
	if d.client == nil {
		d.client = defaultHubClient()
	}
	// HEAD must see the Hub's redirect itself: for LFS files the metadata
	// (X-Linked-Etag, X-Linked-Size) is on the redirect, not on the CDN's
	// answer. Copying the client keeps its transport and cookies.
	hc := *d.client
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.headClient = &hc

	// A commit is immutable: if all of it is cached (for the model set,
	// generation_config.json too, or known to be absent), there is nothing
	// to ask.
	if commitHashRE.MatchString(rev) {
		snap := filepath.Join(d.repoDir, "snapshots", rev)
		if isDir(snap) && len(d.missingIn(snap)) == 0 && (d.files != nil ||
			fileExists(filepath.Join(snap, GenerationConfigFile)) || fileExists(d.noExistPath(rev, GenerationConfigFile))) {
			return snap, nil
		}
	}
	return d.run(ctx)
}

// HubError is a failed request to the Hub (or a mirror at HF_ENDPOINT).
type HubError struct {
	Repo     string // repository id
	Revision string // revision asked for
	File     string // file in the repository
	URL      string // the resolve URL that was requested
	// StatusCode is the HTTP status, 0 when no answer came (Err says why).
	StatusCode int
	// Code and Message are the Hub's X-Error-Code (RepoNotFound,
	// RevisionNotFound, EntryNotFound, GatedRepo, ...) and
	// X-Error-Message headers, when it sent them.
	Code, Message string
	Err           error // the network error, if any
	tokenSent     bool
	commit        string // X-Repo-Commit of an error answer (a 404 carries it)
	cdnHost       string // set when the download host the Hub redirected to failed
}

func (e *HubError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "weights: download %s from %s (revision %s): ", e.File, e.Repo, e.Revision)
	if e.StatusCode == 0 {
		fmt.Fprintf(&b, "%s: %v (is the network up? with HF_HUB_OFFLINE=1 only the cache is used)", e.URL, e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.cdnHost != "" {
		fmt.Fprintf(&b, "; this came from the download host %s the Hub redirected to (an expired link? try again)", e.cdnHost)
		return b.String()
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden || e.Code == "GatedRepo":
		if e.tokenSent {
			b.WriteString("; the repository is gated or private, or does not exist, and the token sent was refused: check that HF_TOKEN (or the token from `hf auth login`) is valid and has read access, and for a gated model that its terms are accepted on the model page")
		} else {
			b.WriteString("; the repository is gated or private, or does not exist, and no token was sent: set HF_TOKEN to a Hugging Face access token with read access (or run `hf auth login`), and for a gated model accept its terms on the model page")
		}
	case e.StatusCode == http.StatusNotFound:
		switch e.Code {
		case "RepoNotFound":
			b.WriteString("; repository not found (if it is private, set HF_TOKEN)")
		case "RevisionNotFound":
			fmt.Fprintf(&b, "; revision %q not found", e.Revision)
		case "EntryNotFound":
			fmt.Fprintf(&b, "; the repository has no file %s at this revision", e.File)
		default:
			b.WriteString("; the repository, the revision or the file does not exist")
		}
	}
	return b.String()
}

func (e *HubError) Unwrap() error { return e.Err }

// fileNotFound is a 404 that means the file is missing (as opposed to the
// repository or revision); a 404 without X-Error-Code (a plain mirror) counts.
func (e *HubError) fileNotFound() bool {
	return e.StatusCode == http.StatusNotFound && (e.Code == "" || e.Code == "EntryNotFound")
}

// fallbackOK says whether huggingface_hub would fall back to the cache after
// this failure: no answer, or an answer that says nothing about the file
// (auth, rate limit, server error). A 404 is an answer and is reported.
func (e *HubError) fallbackOK() bool {
	switch {
	case e.StatusCode == 0:
		return true
	case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden,
		e.StatusCode == http.StatusTooManyRequests, e.StatusCode >= 500:
		return true
	}
	return false
}

type downloader struct {
	repo, rev       string
	files           []string
	cache, repoDir  string
	endpoint, token string
	client          *http.Client
	headClient      *http.Client
	progress        func(file string, done, total int64)
	commit          string // what rev resolved to, once known
}

type fileMeta struct {
	commit   string
	etag     string
	size     int64  // -1 when unknown
	location string // where to GET: the resolve URL or the CDN URL it redirects to
}

func (d *downloader) run(ctx context.Context) (string, error) {
	err := d.fetchAll(ctx)
	if err != nil {
		var he *HubError
		if d.commit == "" && ctx.Err() == nil && errors.As(err, &he) && he.fallbackOK() {
			// The revision could not even be resolved: use the cache if it
			// has everything, as huggingface_hub does, else report the
			// network's error, which says more than "not cached".
			if snap, cerr := d.fromCache(""); cerr == nil {
				return snap, nil
			}
		}
		return "", err
	}
	if d.rev != d.commit {
		if err := writeRef(d.repoDir, d.rev, d.commit); err != nil {
			return "", err
		}
	}
	writeCacheDirTag(d.cache)
	return d.snapshot(), nil
}

func (d *downloader) snapshot() string { return filepath.Join(d.repoDir, "snapshots", d.commit) }

func (d *downloader) fetchAll(ctx context.Context) error {
	if d.files != nil {
		for _, f := range d.files {
			if _, err := d.fetch(ctx, f, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range []struct {
		name     string
		optional bool
	}{{ConfigFile, false}, {GenerationConfigFile, true}, {TokenizerFile, false}, {TokenizerConfigFile, false}} {
		if _, err := d.fetch(ctx, f.name, f.optional); err != nil {
			return err
		}
	}
	found, err := d.fetch(ctx, SafetensorsFile, true)
	if err != nil || found {
		return err
	}
	if _, err := d.fetch(ctx, SafetensorsIndexFile, false); err != nil {
		return fmt.Errorf("weights: download %s: the repository has no %s, and its %s could not be fetched either: %w",
			d.repo, SafetensorsFile, SafetensorsIndexFile, err)
	}
	shards, err := readShardNames(filepath.Join(d.snapshot(), SafetensorsIndexFile))
	if err != nil {
		return fmt.Errorf("weights: download %s: %w", d.repo, err)
	}
	for _, s := range shards {
		if _, err := d.fetch(ctx, s, false); err != nil {
			return err
		}
	}
	return nil
}

// readShardNames reads an index's weight_map and checks the shard names,
// which come from the network and become paths.
func readShardNames(p string) ([]string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var ix SafetensorsIndex
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	shards := ix.Shards()
	if len(shards) == 0 {
		return nil, fmt.Errorf("%s has an empty weight_map", p)
	}
	for _, s := range shards {
		if err := validRepoFile(s); err != nil {
			return nil, fmt.Errorf("%s names a bad shard: %w", p, err)
		}
	}
	return shards, nil
}

// fetch makes sure snapshots/<commit>/<file> is there. With optional, a
// file the Hub says does not exist is skipped (found == false) and
// recorded under .no_exist/<commit>/, as huggingface_hub does.
func (d *downloader) fetch(ctx context.Context, file string, optional bool) (found bool, err error) {
	if d.commit != "" {
		// The commit is known, and its content immutable: a present link
		// (or a recorded absence) answers without asking.
		p := filepath.Join(d.snapshot(), filepath.FromSlash(file))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			d.report(file, st.Size(), st.Size())
			return true, nil
		}
		if optional && fileExists(d.noExistPath(d.commit, file)) {
			return false, nil
		}
	}
	rev := d.rev
	if d.commit != "" {
		// Pin the remaining files to the commit the first one came from,
		// so that a push in the middle cannot mix two revisions.
		rev = d.commit
	}
	resolve := d.resolveURL(rev, file)
	meta, err := d.head(ctx, resolve, file)
	if err != nil {
		var he *HubError
		if optional && errors.As(err, &he) && he.fileNotFound() {
			if c := he.commit; c != "" && validCommitDir(c) == nil {
				if d.commit == "" {
					d.commit = c
				}
				if c == d.commit {
					d.markNoExist(c, file)
				}
			}
			return false, nil
		}
		return false, err
	}
	if d.commit == "" {
		d.commit = meta.commit
	} else if meta.commit != d.commit {
		return false, fmt.Errorf("weights: download %s from %s: %s answered with commit %s, but the files so far came from commit %s",
			file, d.repo, resolve, meta.commit, d.commit)
	}
	pointer := filepath.Join(d.snapshot(), filepath.FromSlash(file))
	if st, err := os.Stat(pointer); err == nil && st.Mode().IsRegular() && (meta.size < 0 || st.Size() == meta.size) {
		d.report(file, st.Size(), st.Size())
		return true, nil
	}
	blobs := filepath.Join(d.repoDir, "blobs")
	blob := filepath.Join(blobs, meta.etag)
	if st, err := os.Stat(blob); err != nil || !st.Mode().IsRegular() || (meta.size >= 0 && st.Size() != meta.size) {
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return false, fmt.Errorf("weights: download %s from %s: %w", file, d.repo, err)
		}
		if err := d.get(ctx, file, resolve, meta, blob); err != nil {
			return false, err
		}
	} else {
		d.report(file, st.Size(), st.Size())
	}
	if err := linkBlob(blob, pointer); err != nil {
		return false, fmt.Errorf("weights: download %s from %s: %w", file, d.repo, err)
	}
	return true, nil
}

func (d *downloader) report(file string, done, total int64) {
	if d.progress != nil {
		d.progress(file, done, total)
	}
}

// resolveURL is hf_hub_url: {endpoint}/{repo}/resolve/{revision}/{file},
// the revision escaped whole (refs/pr/1 -> refs%2Fpr%2F1), the file per
// segment.
func (d *downloader) resolveURL(rev, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return d.endpoint + "/" + d.repo + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(segs, "/")
}

func (d *downloader) setHeaders(req *http.Request, auth bool) {
	req.Header.Set("User-Agent", "goray-weights/1 ("+runtime.Version()+"; huggingface_hub-compatible)")
	// The real size, not a compressed one: it is checked against the
	// announced size, and Go's transport would otherwise gzip and hide it.
	req.Header.Set("Accept-Encoding", "identity")
	if auth && d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
}

// head asks for a file's metadata without downloading it. Redirects within
// the Hub (a renamed repository) are followed; a redirect elsewhere (the
// LFS/Xet CDN) is where the content is, and its response carries the
// metadata.
func (d *downloader) head(ctx context.Context, resolve, file string) (*fileMeta, error) {
	target := resolve
	for range 10 {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
		if err != nil {
			return nil, fmt.Errorf("weights: download %s from %s: %w", file, d.repo, err)
		}
		d.setHeaders(req, true)
		resp, err := d.headClient.Do(req)
		if err != nil {
			return nil, d.netError(ctx, file, resolve, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return nil, d.statusError(file, resolve, resp)
		}
		meta := &fileMeta{
			commit: resp.Header.Get("X-Repo-Commit"),
			etag:   normalizeEtag(firstHeader(resp.Header, "X-Linked-Etag", "ETag")),
			size:   -1,
		}
		redirect := resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != ""
		if redirect {
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("weights: download %s from %s: %s redirects to a bad URL: %w", file, d.repo, resolve, err)
			}
			next := req.URL.ResolveReference(loc).String()
			if d.hubOrigin(next) {
				target = next
				continue
			}
			meta.location = next
		} else {
			meta.location = target
		}
		if v := resp.Header.Get("X-Linked-Size"); v != "" {
			meta.size, _ = strconv.ParseInt(v, 10, 64)
		} else if !redirect {
			if v := resp.Header.Get("Content-Length"); v != "" {
				meta.size, _ = strconv.ParseInt(v, 10, 64)
			} else if resp.ContentLength >= 0 {
				meta.size = resp.ContentLength
			}
		}
		if meta.size < -1 {
			meta.size = -1
		}
		if meta.commit == "" {
			return nil, fmt.Errorf("weights: download %s from %s: the answer from %s has no X-Repo-Commit header, so it does not come from a Hugging Face Hub; if HF_ENDPOINT is set, check that it points to a Hub, else check proxy and firewall settings",
				file, d.repo, resolve)
		}
		if err := validCommitDir(meta.commit); err != nil {
			return nil, fmt.Errorf("weights: download %s from %s: %s: X-Repo-Commit %w", file, d.repo, resolve, err)
		}
		if meta.etag == "" {
			return nil, fmt.Errorf("weights: download %s from %s: the answer from %s has no ETag, so the file cannot be cached reliably", file, d.repo, resolve)
		}
		if err := validEtag(meta.etag); err != nil {
			return nil, fmt.Errorf("weights: download %s from %s: %s: %w", file, d.repo, resolve, err)
		}
		return meta, nil
	}
	return nil, fmt.Errorf("weights: download %s from %s: %s: more than 10 redirects", file, d.repo, resolve)
}

// hubOrigin says whether u is served by the endpoint or the Hub itself:
// the token may go there, and not to a CDN.
func (d *downloader) hubOrigin(u string) bool {
	o := urlOrigin(u)
	for _, h := range []string{d.endpoint, defaultHubEndpoint, "https://hf.co"} {
		if o == urlOrigin(h) {
			return true
		}
	}
	return false
}

func urlOrigin(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// get downloads one blob to a private .incomplete file, checks it and
// renames it to blob.
func (d *downloader) get(ctx context.Context, file, resolve string, meta *fileMeta, blob string) (err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("weights: download %s from %s (%s): %s; nothing was cached", file, d.repo, resolve, fmt.Sprintf(format, args...))
	}
	removeStaleIncomplete(blob)
	tmp, err := createIncomplete(blob)
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	// A watchdog cancels the request if the body stops flowing.
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errStalled := fmt.Errorf("no data for %v", stallTimeout)
	watchdog := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(rctx, http.MethodGet, meta.location, nil)
	if err != nil {
		return fail("%v", err)
	}
	d.setHeaders(req, d.hubOrigin(meta.location))
	resp, err := d.client.Do(req)
	if err != nil {
		return d.netError(rctx, file, resolve, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		he := d.statusError(file, resolve, resp)
		if !d.hubOrigin(meta.location) {
			he.cdnHost = urlOrigin(meta.location)
		}
		return he
	}
	if resp.StatusCode != http.StatusOK {
		return fail("GET answered HTTP %d, want 200", resp.StatusCode)
	}
	var body io.Reader = resp.Body
	total := meta.size
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
		if total < 0 && resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
	case "gzip":
		// Asked for identity, got gzip anyway (some proxies): undo it.
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fail("bad gzip body: %v", err)
		}
		body = zr
	default:
		return fail("the server sent Content-Encoding %q", enc)
	}

	var sum hash.Hash
	if sha256RE.MatchString(meta.etag) {
		// An LFS file's etag is its sha256: check the bytes, not just
		// their count.
		sum = sha256.New()
	}
	d.report(file, 0, total)
	buf := make([]byte, 1<<20)
	var done int64
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			watchdog.Reset(stallTimeout)
			if _, werr := tmp.Write(buf[:n]); werr != nil {
				return fail("%v", werr)
			}
			if sum != nil {
				sum.Write(buf[:n])
			}
			done += int64(n)
			if total >= 0 && done > total {
				return fail("size mismatch: received more than the %d bytes announced", total)
			}
			d.report(file, done, total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("weights: download %s from %s: %w", file, d.repo, ctx.Err())
			}
			if cause := context.Cause(rctx); cause != nil {
				rerr = cause
			}
			return &HubError{Repo: d.repo, Revision: d.rev, File: file, URL: resolve,
				Err: fmt.Errorf("reading the body after %d bytes: %w", done, rerr)}
		}
	}
	if total >= 0 && done != total {
		return fail("size mismatch: received %d bytes, want %d", done, total)
	}
	if total < 0 {
		d.report(file, done, done) // the promised final call, now that the size is known
	}
	if sum != nil {
		if got := hex.EncodeToString(sum.Sum(nil)); got != meta.etag {
			return fail("sha256 mismatch: got %s, want %s", got, meta.etag)
		}
	}
	if err := tmp.Close(); err != nil {
		return fail("%v", err)
	}
	if err := os.Rename(tmp.Name(), blob); err != nil {
		return fail("%v", err)
	}
	return nil
}

func (d *downloader) netError(ctx context.Context, file, resolve string, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, ctx.Err()) {
			err = cause // the stall watchdog
		} else {
			return fmt.Errorf("weights: download %s from %s: %w", file, d.repo, ctx.Err())
		}
	}
	return &HubError{Repo: d.repo, Revision: d.rev, File: file, URL: resolve, Err: err}
}

func (d *downloader) statusError(file, resolve string, resp *http.Response) *HubError {
	return &HubError{
		Repo: d.repo, Revision: d.rev, File: file, URL: resolve,
		StatusCode: resp.StatusCode,
		Code:       resp.Header.Get("X-Error-Code"),
		Message:    resp.Header.Get("X-Error-Message"),
		tokenSent:  d.token != "",
		commit:     resp.Header.Get("X-Repo-Commit"),
	}
}

func (d *downloader) noExistPath(commit, file string) string {
	return filepath.Join(d.repoDir, ".no_exist", commit, filepath.FromSlash(file))
}

// markNoExist records that file is absent at commit, as huggingface_hub
// does; its try_to_load_from_cache then knows not to ask. Best effort.
func (d *downloader) markNoExist(commit, file string) {
	p := d.noExistPath(commit, file)
	if os.MkdirAll(filepath.Dir(p), 0o755) == nil {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
}

// fromCache is the offline path: the snapshot FindInHFCacheRevision picks,
// if it holds every requested file.
func (d *downloader) fromCache(why string) (string, error) {
	if why == "" {
		why = "the Hub could not be reached"
	}
	snap, err := FindInHFCacheRevision(d.repo, d.rev)
	if err != nil {
		return "", fmt.Errorf("weights: %s, and %s (revision %s) is not in the Hugging Face cache %s: missing %s: %w",
			why, d.repo, d.rev, d.cache, strings.Join(d.wanted(), ", "), err)
	}
	if missing := d.missingIn(snap); len(missing) > 0 {
		return "", fmt.Errorf("weights: %s, and the cached snapshot %s of %s (revision %s, Hugging Face cache %s) is incomplete: missing %s",
			why, snap, d.repo, d.rev, d.cache, strings.Join(missing, ", "))
	}
	return snap, nil
}

func (d *downloader) wanted() []string {
	if d.files != nil {
		return d.files
	}
	return []string{ConfigFile, TokenizerFile, TokenizerConfigFile, SafetensorsFile + " (or " + SafetensorsIndexFile + " and its shards)"}
}

// missingIn lists the requested files that snap lacks. In the model set,
// generation_config.json is optional, and the weights are model.safetensors
// or the index and every shard it names.
func (d *downloader) missingIn(snap string) []string {
	var missing []string
	need := func(f string) bool {
		if fileExists(filepath.Join(snap, filepath.FromSlash(f))) {
			return true
		}
		missing = append(missing, f)
		return false
	}
	if d.files != nil {
		for _, f := range d.files {
			need(f)
		}
		return missing
	}
	need(ConfigFile)
	need(TokenizerFile)
	need(TokenizerConfigFile)
	switch {
	case fileExists(filepath.Join(snap, SafetensorsFile)):
	case fileExists(filepath.Join(snap, SafetensorsIndexFile)):
		shards, err := readShardNames(filepath.Join(snap, SafetensorsIndexFile))
		if err != nil {
			missing = append(missing, fmt.Sprintf("a readable %s (%v)", SafetensorsIndexFile, err))
		}
		for _, s := range shards {
			need(s)
		}
	default:
		missing = append(missing, SafetensorsFile+" (or "+SafetensorsIndexFile+" and its shards)")
	}
	return missing
}

// createIncomplete opens blobs/<etag>.<random>.incomplete. The name is
// huggingface_hub 2.x's: unique per download, so two processes fetching the
// same blob cannot write into one file, and still *.incomplete, which
// scan_cache_dir reports as an interrupted download. Mode 0666 less the
// umask, like any file the user creates, so a shared cache stays shared.
func createIncomplete(blob string) (*os.File, error) {
	var r [4]byte
	for range 10 {
		rand.Read(r[:])
		f, err := os.OpenFile(blob+"."+hex.EncodeToString(r[:])+".incomplete", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("cannot create a temporary file beside %s", blob)
}

// removeStaleIncomplete deletes partial downloads of blob that nothing has
// written to for an hour: left by a killed process, they would otherwise
// pile up (each attempt writes its own).
func removeStaleIncomplete(blob string) {
	dir, etag := filepath.Split(blob)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, etag+".") || !strings.HasSuffix(n, ".incomplete") {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > staleIncomplete {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// linkBlob points pointer at blob with a relative symlink
// (../../blobs/<etag>, one more ../ per folder in the file's path), so the
// cache can be moved. The link is made under a temporary name and renamed,
// so it appears whole or not at all. Where symlinks are unavailable
// (Windows without developer mode) a hard link or, failing that, a copy
// stands in, like huggingface_hub's fallback.
func linkBlob(blob, pointer string) error {
	dir := filepath.Dir(pointer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, blob)
	if err != nil {
		return err
	}
	var r [4]byte
	rand.Read(r[:])
	tmp := pointer + "." + hex.EncodeToString(r[:]) + ".tmp"
	if err := os.Symlink(rel, tmp); err != nil {
		if lerr := os.Link(blob, tmp); lerr != nil {
			if cerr := copyFile(blob, tmp); cerr != nil {
				os.Remove(tmp)
				return fmt.Errorf("cannot link %s to %s: %v; %v; %v", pointer, blob, err, lerr, cerr)
			}
		}
	}
	if err := os.Rename(tmp, pointer); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeRef records that revision resolved to commit, in refs/<revision>,
// without a trailing newline: huggingface_hub compares the file's content
// with the commit as is. Written atomically, and only when it changes, so a
// read-only cache that is up to date still works.
func writeRef(repoDir, revision, commit string) error {
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if b, err := os.ReadFile(p); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("weights: cannot record refs/%s: %w", revision, err)
	}
	var r [4]byte
	rand.Read(r[:])
	tmp := p + "." + hex.EncodeToString(r[:]) + ".tmp"
	if err := os.WriteFile(tmp, []byte(commit), 0o644); err != nil {
		return fmt.Errorf("weights: cannot record refs/%s: %w", revision, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("weights: cannot record refs/%s: %w", revision, err)
	}
	return nil
}

// cacheDirTag is huggingface_hub's CACHEDIR.TAG (bford.info/cachedir), which
// tells backup tools to skip the cache.
const cacheDirTag = "Signature: 8a477f597d28d172789f06886806bc55\n" +
	"# This file is a cache directory tag created by huggingface_hub.\n" +
	"# For information about cache directory tags, see:\n" +
	"#\thttps://bford.info/cachedir/\n"

func writeCacheDirTag(cache string) {
	p := filepath.Join(cache, "CACHEDIR.TAG")
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		os.WriteFile(p, []byte(cacheDirTag), 0o644)
	}
}

var (
	commitHashRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256RE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hubNameRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,96}$`)
)

// validHubRepoID is validRepoID plus huggingface_hub's validate_repo_id:
// letters, digits, '_', '.', '-'; no leading or trailing '.' or '-'; no
// "--", ".." or ".git" suffix. Checked before any request, as the id
// becomes both a URL path and a folder name.
func validHubRepoID(id string) error {
	if err := validRepoID(id); err != nil {
		return err
	}
	bad := fmt.Errorf("weights: invalid repository id %q: want \"org/name\" of letters, digits, '_', '.' and '-', not starting or ending with '.' or '-', without \"--\", \"..\" or a \".git\" suffix", id)
	if strings.Contains(id, "..") || strings.HasSuffix(id, ".git") {
		return bad
	}
	for _, p := range strings.Split(id, "/") {
		if !hubNameRE.MatchString(p) || strings.Trim(p, ".-") != p {
			return bad
		}
	}
	return nil
}

// validRevision rejects revisions that would escape refs/ or snapshots/.
func validRevision(rev string) error {
	for _, s := range strings.Split(rev, "/") {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\\\x00") {
			return fmt.Errorf("weights: invalid revision %q", rev)
		}
	}
	return nil
}

// validRepoFile is _validate_relative_filename: a relative "/" path with no
// "..", since it becomes a path under snapshots/<commit>/.
func validRepoFile(f string) error {
	if f == "" || path.IsAbs(f) || strings.ContainsAny(f, "\\\x00") || filepath.VolumeName(f) != "" {
		return fmt.Errorf("invalid file name %q: want a relative path inside the repository", f)
	}
	for _, s := range strings.Split(f, "/") {
		if s == "" || s == "." || s == ".." || strings.Contains(s, ":") && runtime.GOOS == "windows" {
			return fmt.Errorf("invalid file name %q: want a relative path inside the repository", f)
		}
	}
	return nil
}

// validCommitDir checks a commit hash from the server before it names a folder.
func validCommitDir(c string) error {
	if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "/\\\x00") {
		return fmt.Errorf("%q is not a usable commit hash", c)
	}
	return nil
}

// validEtag checks an etag before it names a blob file.
func validEtag(e string) error {
	if e == "" || strings.HasPrefix(e, ".") || strings.ContainsAny(e, "/\\\x00") {
		return fmt.Errorf("ETag %q cannot name a blob file", e)
	}
	return nil
}

// normalizeEtag is _normalize_etag: without W/ and quotes.
func normalizeEtag(e string) string {
	return strings.Trim(strings.TrimPrefix(e, "W/"), `"`)
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// repoFolderName is repo_folder_name for models: models--org--name.
func repoFolderName(repoID string) string {
	return "models--" + strings.ReplaceAll(repoID, "/", "--")
}

// isTrueEnv is huggingface_hub's _is_true.
func isTrueEnv(v string) bool {
	switch strings.ToUpper(v) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// hubOffline is constants.HF_HUB_OFFLINE: HF_HUB_OFFLINE, or, when that is
// unset or empty, TRANSFORMERS_OFFLINE.
func hubOffline() bool {
	v := os.Getenv("HF_HUB_OFFLINE")
	if v == "" {
		v = os.Getenv("TRANSFORMERS_OFFLINE")
	}
	return isTrueEnv(v)
}

// implicitToken is get_token without the Colab and OIDC sources: $HF_TOKEN,
// $HUGGING_FACE_HUB_TOKEN, then the token file.
func implicitToken() string {
	v := os.Getenv("HF_TOKEN")
	if v == "" {
		v = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	if t := cleanToken(v); t != "" {
		return t
	}
	p := os.Getenv("HF_TOKEN_PATH")
	if p != "" {
		p, _ = expandPath(p)
	} else if home, err := hfHomeDir(); err == nil {
		p = filepath.Join(home, "token")
	}
	if p == "" {
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return cleanToken(string(b))
}

func cleanToken(t string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(t))
}

var defaultHubClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
})
