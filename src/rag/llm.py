"""Chat-model backends, chosen in one factory, and the chains that call them: every prompt file is
sent as ``prompt | chat model | parser`` (``task_chain``). The key is read from the environment
variable the settings name; it is never stored, logged or written to reports.

Each request names its task in the HTTP header ``X-Rag-Task`` (answer, rewrite, quiz or judge).
OpenAI-compatible servers (DeepSeek, Qwen, GLM, vLLM, Ollama) ignore headers they do not know, as
HTTP servers do; the test double of a remote model (fake_llm_server.py) chooses what to do by it,
never by the wording of a prompt."""

from __future__ import annotations

import os

from .settings import LLMSettings

TASK_HEADER = "X-Rag-Task"
TASKS = ("answer", "rewrite", "quiz", "judge")  # each the name of its prompt file in prompts/


class LLMUnavailable(RuntimeError):
    """The chat model cannot be reached or refused the request; the message says why, in Chinese."""


def describe_error(exc: Exception) -> str:
    """A short Chinese reason for a failed call (no key, no URL with credentials)."""
    name = type(exc).__name__
    text = str(exc)
    if isinstance(exc, ConnectionError) and text.startswith("未设置"):
        return text
    if "AuthenticationError" in name or "401" in text or "403" in text:
        return "密钥无效或无权访问"
    if "Timeout" in name or "timed out" in text.lower():
        return "请求超时"
    if "Connection" in name or "connect" in text.lower():
        return "无法连接到模型服务"
    if "InternalServerError" in name or "500" in text or "502" in text or "503" in text:
        return "模型服务内部错误"
    if "RateLimit" in name or "429" in text:
        return "请求过于频繁（限流）"
    return f"调用失败（{name}）"


def build_chat_model(settings: LLMSettings):
    """The LangChain chat model for the configured provider, or None for the extractive default."""
    match settings.provider:
        case "extractive":
            return None
        case "openai" | "ollama":
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as exc:  # pragma: no cover - depends on the optional extra
                raise ImportError("未安装 langchain-openai（rag 的依赖）：在项目目录运行 pip install -e .") from exc
            if settings.provider == "ollama":
                base_url = settings.base_url or "http://127.0.0.1:11434/v1"
                key = os.environ.get(settings.api_key_env) or "ollama"
            else:
                base_url = settings.base_url or None
                key = os.environ.get(settings.api_key_env)
                if not key:
                    raise LLMUnavailable(f"未设置环境变量 {settings.api_key_env}（模型服务的密钥）")
            if not settings.model:
                raise LLMUnavailable("未设置 llm.model（模型名称）")
            return ChatOpenAI(
                model=settings.model,
                base_url=base_url,
                api_key=key,
                timeout=settings.timeout_s,
                max_retries=settings.max_retries,
                temperature=settings.temperature,
            )
    raise ValueError(f"unknown llm provider {settings.provider!r}")


def for_task(model, task: str):
    """``model`` sending ``X-Rag-Task: <task>`` with every request (a LangChain ``.bind``)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (one of {', '.join(TASKS)})")
    return model.bind(extra_headers={TASK_HEADER: task})


def task_chain(task: str, model, folder=None):
    """prompts/<task>.yaml | the chat model, sending its task | the reply text, as one LangChain
    Runnable: ``{variable: value}`` -> str. ``folder`` overrides the packaged prompts/."""
    from langchain_core.output_parsers import StrOutputParser

    from .prompts import chat_prompt

    return chat_prompt(task, folder) | for_task(model, task) | StrOutputParser()
