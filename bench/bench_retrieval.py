"""Retrieval quality: held-out-sentence task on Wikipedia, and (``--news``) labelled
questions over the news corpus.

**Wikipedia (always).** For every summary with ≥ 3 sentences
(``index.chunking.split_sentences``) the LAST sentence is held out as a query and the
summary is indexed WITHOUT it; summaries with fewer sentences are indexed whole (they are
distractors, never queries). All 10,033 go into ``bench/out/wiki-heldout-store`` (built
once with ``index.ingest.ingest``, quotes off; id ``wiki-<position in the file>``).
``--queries`` queries are a seeded sample. The task is to find the query's source summary.

**News (``--news``).** Every labelled question set in ``bench/data/``
(``bench_common.QUESTION_SETS``, or ``--questions``; rows ``{"id","kind","question",
"answers","article_id","support"}``; ``unanswerable`` rows, whose ``article_id`` is null,
are skipped) over ``seeds/`` + ``bench/data/lee.jsonl`` + ``bench/data/lee_background.jsonl``
(111 articles, the answer evaluation's corpus), ingested into a fresh temporary store. A
passage is a hit when its text contains the ``support`` string (case-insensitive).

**Is hybrid better?** Per query, hybrid's reciprocal rank (and hit at 1) minus dense's and
BM25's, averaged, with a 95% paired-bootstrap interval: an interval containing 0 is a tie.

Metrics. Each query retrieves the top 50 passages (``Searcher.search_vector``, k=50; the
query embedding is computed once per query). *Article level*: the passages' article ids,
de-duplicated in rank order; recall@k = the gold article is among the first k distinct
articles; MRR = mean of 1/rank of the gold article (0 when absent from the 50 passages).
*Passage level* (news): rank of the first passage containing the support.

Rows "index: <mode>" are citebot's own ``Searcher`` with this tree's default settings
(exact flat index). Rows "… [ivf-sq8, nprobe N]" (``--ivf-check``) run the same store
rebuilt with ``Store.rebuild_index("ivf-sq8")``, to see what the approximate index costs
in retrieval quality.
Rows "hybrid, <variant>" are the same ``Searcher`` in hybrid mode with some fusion
settings changed (``Settings.with_``; ``fusion`` zscore/weighted/rrf, ``lexical_weight``,
``rrf_k``, ``name_boost``, ``dense_confidence``); ``bench/fusion_sweep.py`` explores many more, offline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

N_PASSAGES = 50
HELDOUT_STORE = bc.OUT / "wiki-heldout-store"
NEWS_CORPUS = bc.NEWS_CORPUS


# -- fusion variants: the index's own Searcher under other settings ----------------------
#: name → Settings overrides.
VARIANTS: dict[str, dict] = {
    "zscore, dense confidence off (session-2 default)": {"fusion": "zscore", "dense_confidence": None},
    "zscore lw=0.1 boost=0.1, confidence off": {"fusion": "zscore", "lexical_weight": 0.1, "name_boost": 0.1,
                                                "dense_confidence": None},
    "zscore lw=0.2 boost=0, confidence off": {"fusion": "zscore", "lexical_weight": 0.2, "name_boost": 0.0,
                                              "dense_confidence": None},
    "weighted lw=0.1 boost=0.1": {"fusion": "weighted", "lexical_weight": 0.1, "name_boost": 0.1},
    "weighted lw=0.2 boost=0.1 (old default)": {"fusion": "weighted", "lexical_weight": 0.2, "name_boost": 0.1},
    "rrf k=60 boost=0.1": {"fusion": "rrf", "rrf_k": 60, "name_boost": 0.1},
    "rrf k=20 boost=0.1": {"fusion": "rrf", "rrf_k": 20, "name_boost": 0.1},
}


def spurious_names(queries: list[str]) -> float:
    """Share of queries whose extracted names include a stop word (e.g. "He", "It")."""
    from index.search import query_names
    from index.store import STOPWORDS

    bad = sum(1 for q in queries if any(n.lower().strip("’'") in STOPWORDS for n in query_names(q)))
    return bad / max(len(queries), 1)


# -- metrics ------------------------------------------------------------------------------
def article_rank(article_ids: list[str], gold: str) -> int | None:
    seen: list[str] = []
    for a in article_ids:
        if a not in seen:
            seen.append(a)
            if a == gold:
                return len(seen)
    return None


def passage_rank(texts: list[str], support: str) -> int | None:
    s = support.casefold()
    for i, t in enumerate(texts, 1):
        if s in t.casefold():
            return i
    return None


def summarize(ranks: list[int | None]) -> dict:
    n = len(ranks)
    return {
        "n": n,
        "r@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "r@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "r@10": sum(1 for r in ranks if r is not None and r <= 10) / n,
        "mrr": sum(1.0 / r for r in ranks if r is not None) / n,
    }


def evaluate(store, searcher, embedder, items: list[dict], variants: bool, passage: bool,
             modes=("dense", "lexical", "hybrid"), suffix: str = "") -> dict:
    """items: {"query", "gold", "support"?}. Returns ranks per retriever and level."""
    from index import Searcher

    qvecs = embedder.encode([it["query"] for it in items])
    runs: list[tuple[str, str, Searcher]] = [(f"index: {m}{suffix}", m, searcher) for m in modes]
    if variants:
        for v, over in VARIANTS.items():
            s = Searcher(store, embedder)
            s.settings = store.settings.with_(**over)
            runs.append((f"hybrid, {v}", "hybrid", s))
    ranks = {r[0]: {"article": [], "passage": []} for r in runs}
    timing = {r[0]: 0.0 for r in runs}
    for name, mode, s in runs:
        for it, qv in zip(items, qvecs, strict=True):
            t = time.perf_counter()
            hits = s.search_vector(it["query"], qv, N_PASSAGES, mode)
            timing[name] += time.perf_counter() - t
            r = ranks[name]
            r["article"].append(article_rank([h.article_id for h in hits], it["gold"]))
            if passage:
                r["passage"].append(passage_rank([h.text for h in hits], it["support"]))
    return {"ranks": ranks, "timing": timing}


def table(res: dict, level: str) -> tuple[list, dict]:
    rows, out = [], {}
    for name, r in res["ranks"].items():
        if not r[level]:
            continue
        s = summarize(r[level])
        out[name] = s
        rows.append([name, s["n"], s["r@1"], s["r@5"], s["r@10"], s["mrr"]])
    return rows, out


# -- tasks --------------------------------------------------------------------------------
def wiki_task(args, embedder) -> tuple[str, dict]:
    from index import Searcher, Settings, Store

    wiki = bc.heldout_split(bc.load_wiki())
    jsonl = bc.write_jsonl(bc.OUT / "wiki_heldout.jsonl", wiki, text_key="rest")
    # chunks identical to the full-summary store's (short summaries, leading chunks) reuse its vectors
    cache = bc.WIKI_STORE if (bc.WIKI_STORE / "bench-built.json").exists() else None
    info = bc.ensure_store(HELDOUT_STORE, jsonl, len(wiki), bc.eprint, cache_store=cache)
    pool = [w for w in wiki if w["query"]]
    chosen = bc.sample(pool, args.queries, args.seed)
    items = [{"query": w["query"], "gold": w["id"]} for w in chosen]
    store = Store.open(Settings(data_dir=HELDOUT_STORE))
    searcher = Searcher(store, embedder)
    t0 = time.perf_counter()
    res = evaluate(store, searcher, embedder, items, variants=not args.no_variants, passage=False)
    secs = time.perf_counter() - t0
    stats = store.stats()
    store.close()
    nprobes = [int(x) for x in args.ivf_check.split(",") if x.strip()] if args.ivf_check else []
    if nprobes:
        # the same store with citebot's approximate index (Store.rebuild_index), per nprobe
        tmp = Path(tempfile.mkdtemp(prefix="heldout-ivf-", dir=bc.OUT))
        try:
            shutil.copytree(HELDOUT_STORE, tmp, dirs_exist_ok=True)
            s_ivf = Store.open(Settings(data_dir=tmp, index_type="ivf-sq8"))
            s_ivf.rebuild_index("ivf-sq8")
            s_ivf.close()
            for p in nprobes:
                s_ivf = Store.open(Settings(data_dir=tmp, index_type="ivf-sq8", ivf_nprobe=p))
                r = evaluate(s_ivf, Searcher(s_ivf, embedder), embedder, items, variants=False, passage=False,
                             modes=("dense", "hybrid"), suffix=f" [ivf-sq8, nprobe {p}]")
                res["ranks"].update(r["ranks"])
                s_ivf.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    rows, summ = table(res, "article")
    c_rows, c_sum = compare(res, "article")
    lines = [
        f"#### Wikipedia held-out last sentence ({len(items)} queries, article level)\n",
        f"- index: {stats.articles:,} summaries minus their last sentence (those with ≥ 3 sentences; "
        f"{len(wiki) - len(pool):,} shorter ones whole, as distractors) → {stats.chunks:,} chunks, {stats.index_type}; "
        f"store built in {info['seconds']:.0f}s"
        + (f" ({info['embedding_cache_hits']:,} chunk vectors reused from wiki-store)" if info.get("embedding_cache_hits") else ""),
        f"- queries: seeded sample (seed {args.seed}) of {len(pool):,} last sentences; top {N_PASSAGES} passages per query; "
        f"evaluation took {secs:.0f}s",
    ]
    lines.append(f"- {100 * spurious_names([it['query'] for it in items]):.1f}% of the queries yield a stop word "
                 f"as a \"name\" (`index.search.query_names`: sentence-initial He/It/She/This…)")
    lines.append("")
    lines.append(bc.md_table(["retriever", "queries", "recall@1", "recall@5", "recall@10", "MRR"], rows, digits=3))
    lines.append("\nHybrid against each retriever, article level (paired bootstrap over queries, 10,000 resamples):\n")
    lines.append(bc.md_table(COMPARE_HEADERS, c_rows))
    return "\n".join(lines), {"summary": summ, "compare": c_sum, "store": info, "ranks": res["ranks"]}


def compare(res: dict, level: str, against=("index: dense", "index: lexical")) -> tuple[list, dict]:
    """Hybrid against each single retriever, per query: MRR and R@1 differences with 95%
    paired-bootstrap intervals (``bench_common.paired_bootstrap``)."""
    rows, out = [], {}
    hyb = res["ranks"]["index: hybrid"][level]
    for other in against:
        oth = res["ranks"][other][level]
        mrr = bc.paired_bootstrap(bc.reciprocal_ranks(hyb), bc.reciprocal_ranks(oth))
        at1 = bc.paired_bootstrap([float(r == 1) for r in hyb], [float(r == 1) for r in oth])
        out[other] = {"mrr": mrr, "r@1": at1}
        rows.append([f"hybrid − {other.removeprefix('index: ')}", mrr["n"], f"{mrr['diff']:+.3f}",
                     f"[{mrr['lo']:+.3f}, {mrr['hi']:+.3f}]", f"{at1['diff']:+.3f}", f"[{at1['lo']:+.3f}, {at1['hi']:+.3f}]",
                     f"{mrr['better']} / {mrr['worse']}"])
    return rows, out


COMPARE_HEADERS = ["comparison", "queries", "Δ MRR", "95% CI", "Δ recall@1", "95% CI", "queries better / worse"]


def news_items(paths: list[Path]) -> tuple[list[dict], int]:
    """Answerable rows of the question files as retrieval items, and how many were skipped."""
    items, skipped = [], 0
    for path in paths:
        for q in bc.read_jsonl(path):
            if not q.get("article_id"):
                skipped += 1
                continue
            items.append({"query": q["question"], "gold": q["article_id"], "support": q["support"],
                          "kind": q["kind"], "id": q["id"], "set": path.stem})
    return items, skipped


def news_task(args, embedder) -> tuple[str, dict]:
    from index import Searcher, Settings, Store, ingest

    paths = [Path(p) for p in args.questions] if args.questions else [p for p in bc.QUESTION_SETS if p.exists()]
    items, skipped = news_items(paths)
    tmp = Path(tempfile.mkdtemp(prefix="news-store-", dir=bc.OUT))
    try:
        settings = Settings(data_dir=tmp, quotes=False)
        store = Store.open(settings)
        report = ingest(store, embedder, NEWS_CORPUS, extractor=None)
        searcher = Searcher(store, embedder)
        # is each support inside some chunk at all? (else passage level cannot reach 1)
        import sqlite3

        db = sqlite3.connect(tmp / "catalogue.sqlite3")
        all_chunks = db.execute("SELECT text FROM chunks").fetchall()
        db.close()
        reachable = sum(1 for it in items if any(it["support"].casefold() in r[0].casefold() for r in all_chunks))
        res = evaluate(store, searcher, embedder, items, variants=not args.no_variants, passage=True)
        stats = store.stats()
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    a_rows, a_sum = table(res, "article")
    p_rows, p_sum = table(res, "passage")
    c_rows, c_sum = compare(res, "passage")

    def breakdown(key: str) -> list:
        out = []
        for name in ("index: dense", "index: lexical", "index: hybrid"):
            for value in dict.fromkeys(it[key] for it in items):
                idx = [i for i, it in enumerate(items) if it[key] == value]
                pa = summarize([res["ranks"][name]["article"][i] for i in idx])
                pp = summarize([res["ranks"][name]["passage"][i] for i in idx])
                out.append([name, value, len(idx), pa["r@1"], pa["r@5"], pp["r@1"], pp["r@5"], pp["mrr"]])
        return out

    head = ["retriever", "{}", "n", "article r@1", "article r@5", "passage r@1", "passage r@5", "passage MRR"]
    lines = [
        f"#### News questions ({len(items)} answerable; {skipped} unanswerable skipped)\n",
        "- questions: " + ", ".join(f"`{p.relative_to(bc.ROOT)}`" for p in paths),
        f"- corpus: `seeds/` + `bench/data/lee.jsonl` + `bench/data/lee_background.jsonl` → {stats.articles} articles, {stats.chunks} chunks "
        f"({len(report.skipped)} inputs skipped)",
        f"- supports contained in some chunk: {reachable}/{len(items)} (the passage-level ceiling)",
        "",
        "Article level:\n",
        bc.md_table(["retriever", "questions", "recall@1", "recall@5", "recall@10", "MRR"], a_rows, digits=3),
        "\nPassage level (a passage containing the support, case-insensitive):\n",
        bc.md_table(["retriever", "questions", "recall@1", "recall@5", "recall@10", "MRR"], p_rows, digits=3),
        "\nHybrid against each retriever, passage level (paired bootstrap over questions, 10,000 resamples):\n",
        bc.md_table(COMPARE_HEADERS, c_rows),
        "\nBy question set:\n",
        bc.md_table([h.format("set") for h in head], breakdown("set"), digits=3),
        "\nBy question kind:\n",
        bc.md_table([h.format("kind") for h in head], breakdown("kind"), digits=3),
    ]
    misses = [it["id"] for i, it in enumerate(items) if (res["ranks"]["index: hybrid"]["passage"][i] or 99) > 5]
    lines.append(f"\nhybrid passage-level misses at 5: {', '.join(misses) or 'none'}")
    return "\n".join(lines), {"article": a_sum, "passage": p_sum, "compare": c_sum, "reachable": reachable,
                              "ranks": res["ranks"], "items": [it["id"] for it in items]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=1000, help="held-out-sentence queries (seeded sample; default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    ap.add_argument("--news", action="store_true", help="also run the news-questions task (bench/data/)")
    ap.add_argument("--news-only", action="store_true", help="run only the news-questions task")
    ap.add_argument("--ivf-check", default="16,32", metavar="NPROBES",
                    help="also run dense/hybrid on the held-out store rebuilt as ivf-sq8 with these nprobe values "
                         "(default 16,32; '' skips)")
    ap.add_argument("--questions", action="append", metavar="JSONL",
                    help="news question file (repeatable; default: every set in bench/data/)")
    ap.add_argument("--no-variants", action="store_true", help="only the index's own three modes (no hybrid variants)")
    ap.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    args = ap.parse_args()

    from index import Embedder, Settings

    hw = bc.hardware()
    s = Settings()
    embedder = Embedder(s.model, s.batch_size)
    parts, payload = [], {"hardware": hw}
    if not args.news_only:
        text, payload["wiki"] = wiki_task(args, embedder)
        parts.append(text)
    if args.news or args.news_only:
        text, payload["news"] = news_task(args, embedder)
        parts.append(text)
    knobs = {k: getattr(s, k) for k in ("fusion", "lexical_weight", "rrf_k", "name_boost", "candidates",
                                         "chunk_tokens", "overlap_sentences") if hasattr(s, k)}
    extra = [
        "index settings (defaults of this tree): " + ", ".join(f"{k}={v}" for k, v in knobs.items()),
        "rows `hybrid, …` are the index's own Searcher in hybrid mode with those settings changed",
        "units: recall is a fraction of queries; MRR in [0, 1]",
    ]
    head = bc.header_block("bench_retrieval — retrieval quality", hw, "1 (deterministic: seeded sample, exact flat index)", extra)
    text = head + "\n" + "\n\n".join(parts)
    print(text)
    payload["markdown"] = text
    bc.save_json(args.json, payload)


if __name__ == "__main__":
    main()
