"""Every API endpoint of the demo Space, called through gradio_client against the real app process."""

from __future__ import annotations

import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from space_helpers import SPACE_OWN_TOKEN, SpaceProcess

from litelong_hf.testing.hub_server import HubServer

pytestmark = pytest.mark.integration

# The page's defaults (the browser test clicks Generate with them and reuses these rows from the cache).
LITELONG_CONFIG, LITELONG_TARGET, LITELONG_ROWS = "litelong-128k", 16384, 2


def client(space: SpaceProcess) -> Any:
    from gradio_client import Client

    return Client(space.url, verbose=False)


def generate(
    c: Any,
    config: str,
    target: int,
    rows: int,
    categories: list[str] | None = None,
    subcats: int = 2,
    *,
    corpus: str = "demo",
    files: list[Any] | None = None,
    text_column: str = "text",
    llm: str = "embedded",
    endpoint: str = "",
    model: str = "",
    key: str = "",
) -> dict[str, Any]:
    status, plot, _row_index, download, report, hardness = c.predict(
        config,
        target,
        rows,
        categories if categories is not None else ["POL"],
        subcats,
        corpus,
        files or [],
        text_column,
        llm,
        endpoint,
        model,
        key,
        api_name="/generate",
    )
    return {"status": status, "plot": plot, "download": download, "report": report, "hardness": hardness}


def show_row(c: Any, index: int = 0) -> tuple[str, Any, str, list[dict[str, Any]]]:
    row_view, pieces, debate, chat = c.predict(index, api_name="/show_row")
    return row_view, pieces, debate, chat


def chat_text(message: dict[str, Any]) -> str:
    """The text of a chat message as gradio 6 sends it (a list of content parts) or as a plain string."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content if part.get("type") == "text")


def table_rows(value: Any) -> list[list[Any]]:
    return value["data"] if isinstance(value, dict) else value


def test_api_lists_every_endpoint(space: SpaceProcess) -> None:
    api = client(space).view_api(print_info=False, return_format="dict")
    names = set(api["named_endpoints"])
    assert {"/generate", "/show_row", "/push", "/configs", "/check_upload"} <= names


def test_configs_follow_the_method(space: SpaceProcess) -> None:
    config, categories, subcats, target = client(space).predict("hierarchical", api_name="/configs")
    assert config["value"] == "hierarchical-128k"
    assert categories["visible"] is False and subcats["visible"] is False
    assert target["minimum"] == 16384


def test_uploads_are_checked_with_a_message(space: SpaceProcess, tmp_path: Path) -> None:
    from gradio_client import handle_file

    c = client(space)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"body": "A document about elections."}) + "\n")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet at all")
    columns = tmp_path / "columns.parquet"
    pq.write_table(pa.table({"content": ["A long article about parliaments and votes."]}), columns)
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"text": f"Document {i} about courts."}) + "\n" for i in range(3)))

    def check(path: Path) -> str:
        return str(c.predict("upload", [handle_file(str(path))], "text", api_name="/check_upload"))

    assert "empty" in check(empty)
    assert "no 'text' field" in check(wrong) and "body" in check(wrong)
    assert "binary" in check(binary)
    assert "not a parquet file" in check(fake)
    assert "no column 'text'" in check(columns) and "content" in check(columns)
    assert "ready" in check(good)
    assert str(c.predict("demo", [], "text", api_name="/check_upload")) == ""


def test_bad_upload_gives_a_message_not_a_traceback(space: SpaceProcess, tmp_path: Path) -> None:
    from gradio_client import handle_file

    binary = tmp_path / "corpus.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = generate(client(space), "nextlong-64k", 8192, 1, corpus="upload", files=[handle_file(str(binary))])
    assert out["status"].startswith("✘") and "binary" in out["status"]
    assert "Traceback" not in out["status"] and out["download"] is None


def test_litelong_rows_pieces_debate_and_push(
    space: SpaceProcess, space_hub: HubServer, hub_token: str
) -> None:
    c = client(space)
    out = generate(c, LITELONG_CONFIG, LITELONG_TARGET, LITELONG_ROWS, ["POL"], 2)
    assert out["status"].startswith("✔"), out["status"]
    assert out["report"]["stats"]["rows"] == 2
    rows = pq.read_table(out["download"]).to_pylist()
    assert len(rows) == 2 and all(len(r["input_ids"]) == 16384 for r in rows)

    row_view, pieces, debate, chat = show_row(c, 0)
    # Every piece is a shaded span; together they are exactly the row's text, in order.
    spans = re.findall(r"<span class='ll-piece' data-role='(\w+)'[^>]*>(.*?)</span>", row_view, flags=re.S)
    assert spans and {role for role, _ in spans} == {"retrieved"}
    assert "".join(html.unescape(text) for _, text in spans) == rows[0]["text"]
    table = table_rows(pieces)
    assert [r[4] for r in table] == rows[0]["piece_lengths"]
    assert [str(r[2]) for r in table] == [s["doc_id"] for s in rows[0]["sources"]]
    for needle in (
        "Debater A proposed",
        "Debater B proposed",
        "critique of B",
        "critique of A",
        "Judge rejected",
    ):
        assert needle in debate
    assert html.escape(rows[0]["topic"]["title"]) in debate and "this row" in debate
    assert chat == []

    # Push with the token typed into the page (the Space process has none of its own).
    assert "Paste a Hugging Face token" in c.predict(
        "tester/space-rows", "litelong-128k-demo16k", "", False, api_name="/push"
    )
    wrong = "hf_wrong_" + "x" * 20
    refused = c.predict("tester/space-rows", "litelong-128k-demo16k", wrong, False, api_name="/push")
    assert refused.startswith("✘") and wrong not in refused
    pushed = c.predict("tester/space-rows", "litelong-128k-demo16k", hub_token, False, api_name="/push")
    assert pushed.startswith("✔"), pushed
    assert hub_token not in pushed
    files = space_hub.repo_files("tester/space-rows")
    assert "litelong-128k-demo16k/train-00000-of-00001.parquet" in files and "README.md" in files
    assert hub_token not in space.log_text()


def test_nextlong_roles_and_hardness(space: SpaceProcess) -> None:
    c = client(space)
    out = generate(c, "nextlong-64k", 8192, 1)
    assert out["status"].startswith("✔"), out["status"]
    assert "Hard negatives are" in out["hardness"]
    hardness = out["report"]["extra"]["hardness"]
    assert hardness["negatives_scored"] > 0
    row_view, pieces, debate, _ = show_row(c, 0)
    assert {r[1] for r in table_rows(pieces)} == {"meta", "negative"}
    assert "data-role='negative'" in row_view and "data-role='meta'" in row_view
    assert "no LiteLong topic" in debate


def test_hierarchical_rows_as_chat(space: SpaceProcess) -> None:
    c = client(space)
    out = generate(c, "hierarchical-128k", 16384, 1)
    assert out["status"].startswith("✔"), out["status"]
    rows = pq.read_table(out["download"]).to_pylist()
    questions = rows[0]["questions"]
    _, pieces, _, chat = show_row(c, 0)
    users = [m for m in chat if m["role"] == "user"]
    assert len(users) == len(questions) > 0
    for message, q in zip(users, questions, strict=True):
        tag = f"**[{q['level']} · {q['kind'] or '-'} · document {q['doc_index']}]**"
        assert chat_text(message).startswith(tag)
    assert [r[1] for r in table_rows(pieces)] == ["document"] * len(rows[0]["documents"])


class KeyRecorder(ThreadingHTTPServer):
    """An endpoint that refuses every request with 401 and records the Authorization headers it got."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _refuse(self) -> None:
                recorder.seen.append(self.headers.get("Authorization", ""))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = b'{"error": "invalid api key"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _refuse

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_endpoint_gets_the_page_key_never_the_space_token(space: SpaceProcess) -> None:
    key = "sk-visitor-7d2a91"
    recorder = KeyRecorder()
    try:
        c = client(space)
        out = generate(c, "litelong-64k", 8192, 1, llm="endpoint", endpoint=recorder.url, key=key)
        assert out["status"].startswith("✘") and "401" in out["status"], out["status"]
        assert recorder.seen and set(recorder.seen) == {f"Bearer {key}"}
        recorder.seen.clear()
        out = generate(c, "litelong-64k", 8192, 1, llm="endpoint", endpoint=recorder.url)
        assert out["status"].startswith("✘")
        assert recorder.seen and set(recorder.seen) == {"Bearer no-key"}  # not the Space's HF_TOKEN
    finally:
        recorder.shutdown()
        recorder.server_close()
    assert key not in json.dumps(out, default=str) and key not in space.log_text()
    assert SPACE_OWN_TOKEN not in space.log_text()


def test_endpoint_key_is_never_echoed(space: SpaceProcess) -> None:
    key = "sk-space-secret-4f1c9e"
    out = generate(
        client(space), "litelong-64k", 8192, 1, llm="endpoint", endpoint="http://127.0.0.1:9", key=key
    )
    assert out["status"].startswith("✘") and "Cannot reach the LLM endpoint" in out["status"]
    assert key not in json.dumps(out, default=str)
    assert key not in space.log_text()
