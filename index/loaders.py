"""Files, folders and URLs → :class:`Article` records.

Supported inputs:

* ``.txt`` / ``.md``: the first non-empty line is the headline; optional front matter
  (``---`` … ``---`` with ``key: value`` lines for ``id``, ``title``, ``url``, ``date``,
  ``source``) at the very top.
* ``.html`` / ``.htm``: main text and metadata through trafilatura.
* ``.jsonl`` (one object per line) and ``.json`` (an object or a list of objects) with
  ``text`` and optional ``id``, ``title``, ``url``, ``date``, ``source``.
* folders (recursively, in name order) and ``http(s)://`` URLs.

Everything that cannot be read becomes a :class:`Skipped` with a one-line reason; the
caller decides how to report it. Loading never raises for a bad file.

Example:
    >>> from index.loaders import iter_articles
    >>> [a.title for a in iter_articles(["seeds"]) if hasattr(a, "title")][:1]  # doctest: +SKIP
    ['White House Confirms Trump Administration Contacted North Korea To ‘Continue The Negotiations’']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import FetchError, InputError
from .settings import Settings

__all__ = ["Article", "Skipped", "iter_articles", "load_path", "load_url", "clean_text", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".json")
_META_KEYS = ("id", "title", "url", "date", "source")
_SURROGATES = re.compile("[\ud800-\udfff]")
_ID_RE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_ID = 48
_USER_AGENT = "citebot/0.1 (+https://example.invalid/citebot)"


@dataclass(frozen=True)
class Article:
    """One article, as loaded.

    Attributes:
        id: Stable identifier (explicit id, file stem, or a hash of the URL).
        title: Headline.
        text: Full text; every chunk and quote offset points into it.
        url: Original URL when known.
        date: Publication date as given.
        source: Publication or feed name.
        origin: Where it was loaded from (path, ``path:line`` or URL).
    """

    id: str
    title: str
    text: str
    url: str | None = None
    date: str | None = None
    source: str | None = None
    origin: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of everything stored for the article; unchanged hash → nothing to do."""
        h = hashlib.sha256()
        for part in (self.title, self.text, self.url or "", self.date or "", self.source or ""):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclass(frozen=True)
class Skipped:
    """An input that was not loaded, and why."""

    origin: str
    reason: str


LoadResult = Article | Skipped


def iter_articles(targets: Iterable[str | os.PathLike], settings: Settings | None = None) -> Iterator[LoadResult]:
    """Load articles from paths, folders and URLs, lazily.

    Args:
        targets: Files, folders or ``http(s)://`` URLs.
        settings: Limits (file size, fetch timeout); defaults if omitted.

    Returns:
        An iterator of :class:`Article` and :class:`Skipped` records, in input order.
    """
    settings = settings or Settings()
    for target in targets:
        t = str(target)
        if t.startswith(("http://", "https://")):
            try:
                yield load_url(t, settings)
            except InputError as e:
                yield Skipped(t, str(e))
            continue
        path = Path(t)
        if not path.exists():
            yield Skipped(t, "no such file or folder")
        elif path.is_dir():
            yield from _iter_dir(path, settings)
        else:
            yield from load_path(path, settings)


def _iter_dir(root: Path, settings: Settings) -> Iterator[LoadResult]:
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        for d in list(dirnames):
            link = here / d
            if link.is_symlink():
                target = link.resolve()
                if not target.is_relative_to(real_root):
                    yield Skipped(str(link), f"symlink to {target}, outside {root}; not followed")
                # a link to a folder inside the root is walked there already
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                yield Skipped(str(path), f"symlink to {path.resolve()}, outside {root}; not followed")
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                yield Skipped(str(path), f"unsupported file type {path.suffix or '(none)'}")
                continue
            # ids follow the path below the folder, so 2019/jan/index.txt ≠ 2019/feb/index.txt
            yield from load_path(path, settings, default_id="-".join(path.relative_to(root).with_suffix("").parts))


def load_path(path: Path, settings: Settings | None = None, default_id: str | None = None) -> Iterator[LoadResult]:
    """Load one file (which may hold many articles, e.g. JSON lines).

    Args:
        path: The file.
        settings: Limits; defaults if omitted.
        default_id: Id (or id prefix for JSON records) when the file gives none; the
            file name without its extension by default.

    Returns:
        An iterator of :class:`Article` / :class:`Skipped`.
    """
    settings = settings or Settings()
    origin = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(origin, f"unsupported file type {suffix or '(none)'}; use .txt .md .html .json .jsonl")
        return
    stem = default_id or path.stem
    if suffix == ".jsonl":  # streamed line by line: any size, constant memory
        yield from _stream_jsonl(path, origin, stem)
        return
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            yield Skipped(origin, f"file is {size:,} bytes, over the {settings.max_file_bytes:,}-byte limit")
            return
        data = path.read_bytes()
    except OSError as e:
        yield Skipped(origin, f"cannot read: {e.strerror or e}")
        return
    try:
        text = decode_text(data)
    except InputError as e:
        yield Skipped(origin, str(e))
        return
    if suffix == ".json":
        yield from _load_json(text, origin, stem)
        return
    try:
        if suffix in (".html", ".htm"):
            yield article_from_html(text, default_id=stem, origin=origin)
        else:
            yield article_from_text(text, default_id=stem, origin=origin)
    except InputError as e:
        yield Skipped(origin, str(e))


def decode_text(data: bytes) -> str:
    """Decode UTF-8 bytes (BOM allowed); binary or other encodings are an :class:`InputError`."""
    if b"\x00" in data[:8192]:
        raise InputError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (bad byte at offset {e.start}); convert it to UTF-8") from None


def article_from_text(raw: str, default_id: str, origin: str = "", url: str | None = None) -> Article:
    """Build an article from plain text or Markdown with optional front matter.

    Args:
        raw: The file content.
        default_id: Id used when the front matter gives none.
        origin: Where it came from.
        url: URL when known (front matter wins).

    Returns:
        The article; its text is the content after the front matter, unchanged.
    """
    meta, body = _split_front_matter(raw)
    if not body.strip():
        raise InputError("empty: no text")
    title = meta.get("title") or _headline(body)
    return Article(
        id=make_id(meta.get("id") or default_id),
        title=title,
        text=body,
        url=meta.get("url") or url,
        date=meta.get("date"),
        source=meta.get("source"),
        origin=origin,
    )


def article_from_html(html: str, default_id: str, origin: str = "", url: str | None = None) -> Article:
    """Extract the main text and metadata of an HTML page with trafilatura."""
    try:
        import trafilatura
    except ImportError as e:  # pragma: no cover - dependency problem
        raise InputError(f"HTML support unavailable: {e}") from None
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if doc is None:
        raise InputError("no article text found in the HTML")
    get = doc.get if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    text = (get("text") or "").strip()
    if not text:
        raise InputError("no article text found in the HTML")
    title = (get("title") or "").strip() or _headline(text)
    page_url = url or get("url")
    return Article(
        id=make_id(default_id if not url else url_id(url)),
        title=title,
        text=text,
        url=page_url,
        date=get("date"),
        source=get("sitename") or get("hostname"),
        origin=origin,
    )


def _stream_jsonl(path: Path, origin: str, stem: str) -> Iterator[LoadResult]:
    count = 0
    try:
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                count += 1
                where = f"{origin}:{lineno}"
                try:
                    item = json.loads(decode_text(raw))
                except InputError as e:
                    yield Skipped(where, str(e))
                    continue
                except json.JSONDecodeError as e:
                    yield Skipped(where, f"invalid JSON: {e.msg}")
                    continue
                try:
                    yield article_from_record(item, default_id=stem, origin=where)
                except InputError as e:
                    yield Skipped(where, str(e))
    except OSError as e:
        yield Skipped(origin, f"cannot read: {e.strerror or e}")
        return
    if count == 0:
        yield Skipped(origin, "empty: no records")


def _load_json(text: str, origin: str, stem: str) -> Iterator[LoadResult]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        yield Skipped(origin, f"invalid JSON at line {e.lineno}: {e.msg}")
        return
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        yield Skipped(origin, "empty: no records")
    for i, item in enumerate(items):
        where = f"{origin}[{i}]"
        try:
            yield article_from_record(item, default_id=stem, origin=where)
        except InputError as e:
            yield Skipped(where, str(e))


def article_from_record(item: object, default_id: str, origin: str = "") -> Article:
    """Build an article from a JSON object with ``text`` and optional metadata.

    The id is ``id``, else derived from ``url``, else ``<default_id>-<hash of the text>``.
    """
    if not isinstance(item, dict):
        raise InputError("expected a JSON object with a \"text\" field")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError("record has no \"text\"")
    text = clean_text(text)
    meta = {k: clean_text(str(item[k])) for k in _META_KEYS if item.get(k) not in (None, "")}
    url = meta.get("url")
    # no id and no url: name it by its text, so re-reading the file (even reordered) finds it
    ident = meta.get("id") or (url_id(url) if url else f"{default_id}-{hashlib.sha1(text.encode()).hexdigest()[:10]}")
    return Article(
        id=make_id(ident),
        title=meta.get("title") or _headline(text),
        text=text,
        url=url,
        date=meta.get("date"),
        source=meta.get("source"),
        origin=origin,
    )


def load_url(url: str, settings: Settings | None = None) -> Article:
    """Fetch one URL (timeout and size cap from settings) and load it as HTML or text.

    Raises:
        FetchError: unreachable, HTTP error, too large, or not text.
    """
    settings = settings or Settings()
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.1"})
    try:
        with urllib.request.urlopen(req, timeout=settings.fetch_timeout) as resp:  # noqa: S310 - http(s) only
            final_url = resp.geturl()
            ctype = resp.headers.get_content_type()
            charset = resp.headers.get_content_charset() or "utf-8"
            body = resp.read(settings.fetch_max_bytes + 1)
    except urllib.error.HTTPError as e:
        raise FetchError(f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise FetchError(f"unreachable: {reason}") from None
    if len(body) > settings.fetch_max_bytes:
        raise FetchError(f"larger than the {settings.fetch_max_bytes:,}-byte limit")
    if ctype not in ("text/html", "application/xhtml+xml", "text/plain", "text/markdown"):
        raise FetchError(f"not an article (content type {ctype})")
    try:
        text = body.decode(charset, errors="strict")
    except (UnicodeDecodeError, LookupError):
        raise FetchError(f"cannot decode the page as {charset}") from None
    if ctype == "text/plain" or ctype == "text/markdown":
        return article_from_text(text, default_id=url_id(final_url), origin=url, url=final_url)
    return article_from_html(text, default_id=url_id(final_url), origin=url, url=final_url)


def url_id(url: str) -> str:
    """Stable article id for a URL."""
    return "url-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def make_id(raw: str) -> str:
    """Make a safe, short article id (letters, digits, ``._-``)."""
    ident = _ID_RE.sub("-", raw.strip()).strip("-.") or "article"
    if len(ident) > _MAX_ID:
        ident = ident[: _MAX_ID - 9] + "-" + hashlib.sha1(ident.encode()).hexdigest()[:8]
    return ident


def clean_text(text: str) -> str:
    """Replace lone surrogates (from JSON escapes of broken emoji) without moving offsets."""
    return _SURROGATES.sub("\ufffd", text)


def _split_front_matter(raw: str) -> tuple[dict[str, str], str]:
    if not raw.startswith("---"):
        return {}, raw
    lines = raw.split("\n")
    if lines[0].strip() != "---":
        return {}, raw
    for i in range(1, min(len(lines), 60)):
        if lines[i].strip() in ("---", "..."):
            meta = {}
            for line in lines[1:i]:
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() in _META_KEYS:
                    meta[key.strip().lower()] = value.strip().strip("'\"")
            return meta, "\n".join(lines[i + 1 :])
    return {}, raw


def _headline(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 200 else line[:197].rstrip() + "…"
    return "(untitled)"
