"""The ``citebot`` command line: each command opens the engine or store and calls one
library function; errors become one line on stderr.

Run ``citebot --help`` or ``citebot COMMAND --help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict
from typing import TextIO

from index.errors import CitebotError
from index.store import Store

from .settings import BotSettings

__all__ = ["main", "build_parser"]

log = logging.getLogger("citebot")

BOTFATHER_HINT = (
    "No Telegram token configured, so starting the terminal chat instead.\n"
    "To run the Telegram bot: open Telegram, message @BotFather, send /newbot, and put the token\n"
    "it gives you in TELEGRAM_BOT_TOKEN (environment or .env file), then run this again."
)


def _settings(args: argparse.Namespace) -> BotSettings:
    return BotSettings.from_env(
        dotenv=args.env_file, data_dir=args.data_dir, model=args.model,
        api_base_url=getattr(args, "api_base_url", None), webhook_url=getattr(args, "webhook", None),
    )


def _engine(args: argparse.Namespace, *, seed: bool = False):
    from .answer import Engine  # heavy imports (torch) only for commands that need them

    engine = Engine.open(_settings(args))
    if seed:
        report = engine.ensure_seeded(progress=_progress(args))
        if report is not None:
            print(f"indexed the seed articles: {report.summary()}", file=sys.stderr)
    return engine


def _store(args: argparse.Namespace) -> Store:
    return Store.open(_settings(args).index)


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _lines(first: str, stdin: TextIO) -> Iterator[str]:
    """The one argument, or (for ``-``) each non-empty line of stdin."""
    if first != "-":
        yield first
        return
    for line in stdin:
        if line.strip():
            yield line.strip()


def _emit(obj: object, out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


def _print_records(args: argparse.Namespace, records: list, render: Callable[[list], str]) -> int:
    """One JSON object per record with --json, else the rendered text."""
    if args.json:
        for record in records:
            _emit(asdict(record), sys.stdout)
    else:
        print(render(records))
    return 0


# -- commands ----------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from .terminal import render_report

    engine = _engine(args)
    with closing(engine):
        report = engine.ingest(args.paths, progress=_progress(args))
    if args.json:
        _emit(
            {
                "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                "skipped": [asdict(s) for s in report.skipped], "chunks": report.chunks,
                "quotes": report.quotes, "seconds": round(report.seconds, 3),
            },
            sys.stdout,
        )
    else:
        print(render_report(report))
    return 0 if report.ok else 1


def cmd_search(args: argparse.Namespace) -> int:
    from .terminal import render_hits

    engine = _engine(args)
    with closing(engine):
        for query in _lines(args.query, sys.stdin):
            hits = engine.search(query, k=args.k, mode=args.mode)
            if args.json:
                _emit({"query": query, "mode": args.mode, "hits": [h.to_json() for h in hits]}, sys.stdout)
            else:
                print(render_hits(query, hits))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .terminal import render_answer

    engine = _engine(args, seed=True)
    with closing(engine):
        for question in _lines(args.question, sys.stdin):
            try:
                answer = engine.ask(question)
            except CitebotError as e:
                if args.question != "-":
                    raise
                _emit({"question": question, "error": str(e)}, sys.stdout)
                continue
            if args.json:
                _emit(answer.to_json(), sys.stdout)
            else:
                print(render_answer(answer) + ("\n" if args.question == "-" else ""))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    engine = _engine(args, seed=True)
    with closing(engine):
        return chat(engine, sys.stdin, sys.stdout)


def chat(engine, stdin: TextIO, stdout: TextIO) -> int:
    """An interactive terminal conversation; ``/open N`` shows a cited passage, ``/quit`` ends."""
    from .terminal import render_answer

    stats = engine.stats()
    examples = engine.example_questions(2)
    print(f"citebot — {stats.articles} articles, {stats.quotes} quotes. Ask a question; /open N shows source N; /quit ends.", file=stdout)
    if examples:
        print("Try: " + "  |  ".join(examples), file=stdout)
    last = None
    while True:
        print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            print(file=stdout)
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit", "quit", "exit"):
            return 0
        if line.startswith("/open"):
            parts = line.split()
            cite = None
            if last is not None and len(parts) == 2 and parts[1].isdigit():
                cite = next((c for c in last.citations if c.n == int(parts[1])), None)
            if cite is None:
                print("Usage: /open N, where N is a source number of the last answer.", file=stdout)
                continue
            print(f"[{cite.n}] {cite.title}\n{cite.url or cite.article_id}, chars {cite.start}–{cite.end}\n\n{cite.passage}\n", file=stdout)
            continue
        try:
            last = engine.ask(line)
        except CitebotError as e:
            print(f"Sorry: {e}", file=stdout)
            continue
        print(render_answer(last) + "\n", file=stdout)


def cmd_list(args: argparse.Namespace) -> int:
    from .terminal import render_articles

    with _store(args) as store:
        articles = store.articles(limit=args.limit)
    return _print_records(args, articles, render_articles)


def cmd_stats(args: argparse.Namespace) -> int:
    from .terminal import render_stats

    with _store(args) as store:
        stats = store.stats()
    return _print_records(args, [stats], lambda records: render_stats(records[0]))


def cmd_remove(args: argparse.Namespace) -> int:
    with _store(args) as store:
        removed = store.remove(args.ids)
    missing = [i for i in args.ids if i not in removed]
    for i in removed:
        print(f"removed {i}")
    for i in missing:
        print(f"citebot: no article with id {i!r}", file=sys.stderr)
    return 0 if not missing else 1


def cmd_quotes(args: argparse.Namespace) -> int:
    from .terminal import render_quotes

    if args.speaker:
        engine = _engine(args)
        with closing(engine):
            quotes = engine.quotes(args.speaker, args.article)
    else:
        with _store(args) as store:
            quotes = store.quotes(article_id=args.article)
    return _print_records(args, quotes, render_quotes)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from index.embedding import load_embedder
    from index.ingest import reembed
    from index.quotes import QuoteExtractor

    settings = _settings(args)
    if args.reembed:
        store = Store.open(settings.index, allow_model_mismatch=True)
        embedder = load_embedder(settings.index.model, settings.index.batch_size, settings.index.threads)
        extractor = QuoteExtractor(settings.index.spacy_model) if settings.index.quotes else None
        store, report = reembed(store, embedder, extractor=extractor, progress=_progress(args))
        with store:
            print(f"re-embedded with {settings.index.model}: {report.summary()}")
        return 0
    with Store.open(settings.index) as store:
        kind = store.rebuild_index(args.index_type)
        print(f"rebuilt the vector index as {kind} ({store.stats().index_vectors} vectors)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .telegram import run_bot

    settings = _settings(args)
    if not settings.telegram_token:
        raise CitebotError("no Telegram token: set TELEGRAM_BOT_TOKEN (or TELEGRAM_BOT_TOKEN_FILE); see @BotFather")
    engine = _engine(args, seed=True)
    with closing(engine):
        run_bot(settings, engine)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The README's run command: the bot when a token is set, else the terminal chat."""
    if _settings(args).telegram_token:
        return cmd_serve(args)
    print(BOTFATHER_HINT, file=sys.stderr)
    return cmd_chat(args)


# -- parser ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    p = argparse.ArgumentParser(
        prog="citebot",
        description="Answer questions about news articles, citing the exact passages.",
        epilog="Settings also come from CITEBOT_* environment variables and a .env file; see README.",
    )
    p.add_argument("--data-dir", help="data directory (default: $CITEBOT_DATA_DIR or ./data)")
    p.add_argument("--model", help="embedding model: all-MiniLM-L6-v2 or a local folder")
    p.add_argument("--env-file", default=".env", help="settings file to read (default: .env)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        return sp

    sp = add("ingest", cmd_ingest, "add or update articles from files, folders or URLs")
    sp.add_argument("paths", nargs="+", metavar="PATH_OR_URL", help=".txt .md .html .json .jsonl files, folders, http(s) URLs")
    sp.add_argument("--json", action="store_true", help="print the report as JSON")

    sp = add("search", cmd_search, "find the passages that match a query")
    sp.add_argument("query", help="the query, or - to read one query per line from stdin")
    sp.add_argument("-k", type=int, default=5, help="passages to return (default 5)")
    sp.add_argument("--mode", choices=["dense", "lexical", "hybrid"], default="hybrid", help="retriever (default hybrid)")
    sp.add_argument("--json", action="store_true", help="one JSON object per query")

    sp = add("ask", cmd_ask, "answer a question with citations")
    sp.add_argument("question", help="the question, or - to read one question per line from stdin")
    sp.add_argument("--json", action="store_true", help="one JSON object per question")

    add("chat", cmd_chat, "ask questions in an interactive terminal conversation")

    sp = add("list", cmd_list, "list indexed articles, newest first")
    sp.add_argument("--limit", type=int, help="at most this many")
    sp.add_argument("--json", action="store_true", help="one JSON object per article")

    sp = add("stats", cmd_stats, "counts, model, index type and sizes")
    sp.add_argument("--json", action="store_true", help="as JSON")

    sp = add("remove", cmd_remove, "remove articles (with their passages and quotes)")
    sp.add_argument("ids", nargs="+", metavar="ID", help="article ids (see citebot list)")

    sp = add("quotes", cmd_quotes, "who said what")
    sp.add_argument("--speaker", help="a speaker name (fuzzy: 'obrien' finds Robert O’Brien)")
    sp.add_argument("--article", help="only quotes from this article id")
    sp.add_argument("--json", action="store_true", help="one JSON object per quote")

    sp = add("rebuild", cmd_rebuild, "rebuild the vector index, or re-embed everything with another model")
    sp.add_argument("--index-type", choices=["auto", "flat", "hnsw", "ivf-sq8"], help="index type to build")
    sp.add_argument("--reembed", action="store_true", help="re-chunk and re-embed all articles with --model")

    sp = add("serve", cmd_serve, "run the Telegram bot (long polling, or --webhook)")
    sp.add_argument("--webhook", metavar="URL", help="public HTTPS URL for webhook mode")
    sp.add_argument("--api-base-url", help="Bot API base URL (self-hosted Bot API server)")

    sp = add("run", cmd_run, "index the seeds if needed, then the bot (with a token) or the terminal chat")
    sp.add_argument("--webhook", metavar="URL", help="public HTTPS URL for webhook mode")
    sp.add_argument("--api-base-url", help="Bot API base URL (self-hosted Bot API server)")
    return p


def _configure_logging(verbose: int, quiet: bool, level_name: str | None = None) -> None:
    """-q: errors only; -v: info; -vv: debug; otherwise ``level_name`` (serve) or warnings."""
    if quiet:
        level = logging.ERROR
    elif verbose:
        level = logging.DEBUG if verbose > 1 else logging.INFO
    else:
        level = logging.getLevelName((level_name or "WARNING").upper())
        level = level if isinstance(level, int) else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "sentence_transformers", "transformers", "urllib3", "filelock", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``citebot`` console script.

    Returns:
        The exit code: 0 ok, 1 a citebot error (one line on stderr), 2 usage, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    level_name = None  # the terminal commands log warnings only; the bot logs at its level
    if args.command in ("serve", "run"):
        try:
            settings = _settings(args)
            if args.command == "serve" or settings.telegram_token:
                level_name = settings.log_level
        except CitebotError:
            level_name = "INFO"  # the command itself reports the bad setting
    _configure_logging(args.verbose, args.quiet, level_name)
    try:
        return args.func(args)
    except CitebotError as e:
        print(f"citebot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("citebot: interrupted; committed work is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - a bug: one line here, the traceback with -v
        log.debug("unexpected error", exc_info=True)
        print(f"citebot: internal error: {type(e).__name__}: {_redacted(str(e))} (run with -v for details)", file=sys.stderr)
        return 2


def _redacted(text: str) -> str:
    """The message with the configured token and secrets blanked out."""
    for var in ("TELEGRAM_BOT_TOKEN", "CITEBOT_WEBHOOK_SECRET", "CITEBOT_LLM_API_KEY"):
        secret = os.environ.get(var)
        if secret and len(secret) >= 8:
            text = text.replace(secret, "<redacted>")
    return text


if __name__ == "__main__":
    sys.exit(main())
