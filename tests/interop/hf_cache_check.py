#!/usr/bin/env python3
"""Check a Hugging Face cache entry written by goray's weights.Download with
huggingface_hub itself, the reference reader.

    hf_cache_check.py CACHE_DIR REPO_ID FILE... [--revision REV] [--no-exist FILE]...

For each FILE, `try_to_load_from_cache(REPO_ID, FILE, cache_dir=CACHE_DIR,
revision=REV)` must return a path to a readable file inside
CACHE_DIR/models--Org--Name/snapshots/; for each --no-exist FILE it must
return huggingface_hub's "cached as absent" marker (the .no_exist/ entry
huggingface_hub writes after a 404). `scan_cache_dir(CACHE_DIR)` must list
REPO_ID with no warnings (a broken symlink, a ref to a missing snapshot, a
stray file in snapshots/ all show up there).

Prints one JSON object (what huggingface_hub saw, and "problems": a list of
strings, empty when all is well) and exits 0 when there are no problems, 1
otherwise, 2 on bad usage. Nothing touches the network: HF_HUB_OFFLINE is
set before huggingface_hub is imported.

Run it with a Python that has huggingface_hub, e.g. .venv-golden/bin/python
(`make golden`); the Go test TestDownloadInteropHuggingFaceHub in
raylib/infer/weights runs it after a download.
"""

import argparse
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import huggingface_hub  # noqa: E402
from huggingface_hub import scan_cache_dir, try_to_load_from_cache  # noqa: E402
from huggingface_hub.file_download import _CACHED_NO_EXIST  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache_dir")
    ap.add_argument("repo_id")
    ap.add_argument("files", nargs="*")
    ap.add_argument("--revision", default=None)
    ap.add_argument("--no-exist", action="append", default=[], dest="no_exist")
    args = ap.parse_args()
    if not args.files and not args.no_exist:
        ap.error("name at least one FILE or --no-exist FILE")

    problems: list[str] = []
    cache_dir = os.path.abspath(args.cache_dir)
    snapshots = os.path.join(cache_dir, "models--" + args.repo_id.replace("/", "--"), "snapshots")

    files = {}
    for name in args.files:
        got = try_to_load_from_cache(args.repo_id, name, cache_dir=cache_dir, revision=args.revision)
        entry = {"path": None, "no_exist": got is _CACHED_NO_EXIST, "size": None}
        if isinstance(got, str):
            entry["path"] = got
            if os.path.commonpath([os.path.abspath(got), snapshots]) != snapshots:
                problems.append(f"{name}: {got} is not under {snapshots}")
            elif not os.path.isfile(got):
                problems.append(f"{name}: {got} is not a readable file")
            else:
                entry["size"] = os.path.getsize(got)
                entry["realpath"] = os.path.realpath(got)
        else:
            problems.append(f"{name}: try_to_load_from_cache returned {'the no-exist marker' if entry['no_exist'] else 'None'}")
        files[name] = entry
    for name in args.no_exist:
        got = try_to_load_from_cache(args.repo_id, name, cache_dir=cache_dir, revision=args.revision)
        files[name] = {"path": got if isinstance(got, str) else None, "no_exist": got is _CACHED_NO_EXIST, "size": None}
        if got is not _CACHED_NO_EXIST:
            problems.append(f"{name}: want the no-exist marker, try_to_load_from_cache returned {got!r}")

    scan = {"repos": [], "warnings": [], "incomplete_files": []}
    try:
        info = scan_cache_dir(cache_dir)
    except Exception as e:  # CacheNotFound, ValueError
        problems.append(f"scan_cache_dir: {type(e).__name__}: {e}")
    else:
        scan["warnings"] = [str(w) for w in info.warnings]
        scan["incomplete_files"] = sorted(str(f.file_path) for f in getattr(info, "incomplete_files", ()))
        for repo in sorted(info.repos, key=lambda r: r.repo_id):
            scan["repos"].append(
                {
                    "repo_id": repo.repo_id,
                    "repo_type": repo.repo_type,
                    "nb_files": repo.nb_files,
                    "size_on_disk": repo.size_on_disk,
                    "refs": {ref: rev.commit_hash for ref, rev in sorted(repo.refs.items())},
                    "revisions": [
                        {
                            "commit_hash": rev.commit_hash,
                            "refs": sorted(rev.refs),
                            "files": sorted(
                                os.path.relpath(str(f.file_path), str(rev.snapshot_path)).replace(os.sep, "/")
                                for f in rev.files
                            ),
                        }
                        for rev in sorted(repo.revisions, key=lambda r: r.commit_hash)
                    ],
                }
            )
        for w in scan["warnings"]:
            problems.append(f"scan_cache_dir warning: {w}")
        for f in scan["incomplete_files"]:
            problems.append(f"scan_cache_dir: incomplete download left behind: {f}")
        if not any(r["repo_id"] == args.repo_id and r["repo_type"] == "model" for r in scan["repos"]):
            problems.append(f"scan_cache_dir does not list model {args.repo_id}")

    print(
        json.dumps(
            {
                "huggingface_hub": huggingface_hub.__version__,
                "cache_dir": cache_dir,
                "repo_id": args.repo_id,
                "revision": args.revision,
                "files": files,
                "scan": scan,
                "problems": problems,
            },
            indent=2,
            sort_keys=True,
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
