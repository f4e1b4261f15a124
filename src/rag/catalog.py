"""The hand-written metadata catalog (corpus/catalog.yaml): titles, authors, outlets, dates,
and the boundaries of separate articles inside one file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Described(BaseModel):
    """What the catalog says of a document and of each article in it."""

    model_config = ConfigDict(extra="forbid")

    title: str
    authors: list[str] = Field(default_factory=list)
    outlet: str = ""
    date: str = ""


class ArticleMeta(_Described):
    kind: str = "article"
    starts: str = ""
    # Filled from the text, not written in the catalog: the dropped byline paragraph that names the
    # article's authors with their posts (kept out of the passages, shown on its catalog card).
    byline: str = ""


class DocMeta(_Described):
    kind: str = "document"
    body_starts: str = ""
    body_ends: str = ""
    drop: list[str] = Field(default_factory=list)
    articles: list[ArticleMeta] = Field(default_factory=list)

    def as_article(self) -> ArticleMeta:
        return ArticleMeta(title=self.title, authors=self.authors, outlet=self.outlet, date=self.date)


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: dict[str, DocMeta] = Field(default_factory=dict)

    def get(self, source: str) -> DocMeta | None:
        return self.documents.get(source)


def load_catalog(path: str | Path | None) -> Catalog:
    """Read the catalog; a missing file gives an empty catalog (uploads still get metadata)."""
    if path is None or not Path(path).exists():
        return Catalog()
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return Catalog(**data)


def default_meta(source: str, first_heading: str = "") -> DocMeta:
    """Metadata for a document the catalog does not describe."""
    return DocMeta(title=first_heading or Path(source).stem)
