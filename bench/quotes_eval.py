"""Evaluate quote extraction against the hand-labelled gold set, ours vs textacy.

Data (all in ``bench/data/``, written by hand, never edited here):

* ``quotes_gold.jsonl`` — rows ``{"article_id", "quote", "speaker", "role"}``; ``quote`` is
  an exact substring of the article (its first occurrence is the quoted one).
* ``quotes_gold_articles.txt`` — the covered article ids (every quotation in them is
  labelled, so precision is measurable).
* ``lee.jsonl`` / ``lee_background.jsonl`` — articles ``{"id", "title", "text", …}``
  (made by ``bench/make_lee.py``); plus the seed article ``seeds/000_234da9cac87d4b52.txt``
  (id = file stem, text = whole file).

Scoring, per covered article, both systems on the same spaCy ``Doc`` (one parse):

* Spans are trimmed of whitespace and punctuation at both ends (gold and predicted).
* A predicted quote matches a gold one when their character spans overlap by at least
  50% of the shorter span; matching is one-to-one, largest overlap first.
  Precision = matched / predicted, recall = matched / gold, F1 their harmonic mean.
* Speaker accuracy over matched quotes: the predicted speaker (our
  ``canonical_speaker``; textacy's speaker tokens as written) is right when
  :func:`index.quotes.match_speakers` matches it to the gold speaker, or when the gold
  speaker's last name token is contained in it.

Usage (from the project root)::

    .venv/bin/python bench/quotes_eval.py            # Markdown table
    .venv/bin/python bench/quotes_eval.py --json     # machine-readable
    .venv/bin/python bench/quotes_eval.py --errors   # also list misses and wrong speakers
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.quotes import QuoteExtractor, _name_key, match_speakers  # noqa: E402
from index.settings import DEFAULT_SPACY_MODEL  # noqa: E402

DATA = ROOT / "bench" / "data"
GOLD = DATA / "quotes_gold.jsonl"
COVERED = DATA / "quotes_gold_articles.txt"
ARTICLE_FILES = (DATA / "lee.jsonl", DATA / "lee_background.jsonl")
SEEDS = ROOT / "seeds"
MIN_OVERLAP = 0.5
_TRIM = " \t\r\n\"'“”‘’«»„.,;:!?…-–—()[]"


@dataclass
class Span:
    start: int
    end: int
    speaker: str | None = None
    text: str = ""


@dataclass
class Score:
    predicted: int = 0
    gold: int = 0
    matched: int = 0
    speaker_ok: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def speaker_accuracy(self) -> float:
        return self.speaker_ok / self.matched if self.matched else 0.0

    def as_dict(self) -> dict:
        return {
            "predicted": self.predicted,
            "gold": self.gold,
            "matched": self.matched,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "speaker_correct": self.speaker_ok,
            "speaker_accuracy": round(self.speaker_accuracy, 4),
            "seconds": round(self.seconds, 3),
        }


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past whitespace and punctuation at both ends."""
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


def load_articles() -> dict[str, str]:
    articles: dict[str, str] = {}
    for path in ARTICLE_FILES:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    articles[rec["id"]] = rec["text"]
    for path in sorted(SEEDS.glob("*.txt")):
        articles[path.stem] = path.read_text(encoding="utf-8")
    return articles


def load_gold(articles: dict[str, str]) -> tuple[list[str], dict[str, list[Span]], list[str]]:
    covered = [ln.strip() for ln in COVERED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    gold: dict[str, list[Span]] = {a: [] for a in covered}
    warnings = []
    with GOLD.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            aid = row["article_id"]
            if aid not in gold:
                warnings.append(f"gold line {n}: article {aid} is not in the covered list; skipped")
                continue
            text = articles.get(aid)
            at = text.find(row["quote"]) if text is not None else -1
            if at < 0:
                warnings.append(f"gold line {n}: quote not found in {aid}; counted as missed")
                gold[aid].append(Span(-1, -1, row.get("speaker"), row["quote"]))
                continue
            a, b = trim(text, at, at + len(row["quote"]))
            gold[aid].append(Span(a, b, row.get("speaker"), row["quote"]))
    missing = [a for a in covered if a not in articles]
    for a in missing:
        warnings.append(
            f"covered article {a} not found in {', '.join(p.name for p in ARTICLE_FILES)} or seeds/"
        )
    return [a for a in covered if a in articles], gold, warnings


def speaker_matches(gold: str | None, pred: str | None) -> bool:
    if not gold or not pred:
        return False
    if match_speakers(gold, [pred]):
        return True
    key = _name_key(gold, strip_titles=False)
    return bool(key) and key[-1] in _name_key(pred, strip_titles=False)


def score_article(
    aid: str, text: str, preds: list[Span], golds: list[Span], sc: Score, errors: bool
) -> None:
    sc.predicted += len(preds)
    sc.gold += len(golds)
    pairs = []
    for gi, g in enumerate(golds):
        if g.start < 0:
            continue
        for pi, p in enumerate(preds):
            ov = min(g.end, p.end) - max(g.start, p.start)
            shorter = min(g.end - g.start, p.end - p.start)
            if shorter > 0 and ov >= MIN_OVERLAP * shorter:
                pairs.append((ov, gi, pi))
    used_g, used_p = set(), set()
    for _ov, gi, pi in sorted(pairs, reverse=True):
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        sc.matched += 1
        g, p = golds[gi], preds[pi]
        if speaker_matches(g.speaker, p.speaker):
            sc.speaker_ok += 1
        elif errors:
            sc.errors.append(
                f"{aid}: speaker {p.speaker!r} != gold {g.speaker!r} for {text[g.start : g.end][:60]!r}"
            )
    if errors:
        for gi, g in enumerate(golds):
            if gi not in used_g:
                sc.errors.append(f"{aid}: missed {g.text[:70]!r} ({g.speaker})")
        for pi, p in enumerate(preds):
            if pi not in used_p:
                sc.errors.append(f"{aid}: spurious {text[p.start : p.end][:70]!r} ({p.speaker})")


def ours(extractor: QuoteExtractor, doc, text: str) -> list[Span]:
    out = []
    for q in extractor.extract_from_doc(doc, text):
        a, b = trim(text, q.start, q.end)
        if b > a:
            out.append(Span(a, b, q.canonical_speaker or q.speaker))
    return out


def textacy_quotes(doc, text: str) -> list[Span]:
    from textacy.extract.triples import direct_quotations

    out = []
    try:
        for triple in direct_quotations(doc):
            content = triple.content
            a, b = trim(text, content.start_char, content.end_char)
            speaker = " ".join(t.text for t in triple.speaker)
            if b > a:
                out.append(Span(a, b, speaker))
    except ValueError:
        pass  # textacy refuses articles with an odd number of quote marks
    return out


def run(model: str, errors: bool) -> dict:
    articles = load_articles()
    covered, gold, warnings = load_gold(articles)
    extractor = QuoteExtractor(model)
    _ = extractor.nlp  # load before timing
    ours_sc, tx_sc = Score(), Score()
    parse_s = 0.0
    for aid in covered:
        text = articles[aid]
        t0 = time.perf_counter()
        doc = extractor.parse(text)
        t1 = time.perf_counter()
        pred = ours(extractor, doc, text)
        t2 = time.perf_counter()
        tx = textacy_quotes(doc, text)
        t3 = time.perf_counter()
        parse_s += t1 - t0
        ours_sc.seconds += t2 - t1
        tx_sc.seconds += t3 - t2
        score_article(aid, text, pred, gold[aid], ours_sc, errors)
        score_article(aid, text, tx, gold[aid], tx_sc, errors)
    return {
        "model": model,
        "articles": len(covered),
        "gold_quotes": sum(len(v) for v in gold.values()),
        "parse_seconds": round(parse_s, 3),
        "ours": ours_sc,
        "textacy": tx_sc,
        "warnings": warnings,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--model", default=DEFAULT_SPACY_MODEL, help="spaCy pipeline (default: %(default)s)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of Markdown")
    ap.add_argument(
        "--errors", action="store_true", help="list missed, spurious and wrongly attributed quotes"
    )
    args = ap.parse_args(argv)
    for path in (GOLD, COVERED):
        if not path.exists():
            print(
                f"missing {path.relative_to(ROOT)}: the gold set is not there yet", file=sys.stderr
            )
            return 2
    res = run(args.model, args.errors)
    command = ".venv/bin/python bench/quotes_eval.py" + (
        " " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        if (argv or sys.argv[1:])
        else ""
    )
    if args.json:
        out = {k: (v.as_dict() if isinstance(v, Score) else v) for k, v in res.items()}
        out["command"] = command
        if args.errors:
            out["errors"] = {"ours": res["ours"].errors, "textacy": res["textacy"].errors}
        print(json.dumps(out, indent=2))
        return 0
    for w in res["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    print(
        f"Quote extraction on {res['articles']} covered articles, {res['gold_quotes']} gold quotes "
        f"(spaCy `{res['model']}`, parse {res['parse_seconds']:.1f}s shared)\n"
    )
    print("| system | predicted | matched | precision | recall | F1 | speaker acc. | extract s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in ("ours", "textacy"):
        s: Score = res[name]
        label = "citebot (index.quotes)" if name == "ours" else "textacy direct_quotations"
        print(
            f"| {label} | {s.predicted} | {s.matched} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} "
            f"| {s.speaker_accuracy:.3f} ({s.speaker_ok}/{s.matched}) | {s.seconds:.2f} |"
        )
    print(f"\nCommand: `{command}`")
    if args.errors:
        for name in ("ours", "textacy"):
            print(f"\n## {name}: errors\n")
            for e in res[name].errors:
                print(f"- {e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
