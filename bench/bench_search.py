"""Search latency on the 10,033 Wikipedia summaries, per mode and k.

The store is ``bench/out/wiki-store`` (all summaries ingested with quotes off; built on the
first run, reused after). Queries are the last sentences of the summaries that have ≥ 3
sentences (``index.chunking.split_sentences``), a seeded sample of ``--queries``.

For every query, round-robin over the configurations (dense / lexical / hybrid × k=5 /
k=10), so that a noisy neighbour slows all of them alike, it times:

* ``embed``: ``Embedder.encode([query])`` alone (the query embedding);
* ``excl. embed``: ``Searcher.search_vector(query, qvec, k, mode)`` with the vector
  precomputed (FAISS + FTS5 + catalogue look-ups + fusion);
* ``total``: ``Searcher.search(query, k, mode)`` (embeds again, then the same).

A second table times the parts of ``search_vector`` on their own: FAISS top-``candidates``
(``Store.dense``), FTS5 BM25 top-``candidates`` (``Store.lexical``), and the catalogue
fetch of the candidates' records (``Store.chunks``). Everything runs in one process after
a warm-up of 20 queries per configuration; p50/p95 are over all queries.

Threads. citebot's ``Embedder`` sets torch's threads (process-wide) and FAISS's OpenMP
threads (only for the thread that builds it) to ``Settings.threads``. The configurations
therefore also vary the FAISS threads of the searching thread (``--faiss-threads``), and
the query embedding is timed for each ``--torch-threads`` value.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

MODES = ("dense", "lexical", "hybrid")
KS = (5, 10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=300, help="queries (seeded sample of last sentences; ≥ 200; default 300)")
    ap.add_argument("--seed", type=int, default=1, help="sample seed (default 1)")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up queries per configuration (default 20)")
    ap.add_argument("--faiss-threads", default="0,1",
                    help="FAISS OpenMP threads to compare, 0 = FAISS's own default (all cores); default '0,1'")
    ap.add_argument("--torch-threads", default="1,2",
                    help="torch threads to compare for the query embedding (default '1,2'); the 'total' "
                         "column uses what citebot's Embedder set (Settings.threads)")
    ap.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    args = ap.parse_args()

    import faiss
    import numpy as np

    from index import Embedder, Searcher, Settings, Store
    from index.search import query_names

    hw = bc.hardware()
    info = bc.ensure_wiki_store(bc.eprint)
    wiki = bc.heldout_split(bc.load_wiki())
    pool = [w for w in wiki if w["query"]]
    queries = [w["query"] for w in bc.sample(pool, args.queries, args.seed)]

    rss0 = bc.rss_mb()
    import inspect
    import os

    import torch

    settings = Settings(data_dir=bc.WIKI_STORE)
    cores = os.cpu_count() or 1
    faiss_default = faiss.omp_get_max_threads()  # FAISS's own default, before citebot touches it
    if "threads" in inspect.signature(Embedder).parameters:  # as bot/cli.py builds it
        embedder = Embedder(settings.model, settings.batch_size, settings.threads)
    else:
        embedder = Embedder(settings.model, settings.batch_size)
    citebot_torch = torch.get_num_threads()
    citebot_faiss_main = faiss.omp_get_max_threads()
    rss_model = bc.rss_mb()
    t0 = time.perf_counter()
    store = Store.open(settings)
    open_s = time.perf_counter() - t0
    rss_store = bc.rss_mb()
    searcher = Searcher(store, embedder)
    stats = store.stats()

    default_threads = faiss_default
    threads = [default_threads if int(t) == 0 else int(t) for t in args.faiss_threads.split(",") if t.strip()]
    threads = list(dict.fromkeys(threads))
    torch_threads = list(dict.fromkeys(int(t) or cores for t in args.torch_threads.split(",") if t.strip()))
    warm = queries[: args.warmup]
    for q in warm:
        v = embedder.encode([q])[0]
        for mode in MODES:
            for t in threads:
                faiss.omp_set_num_threads(t)
                searcher.search_vector(q, v, 10, mode)
                searcher.search(q, 10, mode)

    configs = [(m, k, t) for t in threads for m in MODES for k in KS]
    embed_t: dict[int, list[float]] = {t: [] for t in torch_threads}
    excl = {c: [] for c in configs}
    total = {c: [] for c in configs}
    parts = {"faiss": [], "fts5": [], "fts5_names": [], "fetch": []}
    n_cand = settings.candidates
    pc = time.perf_counter
    for i, q in enumerate(queries):
        if i and i % 50 == 0:
            bc.eprint(f"  {i}/{len(queries)} queries")
        for tt in (torch_threads if i % 2 else torch_threads[::-1]):
            torch.set_num_threads(tt)
            t = pc()
            qvec = embedder.encode([q])[0]
            embed_t[tt].append(pc() - t)
        torch.set_num_threads(citebot_torch)
        # rotate the order per query, so no configuration always runs first
        order = configs[i % len(configs):] + configs[: i % len(configs)]
        for c in order:
            faiss.omp_set_num_threads(c[2])
            t = pc()
            searcher.search_vector(q, qvec, c[1], c[0])
            excl[c].append(pc() - t)
            t = pc()
            searcher.search(q, c[1], c[0])
            total[c].append(pc() - t)
        faiss.omp_set_num_threads(default_threads)
        t = pc()
        dense = store.dense(qvec, n_cand)
        parts["faiss"].append(pc() - t)
        t = pc()
        lex = store.lexical(q, n_cand)
        parts["fts5"].append(pc() - t)
        names = query_names(q)
        if names:
            t = pc()
            store.lexical(" ".join(names), n_cand)
            parts["fts5_names"].append(pc() - t)
        ids = list(dict.fromkeys([h.chunk_id for h in dense] + [h.chunk_id for h in lex]))
        t = pc()
        store.chunks(ids)
        parts["fetch"].append(pc() - t)
    rss_end = bc.rss_mb()

    emb = bc.latency_summary_ms(embed_t[citebot_torch] if citebot_torch in embed_t else embed_t[torch_threads[0]])
    rows, results = [], []
    for c in configs:
        ex, tot = bc.latency_summary_ms(excl[c]), bc.latency_summary_ms(total[c])
        rows.append([c[0], c[1], f"{c[2]}", ex["p50_ms"], ex["p95_ms"], tot["p50_ms"], tot["p95_ms"]])
        results.append({"mode": c[0], "k": c[1], "faiss_threads": c[2], "embed": emb, "excl_embed": ex, "total": tot})
    embed_rows = []
    embed_res = {}
    for tt, ts in embed_t.items():
        e = bc.latency_summary_ms(ts)
        embed_res[tt] = e
        embed_rows.append([f"{tt}" + (" (citebot's)" if tt == citebot_torch else ""), e["n"], e["p50_ms"], e["p95_ms"], e["mean_ms"]])
    part_rows = []
    labels = {
        "faiss": f"Store.dense: FAISS {stats.index_type} top-{n_cand}",
        "fts5": f"Store.lexical: FTS5 BM25 top-{n_cand}",
        "fts5_names": f"Store.lexical on query names (hybrid only; {len(parts['fts5_names'])} of {len(queries)} queries have names)",
        "fetch": "Store.chunks: catalogue fetch of the fused candidates",
    }
    labels["faiss"] += f" ({default_threads} FAISS threads)"
    part_res = {}
    for key, vals in parts.items():
        s = bc.latency_summary_ms(vals)
        part_res[key] = s
        part_rows.append([labels[key], s["n"], s["p50_ms"], s["p95_ms"], s["mean_ms"]])

    extra = [
        f"store: `bench/out/wiki-store`, {stats.articles:,} articles, {stats.chunks:,} chunks, index {stats.index_type} "
        f"({stats.index_bytes / 1e6:.1f} MB), {stats.disk_bytes / 1e6:.1f} MB on disk; opened in {open_s * 1000:.0f} ms; "
        f"built by ingest in {info['seconds']:.0f}s",
        f"queries: {len(queries)} last sentences (seeded sample, seed {args.seed}, of {len(pool):,} summaries with ≥ 3 sentences)",
        f"warm-up: {len(warm)} queries × every configuration; configurations interleaved per query",
        f"RSS: {rss0:.0f} MiB before the model, {rss_model:.0f} MiB with it, {rss_store:.0f} MiB with the store open, "
        f"{rss_end:.0f} MiB at the end; peak {bc.peak_rss_mb():.0f} MiB",
        "units: milliseconds per query (wall clock, `time.perf_counter`)",
        f"citebot: Settings.threads = {getattr(settings, 'threads', '–')}; after `Embedder(...)` torch threads = "
        f"{citebot_torch}, FAISS threads of the constructing thread = {citebot_faiss_main} (FAISS's own default "
        f"{faiss_default}; other threads keep it)",
    ]
    out = [bc.header_block("bench_search — search latency (10k Wikipedia summaries)", hw, f"{len(queries)} queries per configuration", extra)]
    out.append("Query embedding, `Embedder.encode([query])` (ms):\n")
    out.append(bc.md_table(["torch threads", "queries", "p50", "p95", "mean"], embed_rows))
    out.append(f"\nSearch (ms); 'total' = `Searcher.search` incl. embedding with torch threads {citebot_torch}:\n")
    out.append(bc.md_table(["mode", "k", "FAISS threads", "excl. embed p50", "excl. embed p95", "total p50", "total p95"], rows))
    out.append("\nParts of `search_vector` (ms per call):\n")
    out.append(bc.md_table(["part", "calls", "p50", "p95", "mean"], part_rows))
    text = "\n".join(out)
    print(text)
    bc.save_json(args.json, {"hardware": hw, "store": info, "results": results, "parts": part_res, "markdown": text,
                             "embed": embed_res,
                             "np": np.__version__})


if __name__ == "__main__":
    main()
