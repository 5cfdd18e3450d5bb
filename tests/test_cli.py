"""The `citebot` command line, run in-process: ingest, search (JSON and batch), list,
stats, remove, quotes, ask, chat, and one-line errors with the right exit codes."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import chat, main

from .conftest import LEE, SEED_ID, SEEDS


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run `citebot ARGS…` in-process against a fresh data dir; returns (exit code, out, err)."""
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["-q", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_ingest_then_search_json_returns_the_christmas_gift_passage(cli):
    code, out, _ = cli("ingest", str(SEEDS), "--json")
    assert code == 0 and json.loads(out)["added"] == [SEED_ID]
    code, out, _ = cli("search", "Christmas gift", "--json", "-k", "3")
    result = json.loads(out)
    assert code == 0 and result["query"] == "Christmas gift"
    top = result["hits"][0]
    assert set(top) >= {"chunk_id", "article_id", "title", "url", "start", "end", "score", "text"}
    assert "the Christmas gift didn’t come" in top["text"]
    article = (SEEDS / f"{SEED_ID}.txt").read_text(encoding="utf-8")
    assert article[top["start"]:top["end"]] == top["text"]


def test_batch_search_reads_queries_from_stdin(cli):
    cli("ingest", str(SEEDS), str(LEE))
    code, out, _ = cli("search", "-", "--json", "-k", "1", stdin="Stockholm negotiations\n\nAMP capital raising\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["query"] for r in rows] == ["Stockholm negotiations", "AMP capital raising"]
    assert rows[0]["hits"][0]["article_id"] == SEED_ID
    assert rows[1]["hits"][0]["article_id"] == "lee-01"


def test_list_stats_remove(cli):
    cli("ingest", str(SEEDS), str(LEE))
    code, out, _ = cli("list", "--json")
    assert code == 0 and len(out.splitlines()) == 51
    code, out, _ = cli("stats", "--json")
    stats = json.loads(out)
    assert (stats["articles"], stats["model"], stats["dim"], stats["index_type"]) == (51, "all-MiniLM-L6-v2", 384, "flat")
    assert stats["chunks"] == stats["index_vectors"]
    code, out, err = cli("remove", "lee-00", "nope")
    assert code == 1 and "removed lee-00" in out and "no article with id 'nope'" in err
    _, out, _ = cli("stats", "--json")
    assert json.loads(out)["articles"] == 50


def test_nothing_indexable_exits_nonzero_with_reasons(cli, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00\x01")
    code, out, err = cli("ingest", str(tmp_path / "bad.txt"), str(tmp_path / "missing.md"))
    assert code == 1
    assert "0 added" in out and "binary" in out and "no such file" in out
    assert "Traceback" not in out + err


def test_some_bad_files_still_index_the_rest(cli, tmp_path):
    (tmp_path / "bad.txt").write_text("")
    code, out, _ = cli("ingest", str(SEEDS), str(tmp_path / "bad.txt"))
    assert code == 0 and "1 added" in out and "bad.txt: empty" in out


def test_model_mismatch_is_one_line_that_says_how_to_rebuild(cli, tmp_path):
    cli("ingest", str(SEEDS))
    other = tmp_path / "other-model"
    other.mkdir()
    code, out, err = cli("--model", str(other), "search", "gift")
    assert code == 1 and not out
    assert err.count("\n") == 1 and err.startswith("citebot: error:") and "citebot rebuild --reembed" in err


def test_reembed_rebuilds_every_article_and_keeps_the_previous_store(cli, tmp_path):
    cli("ingest", str(SEEDS))
    code, out, err = cli("rebuild", "--reembed")
    assert code == 0, err
    _, out, _ = cli("stats", "--json")
    stats = json.loads(out)
    assert stats["articles"] == 1 and stats["chunks"] == stats["index_vectors"] > 0
    _, out, _ = cli("ask", "Who said the Christmas gift didn't come?")
    assert "O’Brien" in out
    data_dir = next(p for p in tmp_path.rglob("*.old") if p.is_dir())
    assert (data_dir / "catalogue.sqlite3").exists()  # the previous store, kept
    assert not list(tmp_path.rglob("SWAP_READY"))


def test_ask_json_shape_and_quotes(cli):
    cli("ingest", str(SEEDS))
    code, out, _ = cli("ask", "Who said the Christmas gift didn't come?", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["kind"] == "who_said" and answer["found"] is True
    assert "O’Brien" in answer["answer"] and "[1]" in answer["answer"]
    c = answer["citations"][0]
    assert set(c) >= {"n", "article_id", "title", "url", "chunk_id", "start", "end", "passage", "score"}
    assert answer["quotes"] and answer["quotes"][0]["canonical_speaker"] == "Robert O’Brien"
    code, out, _ = cli("quotes", "--speaker", "obrien", "--json")
    quotes = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(quotes) >= 3 and {q["canonical_speaker"] for q in quotes} == {"Robert O’Brien"}


def test_ask_batch_from_stdin_loads_once_and_reports_errors_per_line(cli):
    cli("ingest", str(SEEDS))
    code, out, _ = cli("ask", "-", "--json", stdin="What happened in Stockholm?\n" + "x" * 1200 + "\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 2
    assert "Stockholm" in rows[0]["answer"]
    assert "longer than" in rows[1]["error"]


def test_ask_seeds_an_empty_store_first(cli, tmp_path):
    (tmp_path / "seeds").symlink_to(SEEDS)
    code, out, err = cli("ask", "What happened in Stockholm?")
    assert code == 0 and "Stockholm" in out and "Sources:" in out


def test_chat_answers_and_opens_a_source(seed_engine):
    out = io.StringIO()
    chat(seed_engine, io.StringIO("Who said the Christmas gift didn't come?\n/open 1\n/open 9\n/quit\n"), out)
    text = out.getvalue()
    assert "O’Brien" in text and "[1]" in text
    answer_part, _, opened = text.partition("chars ")
    assert "O’Brien some level of hope" in opened  # the whole cited passage, not just the quote
    assert "O’Brien some level of hope" not in answer_part
    assert "Usage: /open N" in text


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for command in ("ingest", "search", "ask", "chat", "list", "stats", "remove", "quotes", "rebuild", "serve", "run"):
        assert command in out
