"""Loading articles from each supported kind of input, and refusing bad ones clearly."""

from __future__ import annotations

import json

from index.loaders import Article, Skipped, iter_articles
from index.settings import Settings

from .conftest import SEED_FILE, SEED_ID, SEEDS


def _load(*targets, **settings):
    results = list(iter_articles([str(t) for t in targets], Settings(**settings)))
    return [r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, Skipped)]


def test_seed_article_keeps_text_byte_for_byte_and_headline_as_title():
    (article,), skipped = _load(SEEDS)
    assert not skipped
    assert article.id == SEED_ID
    assert article.text == SEED_FILE.read_text(encoding="utf-8")
    assert article.title == "White House Confirms Trump Administration Contacted North Korea To ‘Continue The Negotiations’"


def test_markdown_front_matter_gives_metadata(tmp_path):
    f = tmp_path / "story.md"
    f.write_text("---\nid: s-1\nurl: https://news.example/s1\ndate: 2024-05-01\nsource: Example News\n---\n# Flood hits town\n\nWater rose overnight.\n")
    (a,), _ = _load(f)
    assert (a.id, a.url, a.date, a.source, a.title) == ("s-1", "https://news.example/s1", "2024-05-01", "Example News", "Flood hits town")
    assert a.text.startswith("# Flood hits town")


def test_jsonl_and_json_records(tmp_path):
    jl = tmp_path / "feed.jsonl"
    jl.write_text(
        json.dumps({"id": "a1", "title": "One", "text": "First story text.", "url": "https://x.example/1"}) + "\n"
        + "\n"
        + "{not json\n"
        + json.dumps({"title": "no text"}) + "\n"
        + json.dumps({"text": "Untitled story. Second sentence."}) + "\n"
    )
    js = tmp_path / "list.json"
    js.write_text(json.dumps([{"id": "b1", "text": "Bee story."}, {"id": "b2", "text": "Other bee story."}]))
    articles, skipped = _load(jl, js)
    assert [a.id for a in articles][0::2] == ["a1", "b1"] and articles[3].id == "b2"
    assert articles[1].id.startswith("feed-")  # no id, no url: named by its text
    again, _ = _load(jl)
    assert again[1].id == articles[1].id
    assert articles[1].title == "Untitled story. Second sentence."
    reasons = {s.origin.rsplit(":", 1)[-1]: s.reason for s in skipped}
    assert "invalid JSON" in reasons["3"]  # origins name the line
    assert "no \"text\"" in reasons["4"]


def test_html_main_text_and_metadata(tmp_path):
    f = tmp_path / "page.html"
    f.write_text(_HTML)
    (a,), skipped = _load(f)
    assert not skipped
    assert a.title == "Council approves new bridge"
    assert "The city council voted 7 to 2" in a.text
    assert "Subscribe to our newsletter" not in a.text


def test_bad_files_are_reported_and_the_rest_loaded(tmp_path):
    (tmp_path / "good.txt").write_text("Headline\n\nA real story about rain.\n")
    (tmp_path / "empty.txt").write_text("   \n\n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 story".encode("latin-1"))
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing-target.txt")
    articles, skipped = _load(tmp_path)
    assert [a.id for a in articles] == ["good"]
    reasons = {s.origin.rsplit("/", 1)[-1]: s.reason for s in skipped}
    assert reasons["empty.txt"].startswith("empty")
    assert "binary" in reasons["binary.txt"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "unsupported file type .pdf" in reasons["notes.pdf"]
    assert "cannot read" in reasons["dangling.txt"]


def test_symlinks_leaving_the_folder_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Private\n\nNot for the index.\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "story.txt").write_text("Story\n\nPublic text.\n")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linkdir").symlink_to(outside)
    articles, skipped = _load(root)
    assert [a.id for a in articles] == ["story"]
    assert {s.origin.rsplit("/", 1)[-1] for s in skipped} == {"link.txt", "linkdir"}
    assert all("outside" in s.reason and "not followed" in s.reason for s in skipped)


def test_oversized_file_is_skipped(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("Big\n\n" + "word " * 1000)
    articles, skipped = _load(f, max_file_bytes=1000)
    assert not articles and "limit" in skipped[0].reason


_HTML = """<!doctype html><html><head><title>Council approves new bridge | Town Times</title>
<meta property="og:title" content="Council approves new bridge">
<meta name="author" content="Jane Reporter"><meta property="article:published_time" content="2024-03-02">
</head><body><nav>Home | Sport | Weather</nav>
<article><h1>Council approves new bridge</h1>
<p>The city council voted 7 to 2 on Tuesday to build a new bridge over the river, ending a decade of debate.</p>
<p>"This bridge will connect two halves of our city," said Mayor Ana Lopez, who backed the plan from the start.</p>
<p>Construction is expected to begin next spring and to cost about 40 million dollars, officials said.</p>
</article><footer>Subscribe to our newsletter</footer></body></html>"""


def test_jsonl_streams_past_the_file_size_limit(tmp_path):
    f = tmp_path / "big.jsonl"
    with open(f, "w") as fh:
        for i in range(300):
            fh.write(json.dumps({"id": f"n{i}", "text": f"Story number {i}. " + "filler " * 20}) + "\n")
    articles, skipped = _load(f, max_file_bytes=1000)
    assert len(articles) == 300 and not skipped


def test_files_in_subfolders_get_ids_from_their_path(tmp_path):
    for month in ("jan", "feb"):
        (tmp_path / "2019" / month).mkdir(parents=True)
        (tmp_path / "2019" / month / "index.txt").write_text(f"News of {month}\n\nSomething happened in {month}.\n")
    (tmp_path / "top.txt").write_text("Top\n\nText.\n")
    articles, skipped = _load(tmp_path)
    assert not skipped
    assert sorted(a.id for a in articles) == ["2019-feb-index", "2019-jan-index", "top"]
