"""The optional LLM rewrite: talks to an OpenAI-compatible endpoint (a local fake here,
since no model server exists offline) and keeps only citations the passages support."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from bot.llm import check_citations


class _FakeLLM(http.server.BaseHTTPRequestHandler):
    reply = ""
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": type(self).reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture
def llm_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _FakeLLM.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_rewrite_keeps_supported_sentences_and_drops_invented_ones(seed_engine, llm_url):
    _FakeLLM.reply = (
        "O’Brien said the Christmas gift from North Korea didn’t come. [1] "
        "He also said North Korea will hold elections next year. [1] "
        "Sweden offered to host the talks. [7]"
    )
    engine = seed_engine
    original = engine.settings
    engine.settings = original.with_(llm_url=llm_url, llm_model="tiny", llm_api_key="k-123")
    try:
        answer = engine.ask("Who said the Christmas gift didn't come?")
    finally:
        engine.settings = original
    assert [line.text for line in answer.lines] == ["O’Brien said the Christmas gift from North Korea didn’t come."]
    assert answer.lines[0].citations == (1,)
    assert "rewritten by tiny" in answer.notes
    sent = _FakeLLM.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k-123"
    assert "the Christmas gift didn’t come" in sent["body"]["messages"][1]["content"]


def test_unreachable_endpoint_falls_back_to_the_extractive_answer(seed_engine):
    engine = seed_engine
    original = engine.settings
    engine.settings = original.with_(llm_url="http://127.0.0.1:9/v1", llm_model="tiny")
    try:
        answer = engine.ask("Who said the Christmas gift didn't come?")
    finally:
        engine.settings = original
    assert answer.found and "O’Brien" in answer.answer and not answer.notes


def test_markers_pointing_nowhere_are_dropped():
    lines = check_citations("Talks resume in Stockholm. [1][4]", {1: "The talks resume in Stockholm soon."})
    assert [(line.text, line.citations) for line in lines] == [("Talks resume in Stockholm.", (1,))]
