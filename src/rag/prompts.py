"""Prompt templates are files in prompts/ (YAML: description, variables, template, and optionally
the name of the file that is its system message), loaded into a small model that rejects unknown
fields and checks the template uses exactly its variables, and used as LangChain
``ChatPromptTemplate``s (``chat_prompt``). Templates are f-strings: a literal brace in a prompt
text (a JSON example) is written ``{{`` / ``}}`` in the file.

The package reads them as package data, ``rag/data/prompts`` (a symlink to the project's prompts/
that the wheel build copies), so a wheel install finds them whatever the working directory."""

from __future__ import annotations

import string
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

PROMPTS: Traversable = resources.files("rag") / "data" / "prompts"


class PromptError(ValueError):
    """A prompt file that is missing, malformed, or whose variables do not match its template."""


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    variables: list[str]
    template: str
    system: str | None = None  # the prompt file (name, same folder) sent as the system message

    @model_validator(mode="after")
    def _check_variables(self) -> Prompt:
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None}
        except ValueError as exc:  # a lone { or }: a literal brace must be doubled
            raise ValueError(f"{exc} (write a literal brace as {{{{ or }}}})") from exc
        if used != set(self.variables):
            raise ValueError(
                f"template uses {sorted(used)} but declares {sorted(self.variables)} (write a literal brace as {{{{ or }}}})"
            )
        return self

    def chat(self, system: Prompt | None = None):
        """This prompt as a LangChain ``ChatPromptTemplate``: ``system`` as the system message, this
        template as the human message; the input variables are the templates' variables."""
        from langchain_core.prompts import ChatPromptTemplate

        head = [("system", system.template)] if system else []
        return ChatPromptTemplate.from_messages([*head, ("human", self.template)])


def as_data(text: str) -> str:
    """Text to place between fence tags such as <资料>…</资料>: a document cannot close the fence
    early by containing the tag itself."""
    return text.replace("<", "〈").replace(">", "〉")


def load_prompt(name: str, folder: Path | Traversable | None = None) -> Prompt:
    path = (folder or PROMPTS) / f"{name}.yaml"
    if not path.is_file():
        raise PromptError(f"prompt file not found: {path}")
    try:
        return Prompt(**(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
    except Exception as exc:
        raise PromptError(f"{path.name}: {exc}") from exc


def chat_prompt(name: str, folder: Path | Traversable | None = None):
    """The one loader every prompt goes through: prompts/<name>.yaml as a ``ChatPromptTemplate``,
    with the file its ``system:`` names (from the same folder) as the system message."""
    prompt = load_prompt(name, folder)
    return prompt.chat(load_prompt(prompt.system, folder) if prompt.system else None)
