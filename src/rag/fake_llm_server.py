"""A tiny OpenAI-compatible chat-completions server for tests (the test double of a remote chat
model; it lives beside the real backend). Loopback only; stops with ``shutdown()``.

What it does is chosen by explicit request fields, never by the wording of a prompt:
- the **task** is the request's ``X-Rag-Task`` header (answer, rewrite, quiz or judge), which every
  request the project sends carries (llm.task_chain). A request without it, or naming another task,
  gets HTTP 400 with a message saying so. To read the task's variables (the passages, the question
  …) out of the last user message, the server uses that task's prompt file from the same folder the
  app loads it from (``start(prompts=…)``, by default the packaged prompts/), matching the template's
  structure; so rewording a prompt changes the app and this double together. A message that was not
  rendered from the task's file gets HTTP 400 too;
- the **behaviour** is the request's ``model`` field: ``good`` quotes the first sentence of passage
  [1] with its marker (quiz: an item built from the passage's first sentence), ``invented`` invents
  a quotation (quiz: an item quoting nothing real), ``error`` answers HTTP 500, ``slow`` sleeps 3 s
  first, ``obey`` plays a model that obeys instructions planted in the passages (when they hold
  "新指令：…回答“X”" it answers X citing [1]; else as ``good``).
The judge task is answered as a judge (a claim is supported when its text stands verbatim in the
passages), the rewrite task by joining the last question and the follow-up. Streaming (SSE) and
non-streaming requests are both served.
"""

from __future__ import annotations

import json
import re
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources.abc import Traversable
from pathlib import Path

from .llm import TASK_HEADER, TASKS


def template_pattern(task: str, folder: Path | Traversable | None = None) -> re.Pattern:
    """A pattern matching exactly what prompts/<task>.yaml renders, its variables as named groups."""
    from .prompts import load_prompt

    pattern, seen = "", set()
    for literal, field, _, _ in string.Formatter().parse(load_prompt(task, folder).template):
        pattern += re.escape(literal)
        if field:
            pattern += f"(?P={field})" if field in seen else f"(?P<{field}>.*?)"
            seen.add(field)
    return re.compile(pattern, re.S)


def read_values(task: str, text: str, folder: Path | Traversable | None = None) -> dict[str, str] | None:
    """The variables ``text`` was rendered with from the task's prompt file, else None."""
    m = template_pattern(task, folder).fullmatch(text)
    return m.groupdict() if m else None


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


def _rewrite(history: str, question: str) -> str:
    """The last question of the history joined with the follow-up."""
    asked = re.findall(r"^问：(.*)", history, re.M)
    return f"{asked[-1].rstrip('？?')}，{question}" if asked else question


def _reply(task: str, model: str, v: dict[str, str]) -> str:
    match task:
        case "judge":
            return _judge(v["answer"], v["passages"])
        case "quiz":
            return _quiz(model, v["passage"], v["type"])
        case "rewrite":
            return _rewrite(v["history"], v["question"])
        case "answer":
            return _answer(model, v["passages"])
    raise ValueError(task)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def _error(self, status: int, message: str, kind: str) -> None:
        data = json.dumps({"error": {"message": message, "type": kind}}, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        model, task = body.get("model", ""), self.headers.get(TASK_HEADER)
        self.server.requests.append(body)
        self.server.tasks.append(task)
        if task not in TASKS:
            return self._error(
                400,
                f"测试替身：请求头 {TASK_HEADER} 须写明任务（{'|'.join(TASKS)}），收到 {task!r}",
                "invalid_request_error",
            )
        if model == "error":
            return self._error(500, "internal error", "server_error")
        if model == "slow":
            time.sleep(3)
        messages = body.get("messages", [])
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        values = read_values(task, user if isinstance(user, str) else "", self.server.prompts)
        if values is None:
            return self._error(400, f"测试替身：最后一条用户消息不是由提示词文件 {task}.yaml 生成的", "invalid_request_error")
        text = _reply(task, model, values)
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


def start(prompts: Path | Traversable | None = None) -> ThreadingHTTPServer:
    """Start on a free loopback port; ``server.base_url`` is the OpenAI-style base URL. ``prompts``
    is the folder the app under test loads its prompt files from (default: the packaged ones)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests, server.tasks = [], []  # each request's body and its X-Rag-Task header
    server.prompts = prompts
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
