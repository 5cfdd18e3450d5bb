"""Fusion sweep: how should dense and BM25 scores be combined?

Collects, once per query, the same candidate pool ``index.search.Searcher`` fuses (dense
top 50 ∪ BM25 top 50 ∪ BM25 top 50 on the query's names) with each candidate's cosine,
raw BM25 score and name fraction, then scores many fusion functions over those features
offline (seconds per variant instead of minutes), on both retrieval tasks of
``bench_retrieval.py``:

* Wikipedia held-out last sentence (``bench/out/wiki-heldout-store``, built by
  ``bench_retrieval.py``): a seeded sample of queries, split in two halves — ``tune``
  to choose a variant, ``test`` to report it (the choice never sees ``test``);
* news questions (every labelled set in ``bench/data/``, ``bench_common.QUESTION_SETS``,
  over seeds + lee + the first 60 lee background articles, the answer evaluation's corpus),
  passage level.

``--compare VARIANT`` then tests one variant against dense and BM25 query by query (mean
difference in reciprocal rank with a 95% paired-bootstrap interval).

Run: ``.venv/bin/python bench/fusion_sweep.py [--queries 2000] [--compare NAME] [--json out.json]``
"""

from __future__ import annotations

import argparse
import functools
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
import bench_retrieval as br  # noqa: E402

N = 50


def collect(store, embedder, items: list[dict]) -> list[dict]:
    """Per query: candidates with features (sim, bm25, name_frac, article_id, text)."""
    from index.search import fold_text, name_pattern, query_names
    from index.store import lexical_terms

    qvecs = embedder.encode([it["query"] for it in items])
    out = []
    for it, qv in zip(items, qvecs, strict=True):
        q = it["query"]
        dense = store.dense(qv, N)
        lexical = store.lexical(q, N)
        names = query_names(q)
        cands = dict.fromkeys(h.chunk_id for h in dense)
        cands.update(dict.fromkeys(h.chunk_id for h in lexical))
        if names:
            cands.update(dict.fromkeys(h.chunk_id for h in store.lexical(" ".join(names), N)))
        recs = store.chunks(list(cands))
        sims = {h.chunk_id: h.score for h in dense}
        missing = [c for c in recs if c not in sims]
        for cid, vec in store.vectors(missing).items():
            sims[cid] = float(np.dot(vec, qv))
        lex = {h.chunk_id: h.score for h in lexical}
        fn = [name_pattern(x) for x in names]
        rows = []
        for cid, rec in recs.items():
            folded = fold_text(rec.text) if names else ""
            nf = sum(1 for p, raw in fn if p.search(rec.text if raw else folded)) / len(names) if names else 0.0
            rows.append((cid, sims.get(cid, 0.0), lex.get(cid, 0.0), nf, rec.article_id, rec.text))
        terms = lexical_terms(q)
        total = store._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        idf = []
        for term in terms:
            df = store._db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (f'"{term}"',)).fetchone()[0]
            idf.append(max(1e-6, math.log((total - df + 0.5) / (df + 0.5))) if df else 0.0)
        out.append({**it, "cands": rows, "n_terms": len(terms), "names": names, "idf": idf})
    return out


# -- fusion functions: (sim array, bm25 array, name array, query) -> score array ------------
def _mm(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def _ranks(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    order = np.argsort(-x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    return np.where(present, r, np.inf)


class F(NamedTuple):
    """One query's candidate features: cosine, raw BM25, name fraction, query info."""

    s: np.ndarray
    b: np.ndarray
    n: np.ndarray
    idf_sum: float


def _tm(f: F) -> np.ndarray:
    """BM25 over its theoretical maximum (every query term once, average length)."""
    return np.minimum(1.0, f.b / (f.idf_sum or 1.0))


def _maxnorm(f: F, a: float, nb: float) -> np.ndarray:
    return (1 - a) * f.s + a * f.b / (f.b.max() or 1.0) + nb * f.n


def _minmax(f: F, a: float, nb: float) -> np.ndarray:
    return (1 - a) * _mm(f.s) + a * _mm(f.b) + nb * f.n


def _zboth(f: F, a: float, nb: float) -> np.ndarray:
    return (1 - a) * _z(f.s) + a * _z(f.b) + nb * f.n


def _spread(f: F, a: float, nb: float) -> np.ndarray:
    """Raw cosine; BM25 scaled to the pool's top-to-median cosine spread."""
    return f.s + a * (f.s.max() - np.median(f.s)) * f.b / (f.b.max() or 1.0) + nb * f.n


def _theoretical(f: F, a: float, nb: float) -> np.ndarray:
    return (1 - a) * f.s + a * _tm(f) + nb * f.n


def _mult(f: F, a: float, nb: float) -> np.ndarray:
    return f.s * (1 + a * _tm(f)) + nb * f.n


def _gated(f: F, a: float, d: float) -> np.ndarray:
    """BM25 and names count only for passages within ``d`` of the best cosine."""
    return f.s + (a * _tm(f) + 0.1 * f.n) * (f.s >= f.s.max() - d)


def _zdense_tm(f: F, a: float, nb: float) -> np.ndarray:
    return _z(f.s) + a * 10 * _tm(f) + nb * f.n


def _confidence(f: F, t: float, strong: float) -> np.ndarray:
    """Dense-confident queries (best cosine ≥ t) fuse lightly (z-score, BM25 0.1, names 0.1);
    the others lean on BM25 and names (BM25 0.2, names ``strong`` sd)."""
    if f.s.max() >= t:
        return _zboth(f, 0.1, 0.1)
    return _zboth(f, 0.2, strong)


def _rare_names(f: F, nb: float, share: float, a: float = 0.1) -> np.ndarray:
    """Z-score fusion; a strong name bonus only when few of the pool's passages have the names."""
    rare = float((f.n > 0).mean()) <= share
    return _zboth(f, a, nb if rare else 0.1)


def _confident_default(f: F, t: float, a: float) -> np.ndarray:
    """citebot's default fusion (z-score, BM25 0.2, names 1 sd, a tenth when common), except
    that dense-confident queries (best cosine ≥ t) fuse lightly: BM25 ``a``, names 0.1."""
    if f.s.max() >= t:
        return _zboth(f, a, 0.1)
    return _rare_names(f, 1.0, 0.2, a=0.2)


def _rrf(f: F, k: float, wl: float) -> np.ndarray:
    rd = _ranks(f.s, np.ones_like(f.s, bool))
    rl = _ranks(f.b, f.b > 0)
    return 1 / (k + rd + 1) + wl / (k + rl + 1)


def variants() -> dict[str, Callable[[F], np.ndarray]]:
    """Variant name → fusion function of the features."""
    grid: list[tuple[str, Callable, str, tuple, str, tuple]] = [
        ("max-norm (old default)", _maxnorm, "lw", (0.05, 0.1, 0.2, 0.3), "nb", (0.0, 0.1)),
        ("minmax both", _minmax, "a", (0.1, 0.2, 0.3, 0.4, 0.5), "nb", (0.0, 0.05, 0.1)),
        ("z both", _zboth, "a", (0.1, 0.15, 0.2, 0.3, 0.4, 0.5), "nb", (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5)),
        ("dense-spread bm25", _spread, "a", (0.1, 0.2, 0.3, 0.5), "nb", (0.0, 0.05)),
        ("tm", _theoretical, "a", (0.1, 0.2, 0.3, 0.4, 0.5), "nb", (0.0, 0.05, 0.1)),
        ("mult tm", _mult, "a", (0.1, 0.2, 0.3, 0.5), "nb", (0.0, 0.05, 0.1)),
        ("gated tm", _gated, "a", (0.1, 0.2, 0.3), "d", (0.05, 0.1, 0.15)),
        ("zdense+tm", _zdense_tm, "a", (0.05, 0.1, 0.15, 0.2), "nb", (0.0, 0.1, 0.3)),
        ("rrf", _rrf, "k", (10, 30, 60), "wl", (0.3, 0.5, 1.0)),
        ("rare-names", _rare_names, "nb", (0.5, 1.0, 1.5, 2.0), "share", (0.02, 0.05, 0.1, 0.2, 0.4)),
        ("rare-names a=0.15", functools.partial(_rare_names, a=0.15), "nb", (1.0, 1.5, 2.0), "share", (0.05, 0.1, 0.2)),
        ("rare-names a=0.2", functools.partial(_rare_names, a=0.2), "nb", (1.0, 1.5, 2.0), "share", (0.05, 0.1, 0.2)),
        ("dense-confidence", _confidence, "t", (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7), "strong", (1.0, 1.5)),
        ("confident-default", _confident_default, "t", (0.4, 0.45, 0.5, 0.55, 0.6), "a", (0.05, 0.1, 0.15)),
    ]
    out: dict[str, Callable[[F], np.ndarray]] = {"dense": lambda f: f.s, "lexical": lambda f: f.b}
    for label, fn, p1, xs, p2, ys in grid:
        for x in xs:
            for y in ys:
                out[f"{label} {p1}={x} {p2}={y}"] = functools.partial(_apply, fn, x, y)
    return out


def _apply(fn: Callable, x: float, y: float, f: F) -> np.ndarray:
    return fn(f, x, y)


def article_rank(scores, q) -> int | None:
    order = np.argsort(-scores, kind="stable")
    seen: list[str] = []
    for i in order[:N]:
        a = q["cands"][i][4]
        if a not in seen:
            seen.append(a)
            if a == q["gold"]:
                return len(seen)
    return None


def passage_rank(scores, q) -> int | None:
    order = np.argsort(-scores, kind="stable")
    sup = q["support"].casefold()
    for r, i in enumerate(order[:N], 1):
        if sup in q["cands"][i][5].casefold():
            return r
    return None


def run(queries: list[dict], fn, level: str) -> dict:
    return br.summarize(ranks_of(queries, fn, level))


def ranks_of(queries: list[dict], fn, level: str) -> list[int | None]:
    """Per query: the rank of its gold article or passage under fusion ``fn`` (None: not found)."""
    ranks = []
    for q in queries:
        c = q["cands"]
        if not c:
            ranks.append(None)
            continue
        f = F(np.array([x[1] for x in c]), np.array([x[2] for x in c]), np.array([x[3] for x in c]), sum(q["idf"]))
        sc = fn(f)
        ranks.append(article_rank(sc, q) if level == "article" else passage_rank(sc, q))
    return ranks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--compare", action="append", metavar="VARIANT",
                    help="also compare this variant with dense and lexical, per query (paired bootstrap; repeatable)")
    args = ap.parse_args()
    from index import Embedder, Settings, Store, ingest

    s = Settings()
    embedder = Embedder(s.model, s.batch_size)
    t0 = time.perf_counter()
    wiki = bc.heldout_split(bc.load_wiki())
    pool = [w for w in wiki if w["query"]]
    chosen = bc.sample(pool, args.queries, args.seed)
    items = [{"query": w["query"], "gold": w["id"]} for w in chosen]
    store = Store.open(Settings(data_dir=br.HELDOUT_STORE))
    wq = collect(store, embedder, items)
    store.close()
    half = len(wq) // 2
    tune, test = wq[:half], wq[half:]

    nitems, _ = br.news_items([p for p in bc.QUESTION_SETS if p.exists()])
    tmp = Path(tempfile.mkdtemp(prefix="fusion-news-", dir=bc.OUT))
    try:
        st = Store.open(Settings(data_dir=tmp, quotes=False))
        ingest(st, embedder, br.NEWS_CORPUS, extractor=None)
        nq = collect(st, embedder, nitems)
        st.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    bc.eprint(f"collected in {time.perf_counter() - t0:.0f}s")

    rows, payload = [], {}
    for name, fn in variants().items():
        r = {
            "wiki tune": run(tune, fn, "article"),
            "wiki test": run(test, fn, "article"),
            "news passage": run(nq, fn, "passage"),
            "news article": run(nq, fn, "article"),
        }
        payload[name] = r
        rows.append([name, r["wiki tune"]["r@1"], r["wiki tune"]["mrr"], r["wiki test"]["r@1"], r["wiki test"]["mrr"],
                     r["news passage"]["r@1"], r["news passage"]["mrr"], r["news article"]["r@1"]])
    rows.sort(key=lambda x: -x[2])
    print(bc.md_table(["variant", "wiki tune R@1", "tune MRR", "wiki test R@1", "test MRR", "news psg R@1",
                       "news psg MRR", "news art R@1"], rows, digits=3))
    for name in args.compare or []:
        fn = variants()[name]
        rows = []
        for task, qs, level in (("wiki test", test, "article"), ("wiki all", wq, "article"), ("news passage", nq, "passage")):
            mine = bc.reciprocal_ranks(ranks_of(qs, fn, level))
            for other in ("dense", "lexical"):
                b = bc.paired_bootstrap(mine, bc.reciprocal_ranks(ranks_of(qs, variants()[other], level)))
                rows.append([task, f"{name} − {other}", b["n"], f"{b['diff']:+.4f}", f"[{b['lo']:+.4f}, {b['hi']:+.4f}]",
                             f"{b['better']} / {b['worse']}"])
                payload.setdefault("compare", {}).setdefault(name, {})[f"{task} vs {other}"] = b
        print(f"\n{name}: MRR difference per query (paired bootstrap, 10,000 resamples)\n")
        print(bc.md_table(["task", "comparison", "queries", "Δ MRR", "95% CI", "better / worse"], rows))
    bc.save_json(args.json, payload)


if __name__ == "__main__":
    main()
