"""The vector index at 10k, 100k and 1M chunks: build time, latency, recall, memory.

**Vectors.** Real: the chunk vectors of ``bench/out/wiki-store`` (all 10,033 Wikipedia
summaries ingested by citebot; built by the first benchmark that needs it). A size n ≤ R
(R = real chunks) takes the first n real vectors. Larger sets keep all R real vectors and
add perturbed copies: position i ≥ R is a copy of real vector ``(i − R) mod R``::

    x' = normalize(x + σ · z Aᵀ),   z ~ N(0, I₃₈₄),  A = V·diag(√λ)

where V, λ are the eigenvectors/values of the covariance of the real vectors (so the noise
has the shape of the data, not an isotropic cloud), the generator is
``numpy.random.default_rng(seed + copy number)`` (``--seed``, default 7), and σ is
calibrated (bisection on 2,000 real vectors) so that the median cosine between a copy and
its source equals the median cosine between a real chunk and its nearest other real chunk.
A copy is therefore as close to its source as real neighbours are to each other; the
report shows the resulting nearest-neighbour cosines and query top-1/top-10 similarities
at each size next to the real ones.

**Queries.** ``--queries`` (default 1000) last sentences of summaries (seeded sample),
embedded once with citebot's ``Embedder`` (cached in ``bench/out/scale/``). Latencies
are single-query calls at k=10 *excluding embedding*. Ground truth: exact inner-product
top-10 (``faiss.IndexFlatIP``, batch) on the same vectors; recall@10 = |returned ∩ exact| / 10.

**Index types.** ``flat``, ``ivf-sq8`` (searched with every ``--nprobe``) and ``hnsw``,
each built with ``index.vectors.VectorIndex.build`` and searched with
``VectorIndex.search`` (citebot's own code path, including its result objects). ``naive``
is the straightforward pipeline a user would write: ``faiss.IndexFlatIP`` + a Python list
of the passage texts (search, then ``[texts[i] for i in ids]``); its texts are distinct
``str`` objects made by cycling the real chunk texts. citebot keeps texts in SQLite on
disk instead.

**Memory.** Each (size, type) runs in its own child process. *RSS Δ* = RSS after the
build with the input array freed (``malloc_trim``) minus RSS before the vectors were
made: the live memory of the index (plus the text list for ``naive``). *serialized* =
``faiss.serialize_index`` size (``VectorIndex.memory_bytes``). *RSS Δ reloaded* = the same
after replacing the index by ``deserialize(serialize(index))``, as a process that opens
the snapshot has it (FAISS grows its lists by doubling while adding, so a freshly built
IVF/HNSW index holds slack). *peak* = VmHWM of the child (input array + index + build
temporaries).

**End-to-end Store** (``--store-size``, default 100,000 chunks): copies of the real
articles (same texts, offsets and chunk structure; vectors generated as above) written
with ``Store.apply`` in batches of precomputed vectors, then ``Store.save`` and
``Store.maybe_migrate`` (as ``ingest`` ends: under ``auto`` above ``flat_limit`` the
index is rebuilt as IVF-SQ8), then, in a fresh process,
``Store.open`` + ``Searcher.search_vector`` (dense/lexical/hybrid, k=10): bytes per chunk
on disk (catalogue + WAL + FAISS snapshot) and in RAM (RSS Δ of opening the store and
running the queries). The real 10k store is measured the same way.

``ivf-sq8-store`` (not in the default ``--kinds``) builds the IVF index the way
``Store._rebuild_locked`` does: trained on the first 50,000 vectors (its first
``_iter_all_vectors`` batch, so nlist = 4·√50,000 = 894), the rest added after.

**Flat→IVF threshold** (``--sweep``): flat and ivf-sq8 (nprobe 16 and 32) at more sizes,
to find where flat's p50 passes ~3 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

SCALE = Path(os.environ.get("BENCH_SCALE_DIR", bc.OUT / "scale"))  # override for trial runs
K = 10
DIM = 384


# -- data -----------------------------------------------------------------------------------
def real_cache() -> tuple[Path, Path]:
    return SCALE / "real.npy", SCALE / "real_chunks.json"


def prepare_real() -> int:
    """Cache the wiki-store's chunk vectors and chunk/article texts under bench/out/scale/."""
    import sqlite3

    import numpy as np

    vec_path, meta_path = real_cache()
    if vec_path.exists() and meta_path.exists():
        return int(np.load(vec_path, mmap_mode="r").shape[0])
    bc.ensure_wiki_store(bc.eprint)
    SCALE.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(bc.WIKI_STORE / "catalogue.sqlite3")
    rows = db.execute('SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.text, c.vector FROM chunks c ORDER BY c.id').fetchall()
    arts = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, title, text FROM articles").fetchall()}
    db.close()
    vecs = np.vstack([np.frombuffer(r[6], dtype=np.float32) for r in rows])
    np.save(vec_path, vecs)
    chunks = [{"article_id": r[1], "ordinal": r[2], "start": r[3], "end": r[4], "text": r[5]} for r in rows]
    articles = {k: {"title": v[0], "text": v[1]} for k, v in arts.items()}
    meta_path.write_text(json.dumps({"chunks": chunks, "articles": articles}, ensure_ascii=False))
    return len(rows)


def prepare_queries(n: int, seed: int) -> Path:
    """Embed ``n`` held-out last sentences once; cache vectors and texts."""
    import numpy as np

    path = SCALE / f"queries-{n}-{seed}.npz"
    if path.exists():
        return path
    from index import Embedder

    wiki = bc.heldout_split(bc.load_wiki())
    pool = [w for w in wiki if w["query"]]
    texts = [w["query"] for w in bc.sample(pool, n, seed)]
    vecs = Embedder().encode(texts)
    np.savez(path, vectors=vecs, texts=np.array(texts, dtype=object))
    return path


def load_queries(path: str):
    import numpy as np

    z = np.load(path, allow_pickle=True)
    return z["vectors"].astype("float32"), list(z["texts"])


def noise_factor(real):
    """A = V·diag(√λ) of the real vectors' covariance (noise z·Aᵀ has that covariance)."""
    import numpy as np

    cov = np.cov(real.astype(np.float64), rowvar=False)
    lam, vecs = np.linalg.eigh(cov)
    lam = np.clip(lam, 0, None)
    return (vecs * np.sqrt(lam)).astype(np.float32)


def perturb(src, sigma: float, A, rng):
    import numpy as np

    z = rng.standard_normal(src.shape, dtype=np.float32)
    x = src + sigma * (z @ A.T)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def make_vectors(n: int, real, sigma: float, seed: int, A=None):
    """The benchmark's n vectors (see the module docstring). Deterministic."""
    import numpy as np

    R = len(real)
    if n <= R:
        return np.ascontiguousarray(real[:n])
    A = noise_factor(real) if A is None else A
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[:R] = real
    pos, copy = R, 1
    while pos < n:
        m = min(R, n - pos)
        out[pos : pos + m] = perturb(real[:m], sigma, A, np.random.default_rng(seed + copy))
        pos += m
        copy += 1
    return out


def nn_cos_real(real, sample_n: int = 0):
    """Cosine of each real vector (or a sample) to its nearest other real vector."""
    import numpy as np

    idx = np.arange(len(real)) if not sample_n else np.random.default_rng(0).choice(len(real), sample_n, replace=False)
    out = np.empty(len(idx), dtype=np.float32)
    for s in range(0, len(idx), 2000):
        block = idx[s : s + 2000]
        sims = real[block] @ real.T
        sims[np.arange(len(block)), block] = -1
        out[s : s + len(block)] = sims.max(1)
    return out


def calibrate_sigma(real, target: float) -> float:
    """σ such that the median cos(copy, source) over 2,000 real vectors equals ``target``."""
    import numpy as np

    A = noise_factor(real)
    src = real[np.random.default_rng(1).choice(len(real), min(2000, len(real)), replace=False)]
    lo, hi = 0.0, 10.0
    for _ in range(40):
        mid = (lo + hi) / 2
        x = perturb(src, mid, A, np.random.default_rng(2))
        med = float(np.median((x * src).sum(1)))
        if med > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# -- child phases ---------------------------------------------------------------------------
def _setup(args: dict):
    import numpy as np

    bc.trim_heap()
    real = np.load(real_cache()[0])
    qv, qt = load_queries(args["queries"])
    return real, qv, qt


def phase_gt(args: dict) -> dict:
    """Exact top-10 of the queries, and neighbour statistics, for size n."""
    import faiss
    import numpy as np

    real, qv, _ = _setup(args)
    n = args["n"]
    X = make_vectors(n, real, args["sigma"], args["seed"])
    index = faiss.IndexFlatIP(DIM)
    index.add(X)
    D, ids = index.search(qv, K)
    np.save(args["gt_path"], ids)
    sample = np.random.default_rng(3).choice(n, min(1000, n), replace=False)
    Ds, Is = index.search(X[sample], 2)
    nn = np.where(Is[:, 0] == sample, Ds[:, 1], Ds[:, 0])
    q = lambda a, p: float(np.percentile(a, p))  # noqa: E731
    return {
        "nn_cos_p10": q(nn, 10), "nn_cos_p50": q(nn, 50), "nn_cos_p90": q(nn, 90),
        "q_top1_p50": q(D[:, 0], 50), "q_top10_p50": q(D[:, K - 1], 50),
        "q_gap_1_10_p50": q(D[:, 0] - D[:, K - 1], 50),
    }


def _time_queries(fn, qv, warmup: int = 50):
    pc = time.perf_counter
    for q in qv[:warmup]:
        fn(q)
    times, results = [], []
    for q in qv:
        t = pc()
        r = fn(q)
        times.append(pc() - t)
        results.append(r)
    return times, results


def _recall(results, gt) -> float:
    total = 0
    for got, exact in zip(results, gt, strict=True):
        total += len(set(got) & set(int(x) for x in exact if x >= 0))
    return total / (len(gt) * K)


def phase_index(args: dict) -> dict:
    import faiss
    import numpy as np

    from index.vectors import VectorIndex

    real, qv, _ = _setup(args)
    n, kind = args["n"], args["kind"]
    nq = args["n_queries"]
    qv = qv[:nq]
    gt = np.load(args["gt_path"])[:nq]
    texts_src = None
    if kind == "naive":
        meta = json.loads(real_cache()[1].read_text())
        texts_src = [c["text"] for c in meta["chunks"]]
        del meta
    bc.trim_heap()
    rss0 = bc.rss_mb()
    X = make_vectors(n, real, args["sigma"], args["seed"])
    out: dict = {"n": n, "kind": kind}
    t0 = time.perf_counter()
    if kind == "naive":
        R = len(texts_src)
        t_texts = time.perf_counter()
        rss_t0 = bc.rss_mb()
        # distinct str objects, as a user loading n passages would have
        texts = [texts_src[i % R].encode("utf-8").decode("utf-8") for i in range(n)]
        out["texts_s"] = time.perf_counter() - t_texts
        out["texts_rss_mb"] = bc.rss_mb() - rss_t0
        t0 = time.perf_counter()
        index = faiss.IndexFlatIP(DIM)
        index.add(X)

        def search(q):
            _, ids = index.search(q.reshape(1, -1), K)
            _ = [texts[i] for i in ids[0] if i >= 0]
            return [int(i) for i in ids[0]]
    elif kind == "ivf-sq8-store":
        # as Store._rebuild_locked builds it (index/store.py:425-429): VectorIndex.build on the
        # first batch of _iter_all_vectors (50,000 lowest chunk ids), then add() the rest
        ids_all = np.arange(n, dtype=np.int64)
        vi = VectorIndex.build("ivf-sq8", DIM, X[:50_000], ids_all[:50_000], nprobe=16)
        for s0 in range(50_000, n, 50_000):
            vi.add(X[s0 : s0 + 50_000], ids_all[s0 : s0 + 50_000])

        def search(q):
            return [h.chunk_id for h in vi.search(q, K)]
    else:
        vi = VectorIndex.build(kind, DIM, X, np.arange(n, dtype=np.int64), nprobe=16)

        def search(q):
            return [h.chunk_id for h in vi.search(q, K)]
    out["build_s"] = time.perf_counter() - t0
    del X
    bc.trim_heap()
    out["rss_delta_mb"] = bc.rss_mb() - rss0
    out["peak_rss_mb"] = bc.peak_rss_mb()
    runs = []
    default_threads = faiss.omp_get_max_threads()
    for threads in args["faiss_threads"]:
        nt = default_threads if threads == 0 else threads
        faiss.omp_set_num_threads(nt)
        tlabel = f"{nt}" + (" (default)" if nt == default_threads else "")
        if kind.startswith("ivf-sq8"):
            out["nlist"] = int(vi._index.nlist)
            for nprobe in args["nprobes"]:
                vi.nprobe = nprobe
                times, res = _time_queries(search, qv)
                runs.append({"param": f"nprobe={nprobe}", "threads": tlabel, **bc.latency_summary_ms(times),
                             "recall@10": _recall(res, gt)})
        elif kind == "hnsw":
            h = faiss.downcast_index(vi._index.index).hnsw
            for ef in args["efs"]:
                h.efSearch = ef
                times, res = _time_queries(search, qv)
                runs.append({"param": f"efSearch={ef}" + (" (default)" if ef == 64 else ""), "threads": tlabel,
                             **bc.latency_summary_ms(times), "recall@10": _recall(res, gt)})
        else:
            times, res = _time_queries(search, qv)
            runs.append({"param": "", "threads": tlabel, **bc.latency_summary_ms(times), "recall@10": _recall(res, gt)})
    faiss.omp_set_num_threads(default_threads)
    out["runs"] = runs
    out["serialized_bytes"] = int(faiss.serialize_index(index).nbytes) if kind == "naive" else vi.memory_bytes()
    if kind != "naive":
        # what a process that reads the snapshot holds: no growth slack in the lists
        del res
        bc.trim_heap()
        buf = faiss.serialize_index(vi._index)
        vi._index = None
        bc.trim_heap()
        vi._index = faiss.deserialize_index(buf)
        del buf
        bc.trim_heap()
        out["rss_delta_reloaded_mb"] = bc.rss_mb() - rss0
    return out


def _store_articles(n_target: int, meta: dict):
    """Copies of the real articles (whole articles, in chunk-id order) up to n_target chunks."""
    from index.chunking import Chunk
    from index.loaders import Article

    by_article: dict[str, list[dict]] = {}
    order: list[str] = []
    for c in meta["chunks"]:
        if c["article_id"] not in by_article:
            by_article[c["article_id"]] = []
            order.append(c["article_id"])
        by_article[c["article_id"]].append(c)
    total, copy = 0, 0
    while total < n_target:
        for aid in order:
            chunks = by_article[aid]
            if total + len(chunks) > n_target:
                return
            new_id = aid if copy == 0 else f"{aid}~{copy}"
            a = meta["articles"][aid]
            art = Article(id=new_id, title=a["title"], text=a["text"], source=bc.WIKI_SOURCE, origin="bench_scale")
            yield art, [Chunk(new_id, c["ordinal"], c["start"], c["end"], c["text"]) for c in chunks]
            total += len(chunks)
        copy += 1


def phase_store_build(args: dict) -> dict:
    import numpy as np

    from index import Settings, Store
    from index.store import PreparedArticle

    real, _, _ = _setup(args)
    meta = json.loads(real_cache()[1].read_text())
    n = args["n"]
    data_dir = Path(args["data_dir"])
    shutil.rmtree(data_dir, ignore_errors=True)
    X = make_vectors(n, real, args["sigma"], args["seed"])
    store = Store.open(Settings(data_dir=data_dir, quotes=False))
    t0 = time.perf_counter()
    batch, pos, n_chunks, n_articles, apply_s = [], 0, 0, 0, 0.0
    for art, chunks in _store_articles(n, meta):
        batch.append(PreparedArticle(art, chunks, X[pos : pos + len(chunks)], []))
        pos += len(chunks)
        if sum(len(p.chunks) for p in batch) >= args["batch"]:
            t = time.perf_counter()
            store.apply(batch)
            apply_s += time.perf_counter() - t
            n_articles += len(batch)
            batch = []
    if batch:
        t = time.perf_counter()
        store.apply(batch)
        apply_s += time.perf_counter() - t
        n_articles += len(batch)
    t = time.perf_counter()
    store.save()
    save_s = time.perf_counter() - t
    t = time.perf_counter()
    migrated = store.maybe_migrate() if args.get("migrate", True) else None  # as ingest() ends
    migrate_s = time.perf_counter() - t
    stats = store.stats()
    store.close()
    n_chunks = stats.chunks
    assert np.isfinite(apply_s)
    return {"chunks": n_chunks, "articles": n_articles, "apply_s": apply_s, "save_s": save_s,
            "total_s": time.perf_counter() - t0, "index_type": stats.index_type, "migrated_to": migrated,
            "migrate_s": migrate_s}


def phase_store_search(args: dict) -> dict:
    from index import Searcher, Settings, Store

    _, qv, qt = _setup(args)
    nq = args["n_queries"]
    qv, qt = qv[:nq], qt[:nq]
    data_dir = Path(args["data_dir"])
    bc.trim_heap()
    rss0 = bc.rss_mb()
    t = time.perf_counter()
    store = Store.open(Settings(data_dir=data_dir))
    open_s = time.perf_counter() - t
    rss_open = bc.rss_mb()
    import faiss

    searcher = Searcher(store, embedder=None)  # search_vector does not use the model
    default_threads = faiss.omp_get_max_threads()
    threads = [default_threads if t == 0 else t for t in args["faiss_threads"]]
    configs = [(m, t) for t in threads for m in ("dense", "lexical", "hybrid")]
    for q, v in zip(qt[:30], qv[:30], strict=True):
        for m, t in configs:
            faiss.omp_set_num_threads(t)
            searcher.search_vector(q, v, K, m)
    times = {c: [] for c in configs}
    pc = time.perf_counter
    for i, (q, v) in enumerate(zip(qt, qv, strict=True)):
        j = i % len(configs)
        for c in configs[j:] + configs[:j]:
            faiss.omp_set_num_threads(c[1])
            t = pc()
            searcher.search_vector(q, v, K, c[0])
            times[c].append(pc() - t)
    faiss.omp_set_num_threads(default_threads)
    rss_end = bc.rss_mb()
    stats = store.stats()
    files = {p.name: p.stat().st_size for p in data_dir.iterdir() if p.is_file()}
    store.close()
    return {
        "chunks": stats.chunks, "articles": stats.articles, "index_type": stats.index_type,
        "index_bytes": stats.index_bytes, "files": files, "disk_bytes": sum(files.values()),
        "open_s": open_s, "rss_open_delta_mb": rss_open - rss0, "rss_end_delta_mb": rss_end - rss0,
        "latency": {f"{m}@{t}": bc.latency_summary_ms(ts) for (m, t), ts in times.items()},
        "threads": threads,
    }


# -- parent ---------------------------------------------------------------------------------
def parse_sizes(s: str) -> list[int]:
    out = []
    for part in s.split(","):
        part = part.strip().lower()
        if not part:
            continue
        mult = 1
        if part.endswith("k"):
            mult, part = 1000, part[:-1]
        elif part.endswith("m"):
            mult, part = 1_000_000, part[:-1]
        out.append(int(float(part) * mult))
    return out


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def main() -> None:
    if bc.phase_main({"gt": phase_gt, "index": phase_index, "store_build": phase_store_build,
                      "store_search": phase_store_search}):
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1M", help="index sizes (default 10k,100k,1M)")
    ap.add_argument("--kinds", default="flat,ivf-sq8,hnsw,naive", help="types to run (default flat,ivf-sq8,hnsw,naive)")
    ap.add_argument("--nprobe", default="8,16,32,64", help="IVF nprobe values (default 8,16,32,64)")
    ap.add_argument("--ef", default="64,128", help="HNSW efSearch values (default 64,128; 64 is citebot's)")
    ap.add_argument("--hnsw-max", type=parse_sizes, default=[100_000], metavar="N",
                    help="skip hnsw above N vectors (default 100k: its 1M build takes too long on 2 cores)")
    ap.add_argument("--queries", type=int, default=1000, help="queries (default 1000)")
    ap.add_argument("--faiss-threads", default="0,1",
                    help="FAISS OpenMP threads for the searches, 0 = FAISS's default (all cores); default '0,1'")
    ap.add_argument("--slow-queries", type=int, default=200,
                    help="queries for flat/naive at ≥ 500k vectors, where each takes ~0.1 s (default 200)")
    ap.add_argument("--seed", type=int, default=7, help="perturbation seed (default 7)")
    ap.add_argument("--store-size", type=parse_sizes, default=[100_000], metavar="N",
                    help="chunks in the end-to-end Store test (default 100k; 0 skips)")
    ap.add_argument("--store-queries", type=int, default=300, help="queries per mode in the Store test (default 300)")
    ap.add_argument("--sweep", default="25k,50k,200k", help="extra sizes for the flat→IVF threshold (default 25k,50k,200k; '' skips)")
    ap.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    args = ap.parse_args()

    import numpy as np

    from index.settings import Settings

    hw = bc.hardware()
    script = str(Path(__file__).resolve())
    SCALE.mkdir(parents=True, exist_ok=True)
    R = prepare_real()
    real = np.load(real_cache()[0])
    qpath = prepare_queries(args.queries, 2)
    nn_real = nn_cos_real(real)
    target = float(np.median(nn_real))
    sigma = calibrate_sigma(real, target)
    bc.eprint(f"{R:,} real vectors; median real NN cosine {target:.3f}; σ = {sigma:.3f}")
    sizes = parse_sizes(args.sizes)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    nprobes = [int(x) for x in args.nprobe.split(",") if x.strip()]
    efs = [int(x) for x in args.ef.split(",") if x.strip()]
    fthreads = [int(x) for x in args.faiss_threads.split(",") if x.strip()]
    sweep = parse_sizes(args.sweep) if args.sweep else []
    common = {"sigma": sigma, "seed": args.seed, "queries": str(qpath)}
    results: list[dict] = []
    neigh: dict[int, dict] = {}
    t_all = time.perf_counter()

    def gt_for(n: int) -> str:
        p = SCALE / f"gt-{n}-{args.seed}-{args.queries}-{sigma:.4f}.npy"
        if not p.exists() or n not in neigh:
            bc.eprint(f"[{label(n)}] exact ground truth …")
            neigh[n] = bc.run_phase(script, "gt", {**common, "n": n, "gt_path": str(p)})
        return str(p)

    for n in sizes + [s for s in sweep if s not in sizes]:
        gt = gt_for(n)
        in_sweep = n not in sizes
        for kind in (["flat", "ivf-sq8"] if in_sweep else kinds):
            if kind == "hnsw" and n > args.hnsw_max[0]:
                continue
            nq = args.slow_queries if (kind in ("flat", "naive") and n >= 500_000) else args.queries
            bc.eprint(f"[{label(n)}] {kind}: build + {nq} queries …")
            r = bc.run_phase(script, "index", {**common, "n": n, "kind": kind, "gt_path": gt, "n_queries": nq,
                                               "nprobes": nprobes if not in_sweep else [16, 32], "efs": efs,
                                               "faiss_threads": fthreads})
            r["sweep"] = in_sweep
            results.append(r)
            best = r["runs"][0]
            bc.eprint(f"    build {r['build_s']:.1f}s, p50 {best['p50_ms']:.2f} ms, recall {best['recall@10']:.3f}, "
                      f"RSS Δ {r['rss_delta_mb']:.0f} MiB")

    stores = []
    if args.store_size and args.store_size[0]:
        n = args.store_size[0]
        d = SCALE / f"store-{n}"
        bc.eprint(f"[store {label(n)}] Store.apply of precomputed vectors …")
        built = bc.run_phase(script, "store_build", {**common, "n": n, "data_dir": str(d), "batch": 2000})
        bc.eprint(f"    {built['chunks']:,} chunks in {built['apply_s']:.0f}s; searching …")
        searched = bc.run_phase(script, "store_search", {**common, "data_dir": str(d), "n_queries": args.store_queries,
                                                           "faiss_threads": fthreads})
        stores.append({"label": f"synthetic {label(n)}" + (f" (migrated in {built['migrate_s']:.0f}s)"
                                                             if built.get("migrated_to") else ""),
                       **built, **searched, "peak_rss_mb": searched["peak_rss_mb"]})
        shutil.rmtree(d, ignore_errors=True)
    bc.eprint("[store 10k real] open + search …")
    searched = bc.run_phase(script, "store_search", {**common, "data_dir": str(bc.WIKI_STORE),
                                                       "n_queries": args.store_queries, "faiss_threads": fthreads})
    stores.append({"label": "real wiki-store", "apply_s": None, **searched})

    # -- report
    flat_limit = Settings().flat_limit
    rows = []
    for r in results:
        if r["sweep"]:
            continue
        for run in r["runs"]:
            rows.append([label(r["n"]), r["kind"] + (f" (nlist {r['nlist']})" if "nlist" in r else ""), run["param"],
                         run["threads"], r["build_s"], run["n"], run["p50_ms"], run["p95_ms"], run["recall@10"],
                         r["serialized_bytes"] / r["n"], r["rss_delta_mb"] * 2**20 / r["n"],
                         r["rss_delta_reloaded_mb"] * 2**20 / r["n"] if "rss_delta_reloaded_mb" in r else None,
                         r["peak_rss_mb"]])
    neigh_rows = [["real chunks (all)", f"{R:,}", float(np.percentile(nn_real, 10)), target,
                   float(np.percentile(nn_real, 90)), "", "", ""]]
    for n in sorted(neigh):
        s = neigh[n]
        neigh_rows.append([label(n), f"{n:,}", s["nn_cos_p10"], s["nn_cos_p50"], s["nn_cos_p90"],
                           s["q_top1_p50"], s["q_top10_p50"], s["q_gap_1_10_p50"]])
    # naive vs citebot
    cmp_rows = []
    by = {(r["n"], r["kind"]): r for r in results}
    for n in sizes:
        auto = "flat" if n <= flat_limit else "ivf-sq8"
        c, nv = by.get((n, auto)), by.get((n, "naive"))
        if not c or not nv:
            continue
        for nrun in nv["runs"]:
            cruns = [x for x in c["runs"] if x["threads"] == nrun["threads"]
                     and x["param"] in ("", f"nprobe={Settings().ivf_nprobe}")]
            if not cruns:
                continue
            crun = cruns[0]
            cmp_rows.append([label(n), "naive: IndexFlatIP + list of texts", nrun["threads"], nrun["p50_ms"],
                             nrun["p95_ms"], nrun["recall@10"], nv["rss_delta_mb"], nv.get("texts_rss_mb")])
            cmp_rows.append([label(n), f"citebot VectorIndex ({auto}{', ' + crun['param'] if crun['param'] else ''}); "
                             "texts in SQLite", crun["threads"], crun["p50_ms"], crun["p95_ms"], crun["recall@10"],
                             c["rss_delta_mb"], 0.0])
    sweep_rows = []
    for r in sorted(results, key=lambda r: (r["n"], r["kind"])):
        if r["kind"] not in ("flat", "ivf-sq8"):
            continue
        for run in r["runs"]:
            if r["kind"] == "ivf-sq8" and run["param"] not in ("nprobe=16", "nprobe=32"):
                continue
            sweep_rows.append([label(r["n"]), r["kind"], run["param"], run["threads"], run["p50_ms"], run["p95_ms"], run["recall@10"], r["build_s"]])
    store_rows = []
    for s_ in stores:
        files = s_["files"]
        cat = sum(v for k, v in files.items() if k.startswith("catalogue"))
        vec = sum(v for k, v in files.items() if k.endswith(".faiss"))
        lat = s_["latency"]
        for t in s_["threads"]:
            store_rows.append([s_["label"], s_["chunks"], s_["index_type"], s_.get("apply_s"),
                               s_["disk_bytes"] / s_["chunks"], cat / s_["chunks"], vec / s_["chunks"],
                               s_["rss_end_delta_mb"] * 2**20 / s_["chunks"], s_["open_s"], t,
                               lat[f"dense@{t}"]["p50_ms"], lat[f"lexical@{t}"]["p50_ms"], lat[f"hybrid@{t}"]["p50_ms"],
                               lat[f"hybrid@{t}"]["p95_ms"]])

    extra = [
        f"vectors: {R:,} real chunk vectors (all-MiniLM-L6-v2, 384-d) of the 10,033 Wikipedia summaries; larger sizes add "
        f"perturbed copies, σ = {sigma:.3f} (data-shaped Gaussian noise, seed {args.seed}; see `--help`), calibrated to the "
        f"median real nearest-neighbour cosine {target:.3f}",
        f"queries: {args.queries} held-out last sentences (embedded once); {args.slow_queries} for flat/naive at ≥ 500k; "
        "single-query calls, k=10, embedding excluded; 50 warm-up calls first",
        "memory: each (size, type) in its own child process; RSS Δ = live index memory (input array freed); "
        "peak = VmHWM of that child; RSS Δ reloaded = after `deserialize(serialize(index))` (as read from a snapshot)",
        f"citebot settings: flat_limit {flat_limit:,}, ivf_nprobe {Settings().ivf_nprobe}; IVF nlist = 4·√n "
        "(index/vectors.py), training sample ≤ 256·nlist",
        f"total wall time {time.perf_counter() - t_all:.0f}s",
    ]
    out = [bc.header_block("bench_scale — vector index at scale", hw, "1 build per (size, type); latency over the queries", extra)]
    out.append(bc.md_table(["size", "type", "param", "FAISS threads", "build s", "queries", "p50 ms", "p95 ms", "recall@10",
                            "bytes/vec (serialized)", "bytes/vec (RSS Δ)", "bytes/vec (RSS Δ reloaded)", "peak RSS MiB"],
                           rows))
    out.append("\nNeighbour structure (cosines; synthetic sets vs real): nearest other vector of 1,000 members; "
               "queries' exact top-1 and top-10 similarity and their gap:\n")
    out.append(bc.md_table(["set", "vectors", "NN cos p10", "NN cos p50", "NN cos p90", "query top-1 p50",
                            "query top-10 p50", "top1−top10 p50"], neigh_rows, digits=3))
    if cmp_rows:
        out.append("\nStraightforward pipeline vs citebot (search excl. embedding; memory = RSS Δ of index (+ texts)):\n")
        out.append(bc.md_table(["size", "pipeline", "FAISS threads", "p50 ms", "p95 ms", "recall@10", "RAM MiB",
                                "of which texts MiB"], cmp_rows))
    if sweep_rows:
        out.append("\nFlat vs IVF-SQ8 by size (the flat→IVF threshold):\n")
        out.append(bc.md_table(["size", "type", "param", "FAISS threads", "p50 ms", "p95 ms", "recall@10", "build s"], sweep_rows))
    out.append("\nEnd-to-end Store (search_vector, k=10, excl. embedding; bytes per chunk):\n")
    out.append(bc.md_table(["store", "chunks", "index", "Store.apply s", "disk B/chunk", "catalogue B/chunk",
                            "FAISS file B/chunk", "RAM B/chunk (RSS Δ)", "open s", "FAISS threads", "dense p50 ms", "lexical p50 ms",
                            "hybrid p50 ms", "hybrid p95 ms"], store_rows))
    text = "\n".join(out)
    print(text)
    bc.save_json(args.json, {"hardware": hw, "sigma": sigma, "nn_real_median": target, "results": results,
                             "neighbours": {str(k): v for k, v in neigh.items()}, "stores": stores, "markdown": text})


if __name__ == "__main__":
    main()
