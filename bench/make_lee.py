"""Convert gensim's Lee news corpora (``lee.cor``, ``lee_background.cor``) to citebot's JSON-lines article format.

``lee.cor`` ships with gensim's test data (LGPL): 50 short ABC News (Australia) articles
from 2001-2002, one article per line, in a single-byte encoding. The file's only
non-ASCII byte is 0xA3 ("£"), which is the same character in latin-1 and cp1252, and it
has no bytes in 0x80-0x9F (where the two differ: cp1252 curly quotes), so it is decoded
as latin-1. The script refuses to run if that ever stops being true.

``lee_background.cor`` is its companion in gensim's test data: 300 more ABC News
articles (2002), one per line, in the same format. (In gensim 4.x it is pure ASCII.)
With ``--background`` the script converts only its FIRST 60 articles (``--limit``), with
ids ``leebg-000`` ... ``leebg-059``, decoded exactly like ``lee.cor`` (same checks).

Each output line is one JSON object::

    {"id": "lee-00", "title": <first sentence, at most 100 characters>,
     "text": <the decoded line, trailing whitespace removed, otherwise unchanged>,
     "source": "ABC News (gensim lee.cor)"}

(for ``--background``: ``"id": "leebg-000"`` and
``"source": "ABC News (gensim lee_background.cor)"``).

The text is kept byte-faithful to the decoded line (straight quotes, double spaces and
all) because the gold data in ``bench/data/`` gives exact substrings of it.

Usage (from the project root)::

    .venv/bin/python bench/make_lee.py                 # writes bench/data/lee.jsonl
    .venv/bin/python bench/make_lee.py -o other.jsonl  # somewhere else
    .venv/bin/python bench/make_lee.py --background    # writes bench/data/lee_background.jsonl
                                                       # (first 60 articles of lee_background.cor)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

SOURCE = "ABC News (gensim lee.cor)"
BG_SOURCE = "ABC News (gensim lee_background.cor)"
MAX_TITLE = 100
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "lee.jsonl"
BG_DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "lee_background.jsonl"
BG_LIMIT = 60  # only the first 60 background articles are converted (and labelled)

# A sentence ends at . ! or ? (optionally followed by a closing quote) when whitespace
# and an upper-case letter or opening quote follow. "Sept. 11", "U.S. intelligence" and
# "U.S.-British" are therefore not sentence ends.
_SENTENCE_END = re.compile(r"[.!?][\"']?(?=\s+[\"']?[A-Z])")


def lee_path(name: str = "lee.cor") -> Path:
    """Where gensim keeps ``lee.cor`` (or another of its test files, e.g. ``lee_background.cor``)."""
    from gensim.test.utils import datapath

    return Path(datapath(name))


def decode(data: bytes, name: str = "lee.cor") -> str:
    """Decode lee.cor's bytes (latin-1; equal to cp1252 for this file, checked)."""
    c1 = sorted({b for b in data if 0x80 <= b <= 0x9F})
    if c1:
        raise SystemExit(
            f"{name} has bytes {[hex(b) for b in c1]} where latin-1 and cp1252 differ; "
            "check which encoding is right before converting"
        )
    return data.decode("latin-1")


def first_sentence(text: str, limit: int = MAX_TITLE) -> str:
    """The article's first sentence, cut at a word boundary to at most ``limit`` characters."""
    m = _SENTENCE_END.search(text)
    sentence = text[: m.end()] if m else text
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    if cut.count('"') % 2:  # do not leave a quotation open in the title
        cut = cut[: cut.rfind('"')]
    return cut.rstrip(" ,;:-") + "…"


def convert(
    data: bytes,
    *,
    prefix: str = "lee-",
    width: int = 2,
    source: str = SOURCE,
    limit: int | None = None,
    name: str = "lee.cor",
) -> list[dict[str, str]]:
    """Turn the corpus bytes into article records, one per non-empty line.

    The defaults reproduce lee.jsonl; ``limit`` keeps only the first ``limit`` articles.
    """
    lines = decode(data, name).split("\n")
    records = []
    for line in lines:
        if limit is not None and len(records) >= limit:
            break
        text = line.rstrip()
        if not text:
            continue
        n = len(records)
        records.append({"id": f"{prefix}{n:0{width}d}", "title": first_sentence(text), "text": text, "source": source})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-i", "--input", type=Path, default=None, help="lee.cor, or lee_background.cor with --background (default: gensim's copy)")
    parser.add_argument(
        "-o", "--output", type=Path, default=None,
        help=f"default: {DEFAULT_OUT} (with --background: {BG_DEFAULT_OUT})",
    )
    parser.add_argument(
        "--background", action="store_true",
        help=f"convert lee_background.cor instead: the first {BG_LIMIT} articles, ids leebg-000 ...",
    )
    parser.add_argument(
        "--limit", type=int, default=BG_LIMIT,
        help=f"with --background: how many articles to keep (default {BG_LIMIT})",
    )
    args = parser.parse_args(argv)
    if args.background:
        name = "lee_background.cor"
        src = args.input or lee_path(name)
        out = args.output or BG_DEFAULT_OUT
        records = convert(src.read_bytes(), prefix="leebg-", width=3, source=BG_SOURCE, limit=args.limit, name=name)
        if len(records) != args.limit:
            print(f"warning: expected {args.limit} articles from {src}, found {len(records)}", file=sys.stderr)
    else:
        src = args.input or lee_path()
        out = args.output or DEFAULT_OUT
        records = convert(src.read_bytes())
        if len(records) != 50:
            print(f"warning: expected 50 articles in {src}, found {len(records)}", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} articles to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
