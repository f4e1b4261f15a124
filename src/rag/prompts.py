"""Prompt templates are files in prompts/ (YAML: description, variables, template), loaded into a
small model that rejects unknown fields and checks the template uses exactly its variables.

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

    @model_validator(mode="after")
    def _check_variables(self) -> Prompt:
        used = {f for _, f, _, _ in string.Formatter().parse(self.template) if f}
        if used != set(self.variables):
            raise ValueError(f"template uses {sorted(used)} but declares {sorted(self.variables)}")
        return self

    def format(self, **values: str) -> str:
        missing = set(self.variables) - set(values)
        if missing:
            raise PromptError(f"missing prompt variables: {sorted(missing)}")
        return self.template.format(**{k: values[k] for k in self.variables})

    def chat(self, system: Prompt | None = None):
        """This prompt as a LangChain ``ChatPromptTemplate``: ``system`` (a prompt without variables)
        as the system message, this template as the human message, its variables the template's."""
        from langchain_core.prompts import ChatPromptTemplate

        head = [("system", system.format().replace("{", "{{").replace("}", "}}"))] if system else []
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
