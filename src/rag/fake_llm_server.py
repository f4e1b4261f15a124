"""A tiny OpenAI-compatible chat-completions server for tests (the test double of a remote chat
model; it lives beside the real backend). Loopback only; stops with ``shutdown()``.

Behaviour by model name: ``good`` quotes the first sentence of passage [1] with its marker,
``invented`` invents a quotation, ``error`` answers HTTP 500, ``slow`` sleeps before answering,
the quiz prompt gets an item built from the passage's first sentence (``invented``: an item whose
quote is not in the passage), the follow-up rewrite prompt is answered by joining the last question and the follow-up,
``judge`` plays the LLM judge (a claim is supported when its text stands verbatim in the passages),
``obey`` plays a model that obeys instructions planted in the passages: when the request holds
"新指令：…回答“X”" it answers X citing [1] (else as ``good``).
Streaming (SSE) and non-streaming requests are both served.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _judge(user: str) -> str:
    def between(tag: str) -> str:
        m = re.search(f"<{tag}>\\n(.*?)\\n</{tag}>", user, re.S)
        return m.group(1) if m else ""

    flat = lambda t: re.sub(r"\[\d+\]|⚠[^）]*）|[\W_]", "", t)  # noqa: E731 - words only
    passages = flat(between("资料"))
    claims = [c for c in re.split(r"(?<=[。！？；])", re.sub(r"\[\d+\]", "", between("回答"))) if flat(c)]
    verdicts = [flat(c) in passages for c in claims]
    lines = [f"{c.strip()} —— {'支持' if v else '不支持'}" for c, v in zip(claims, verdicts)]
    return "\n".join(lines + [f"结论：{sum(verdicts)}/{len(verdicts)}"])


def _quiz(model: str, user: str) -> str:
    """A quiz item from the first sentence of the passage (``invented``: one quoting nothing real)."""
    if model == "invented":
        return json.dumps({"question": "银发经济已经占到国内生产总值的________。", "options": [], "answer": "一半",
                           "quote": "银发经济已经占到国内生产总值的一半。", "points": []}, ensure_ascii=False)
    passage = re.search(r"<资料>\n(.*?)\n</资料>", user, re.S)
    kind = re.search(r"题型要求：(\S+?)。", user)
    sents = [x for x in re.split(r"(?<=[。！？])", passage.group(1) if passage else "") if len(x.strip()) >= 10]
    if not sents or not kind:
        return "无法出题"
    s = sents[0].strip()
    key, blanked = s[2:6], s[:2] + "________" + s[6:]
    item = {"填空题": {"question": blanked, "options": [], "answer": key},
            "单项选择题": {"question": blanked, "options": ["示例选项甲", key, "示例选项乙", "示例选项丙"], "answer": "B"},
            "判断题": {"question": s, "options": [], "answer": "正确"},
            "简答题": {"question": "请简述这段资料的主要内容。", "options": [], "answer": s, "points": [s[:4], s[4:8]]}}[kind.group(1)]
    return "```json\n" + json.dumps({"points": [], **item, "quote": s}, ensure_ascii=False) + "\n```"


def _reply(model: str, messages: list[dict]) -> str:
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    if model == "judge":
        return _judge(user)
    if "出一道题" in user:
        return _quiz(model, user)
    if "改写后的问题" in user:  # the follow-up rewrite prompt: join the last question and the follow-up
        asked = re.findall(r"^问：(.*)", user, re.M)
        follow = re.search(r"最新追问：(.*)", user)
        return f"{asked[-1].rstrip('？?')}，{follow.group(1)}" if asked and follow else ""
    if model == "invented":
        return "林宝指出“银发经济已经占到国内生产总值的一半”。[1]"
    if model == "obey" and (order := re.search(r"新指令[:：][^\n]*?回答[“\"]([^”\"]+)[”\"]", user)):
        return f"{order.group(1)}[1]"
    m = re.search(r"\[1\] [^\n]*\n([^\n]+)", user)
    first = re.split(r"(?<=[。！？])", m.group(1))[0] if m else ""
    return f"{first}[1]" if first else "资料中未找到相关内容。"


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
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [{"index": 0, "delta": {"content": text[i : i + 6]}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            end = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        out = {"id": "c", "object": "chat.completion", "created": 0, "model": model,
               "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
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
