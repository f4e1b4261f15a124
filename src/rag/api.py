"""The knowledge base as an OpenAI-compatible chat API (``rag serve``).

``GET /v1/models`` lists one model; ``POST /v1/chat/completions`` answers the last user message
with the system's own answerer (the one the app and ``rag ask`` use), searching the query the
app's follow-up rewrite (conversation.py) makes from the earlier messages. The reply text carries
the answer's numbered markers [n] (and, by default, its numbered sources, for clients that show
only the text); the structured list is the extra field ``citations`` of the response and of the
last stream chunk. A refusal is an ordinary answer (finish_reason "stop", ``refused`` true).

Answers are checked before they are sent (an LLM answer's citations are verified, as in the
app), so a streamed reply arrives sentence by sentence once it is complete. Every bad request
gets OpenAI's error JSON with a one-line Chinese message; a key (``api.key_env``) guards all of it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .answer import Answer, QuestionError, check_question, is_refusal
from .conversation import Conversation, rewrite
from .render import _renumbered, answer_plain, group_sources

SOURCES_HEAD = "\n\n来源："  # where answer_plain's source list starts in a reply
_PIECE = re.compile(r"(?<=[。！？；\n])")


class ApiError(Exception):
    """A request the API refuses: HTTP status, a Chinese message, OpenAI's error code and param."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


def error_json(status: int, message: str, code: str, param: str | None = None) -> JSONResponse:
    kind = {401: "authentication_error", 404: "invalid_request_error", 500: "server_error"}.get(status, "invalid_request_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status)


def api_key(settings) -> str:
    """The key requests must carry: the value of the environment variable ``api.key_env`` ("" = none)."""
    name = settings.api.key_env
    return os.environ.get(name, "").strip() if name else ""


def check_address(settings, host: str, port: int) -> None:
    """StartupError (one Chinese line) unless the API may listen on host:port: a non-loopback
    address needs a key, and the port must be free."""
    from .preflight import StartupError, check_port

    if not api_key(settings) and not is_loopback(host):
        raise StartupError(
            f"在非本机地址 {host} 上提供服务必须设置 API 密钥：请设置环境变量 "
            f"{settings.api.key_env or 'RAG_API_KEY'}（或改用 127.0.0.1）"
        )
    check_port(host, port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- request -> conversation ------------------------------------------------------------------
def _text(content, i: int) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(
                    400,
                    f"messages[{i}].content 只支持文本（字符串或 type 为 text 的片段）",
                    "invalid_content",
                    f"messages[{i}].content",
                )
            parts.append(part["text"])
        return "".join(parts)
    raise ApiError(400, f"messages[{i}].content 应为字符串", "invalid_content", f"messages[{i}].content")


def read_messages(body: dict) -> list[tuple[str, str]]:
    """(role, text) of each message; ApiError when the list is missing, empty or malformed."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages 不能为空：请至少发送一条用户（user）消息", "invalid_messages", "messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ApiError(400, f"messages[{i}] 应为含 role 与 content 的对象", "invalid_messages", f"messages[{i}]")
        out.append((m["role"], _text(m.get("content"), i)))
    if not any(role == "user" for role, _ in out):
        raise ApiError(400, "messages 中没有用户（user）消息：请把问题放在 role 为 user 的消息里", "no_user_message", "messages")
    return out


def _past_answer(question: str, reply: str) -> Answer:
    """An earlier reply as the conversation keeps it: the answer text without its source list."""
    text = reply.split(SOURCES_HEAD, 1)[0].strip()
    return Answer(question, text, is_refusal(text))


def conversation_of(messages: list[tuple[str, str]], max_turns: int, max_chars: int) -> tuple[Conversation, str]:
    """The conversation before the last user message (at most ``max_turns`` earlier questions,
    each followed by the reply the client shows), and that message. Earlier turns' queries come
    from the same rule-based rewrite the app applied to them; system messages are not read."""
    last = max(i for i, (role, _) in enumerate(messages) if role == "user")
    turns: list[tuple[str, str]] = []
    for role, text in messages[:last]:
        if role == "user":
            turns.append((text[:max_chars], ""))
        elif role == "assistant" and turns and not turns[-1][1]:
            turns[-1] = (turns[-1][0], text)
    conv = Conversation()
    for question, reply in turns[-max_turns:]:
        if question.strip():
            conv.add(question, conv.rewrite(question), _past_answer(question, reply))
    return conv, messages[last][1]


# -- answer -> response ----------------------------------------------------------------------
def citations_of(ans: Answer) -> list[dict]:
    """One entry per cited passage, numbered as the markers in the reply (the app's grouping)."""
    if ans.refused:
        return []
    out = []
    for s in group_sources(ans)[0]:
        fields = {k: v for k, v in asdict(s.citation).items() if k not in ("n", "source", "text", "quote", "passage_id")}
        out.append({"n": s.number, "document": s.citation.source, **fields, "quote": "".join(s.quotes)})
    return out


def reply_text(ans: Answer, with_sources: bool) -> str:
    """The message text: the answer with renumbered markers, and optionally its sources."""
    notice = f"【提示】{ans.notice}\n\n" if ans.notice else ""
    if ans.refused:
        return notice + (answer_plain(ans) if with_sources else ans.answer)
    if with_sources:
        return notice + answer_plain(ans)
    gaps = f"\n{ans.unanswered_note}" if ans.unanswered else ""  # an unanswered ask is part of the reply
    return notice + _renumbered(ans.answer, group_sources(ans)[1]) + gaps


def _extras(ans: Answer) -> dict:
    """The fields a reply carries beside its text (the batch record's, where they apply)."""
    return {"citations": citations_of(ans), "refused": ans.refused, "query": ans.query, **ans.gaps()}


def _usage(prompt: str, reply: str) -> dict:
    from .chunking import count_tokens

    p, c = count_tokens(prompt), count_tokens(reply)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


class Chat:
    """One chat-completions request, checked up front, answered by ``run``."""

    def __init__(self, system, body: dict):
        s = system.settings
        self.system, self.settings = system, s.api
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, f"缺少 model：请填写 {s.api.model}", "missing_model", "model")
        if model != s.api.model:
            raise ApiError(
                404, f"模型 {model!r} 不存在：本服务只提供 {s.api.model}（见 GET /v1/models）", "model_not_found", "model"
            )
        self.model, self.stream = model, body.get("stream", False)
        if not isinstance(self.stream, bool):
            raise ApiError(400, "stream 应为 true 或 false", "invalid_stream", "stream")
        if body.get("n") not in (None, 1):
            raise ApiError(400, "只支持 n = 1（每次一个回答）", "invalid_n", "n")
        options = body.get("stream_options") or {}
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        messages = read_messages(body)
        self.conv, question = conversation_of(messages, s.api.max_history, s.answer.max_question_chars)
        try:
            self.question = check_question(question, s.answer.max_question_chars)
        except QuestionError as exc:
            raise ApiError(400, str(exc), "invalid_question", "messages") from exc
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def run(self) -> Answer:
        query = rewrite(self.system, self.conv, self.question)
        return self.system.answerer.ask(self.question, query=query)

    def completion(self, ans: Answer) -> dict:
        text = reply_text(ans, self.settings.sources_in_content)
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None, "finish_reason": "stop"}
            ],
            "usage": _usage(self.question, text),
            **_extras(ans),
        }

    def _chunk(self, delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    def events(self) -> Iterator[str]:
        """Server-sent events: the role, the reply sentence by sentence, a last chunk with
        finish_reason and the citations, the usage when asked for, then [DONE]."""
        yield self._chunk({"role": "assistant", "content": ""})
        try:
            ans = self.run()
        except Exception as exc:  # after the headers: OpenAI's in-stream error event
            err = {"message": f"回答失败：{exc}", "type": "server_error", "param": None, "code": "internal_error"}
            yield f"data: {json.dumps({'error': err}, ensure_ascii=False)}\n\n"
            return
        text = reply_text(ans, self.settings.sources_in_content)
        for piece in _PIECE.split(text):
            if piece:
                yield self._chunk({"content": piece})
        yield self._chunk({}, "stop", **_extras(ans))
        if self.include_usage:
            chunk = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": _usage(self.question, text),
            }
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"


# -- the app -----------------------------------------------------------------------------------
def build_api(system) -> FastAPI:
    """The FastAPI app over a built System (answerer, settings)."""
    s = system.settings.api
    key = api_key(system.settings)
    app = FastAPI(title="学习助手 API", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if key:
            given = request.headers.get("authorization", "")
            token = given[7:].strip() if given[:7].lower() == "bearer " else ""
            if not hmac.compare_digest(token.encode(), key.encode()):
                why = "缺少 API 密钥" if not given else "API 密钥不正确"
                return error_json(401, f"{why}：请在请求头中加上 Authorization: Bearer <密钥>", "invalid_api_key")
        return await call_next(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return error_json(
                404,
                f"没有这个接口：{request.method} {request.url.path}（可用 GET /v1/models、POST /v1/chat/completions）",
                "unknown_url",
            )
        if exc.status_code == 405:
            return error_json(405, f"{request.url.path} 不支持 {request.method} 请求", "method_not_allowed")
        return error_json(exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        return error_json(500, f"服务器内部错误：{type(exc).__name__}", "internal_error")

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": s.model, "object": "model", "created": 0, "owned_by": "rag"}]}

    @app.get("/v1/models/{model}")
    async def model(model: str):
        if model != s.model:
            return error_json(404, f"模型 {model!r} 不存在：本服务只提供 {s.model}", "model_not_found", "model")
        return {"id": s.model, "object": "model", "created": 0, "owned_by": "rag"}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            chat = Chat(system, await _json_body(request, s.max_body_kb))
        except ApiError as exc:
            return error_json(exc.status, exc.message, exc.code, exc.param)
        if chat.stream:
            return StreamingResponse(chat.events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        return chat.completion(await run_in_threadpool(chat.run))

    return app


async def _json_body(request: Request, max_kb: int) -> dict:
    limit = max_kb * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"请求过大（{int(declared) // 1024} KB），上限 {max_kb} KB", "request_too_large")
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, f"请求过大（{len(raw) // 1024} KB），上限 {max_kb} KB", "request_too_large")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"请求体不是合法的 JSON（第 {exc.lineno} 行第 {exc.colno} 列附近）", "invalid_json") from exc
    except UnicodeDecodeError as exc:
        raise ApiError(400, "请求体不是 UTF-8 编码的 JSON", "invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "请求体应为 JSON 对象", "invalid_json")
    return body


# -- running it --------------------------------------------------------------------------------
def _server(system, host: str, port: int, log_level: str):
    import uvicorn

    return uvicorn.Server(uvicorn.Config(build_api(system), host=host, port=port, log_level=log_level, lifespan="off"))


def serve(system, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C)."""
    _server(system, host, port, "info").run()


class Background:
    """The API served from a thread (tests, notebooks): ``start()`` returns once it listens;
    ``base_url`` is the OpenAI-style base URL; ``stop()`` ends it."""

    def __init__(self, system, host: str = "127.0.0.1", port: int = 0):
        self.server = _server(system, host, port, "warning")
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base_url = ""

    def start(self, timeout_s: float = 30.0) -> Background:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("API 服务未能启动")
            time.sleep(0.05)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)
