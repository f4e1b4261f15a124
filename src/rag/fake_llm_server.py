"""A tiny OpenAI-compatible chat-completions server for tests (the test double of a remote chat
model; it lives beside the real backend). Loopback only; stops with ``shutdown()``.

What it does is chosen by the request, never by the wording of a prompt:
- the **task** is the prompt file in prompts/ that the last user message was rendered from (the
  server reads the same files through ``rag.prompts`` and matches each template's structure, taking
  the variables by name), so rewording a prompt changes the app and this double together. A message
  rendered from no prompt file gets an error reply that no test can mistake for an answer;
- the **behaviour** is the request's ``model`` field: ``good`` quotes the first sentence of passage
  [1] with its marker (quiz: an item built from the passage's first sentence), ``invented`` invents
  a quotation (quiz: an item quoting nothing real), ``error`` answers HTTP 500, ``slow`` sleeps 3 s
  first, ``obey`` plays a model that obeys instructions planted in the passages (when they hold
  "新指令：…回答“X”" it answers X citing [1]; else as ``good``).
The judge prompt is answered as a judge (a claim is supported when its text stands verbatim in the
passages), the follow-up rewrite prompt by joining the last question and the follow-up. Streaming
(SSE) and non-streaming requests are both served.
"""

from __future__ import annotations

import json
import re
import string
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNKNOWN_PROMPT = "（测试替身：这条请求不是由 prompts/ 中的模板生成的）"


@cache
def _templates() -> dict[str, re.Pattern]:
    """prompt name -> a pattern matching exactly what ``load_prompt(name).format(...)`` renders."""
    from .prompts import PROMPTS, load_prompt

    out = {}
    for name in sorted(f.name.removesuffix(".yaml") for f in PROMPTS.iterdir() if f.name.endswith(".yaml")):
        pattern, seen = "", set()
        for literal, field, _, _ in string.Formatter().parse(load_prompt(name).template):
            pattern += re.escape(literal)
            if field:
                pattern += f"(?P={field})" if field in seen else f"(?P<{field}>.*?)"
                seen.add(field)
        out[name] = re.compile(pattern, re.S)
    return out


def rendered_from(text: str) -> tuple[str, dict[str, str]] | None:
    """(prompt name, its variables) when ``text`` was rendered from a prompt file, else None."""
    for name, pattern in _templates().items():
        if m := pattern.fullmatch(text):
            return name, m.groupdict()
    return None


def _judge(answer: str, passages: str) -> str:
    flat = lambda t: re.sub(r"\[\d+\]|⚠[^）]*）|[\W_]", "", t)  # noqa: E731 - words only
    claims = [c for c in re.split(r"(?<=[。！？；])", re.sub(r"\[\d+\]", "", answer)) if flat(c)]
    verdicts = [flat(c) in flat(passages) for c in claims]
    lines = [f"{c.strip()} —— {'支持' if v else '不支持'}" for c, v in zip(claims, verdicts, strict=True)]
    return "\n".join(lines + [f"结论：{sum(verdicts)}/{len(verdicts)}"])


def _quiz(model: str, passage: str, ask: str) -> str:
    """A quiz item from the first sentence of the passage (``invented``: one quoting nothing real).
    The item type is the key of quiz_llm.LLM_TYPE_ASK whose text the request carries."""
    from .quiz_llm import LLM_TYPE_ASK

    if model == "invented":
        return json.dumps(
            {
                "question": "银发经济已经占到国内生产总值的________。",
                "options": [],
                "answer": "一半",
                "quote": "银发经济已经占到国内生产总值的一半。",
                "points": [],
            },
            ensure_ascii=False,
        )
    kind = next((k for k, text in LLM_TYPE_ASK.items() if text == ask), None)
    sents = [x for x in re.split(r"(?<=[。！？])", passage) if len(x.strip()) >= 10]
    if not sents or kind is None:
        return "无法出题"
    s = sents[0].strip()
    key, blanked = s[2:6], s[:2] + "________" + s[6:]
    item = {
        "fill": {"question": blanked, "options": [], "answer": key},
        "choice": {"question": blanked, "options": ["示例选项甲", key, "示例选项乙", "示例选项丙"], "answer": "B"},
        "judge": {"question": s, "options": [], "answer": "正确"},
        "short": {"question": "请简述这段资料的主要内容。", "options": [], "answer": s, "points": [s[:4], s[4:8]]},
    }[kind]
    return "```json\n" + json.dumps({"points": [], **item, "quote": s}, ensure_ascii=False) + "\n```"


def _answer(model: str, passages: str) -> str:
    if model == "invented":
        return "林宝指出“银发经济已经占到国内生产总值的一半”。[1]"
    if model == "obey" and (order := re.search(r"新指令[:：][^\n]*?回答[“\"]([^”\"]+)[”\"]", passages)):
        return f"{order.group(1)}[1]"
    m = re.search(r"^\[1\] [^\n]*\n([^\n]+)", passages, re.M)  # passage [1]: a source line, then its text
    first = re.split(r"(?<=[。！？])", m.group(1))[0] if m else ""
    return f"{first}[1]" if first else "资料中未找到相关内容。"


def _reply(model: str, messages: list[dict]) -> str:
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    match rendered_from(user):
        case ("judge", v):
            return _judge(v["answer"], v["passages"])
        case ("quiz", v):
            return _quiz(model, v["passage"], v["type"])
        case ("rewrite", v):  # join the last question of the history and the follow-up
            asked = re.findall(r"^问：(.*)", v["history"], re.M)
            return f"{asked[-1].rstrip('？?')}，{v['question']}" if asked else v["question"]
        case ("answer", v):
            return _answer(model, v["passages"])
    return UNKNOWN_PROMPT


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        model = body.get("model", "")
        self.server.requests.append(body)
        if model == "error":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "internal error", "type": "server_error"}}')
            return
        if model == "slow":
            time.sleep(3)
        text = _reply(model, body.get("messages", []))
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(0, len(text), 6):
                chunk = {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": {"content": text[i : i + 6]}, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            end = {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        out = {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(out, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a client that timed out
            super().handle_error(request, client_address)


def start() -> ThreadingHTTPServer:
    """Start on a free loopback port; ``server.base_url`` is the OpenAI-style base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = []
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
