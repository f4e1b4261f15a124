"""The chunks of one generation of the store, in memory: ids, texts and metadata by row.

Chroma is the source of truth; this is the copy the retriever searches and the answer stage reads
(sections, catalog cards, timelines, quizzes). It is brought up to a new generation incrementally
(only chunks that are new are read; chunks that left the store lose their rows) and cached under
the state folder, so a new process starts without reading every chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import cachefile
from .store import _PAGE, Store

VERSION = 1  # of the cache file's content: bump when Chunks changes shape


@dataclass(frozen=True)
class Chunks:
    """One consistent state of the collection; never changed once built (``updated`` makes another)."""

    gen: str  # the store generation it holds
    ids: list[str]
    texts: list[str]
    metas: list[dict]
    row_of: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "row_of", {cid: i for i, cid in enumerate(self.ids)})

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, cid: object) -> bool:
        return cid in self.row_of

    def __getstate__(self) -> dict:  # row_of is derived again on load
        return {"gen": self.gen, "ids": self.ids, "texts": self.texts, "metas": self.metas}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()

    def updated(self, gen: str, add: list[tuple[str, str, dict]], remove: set[str]) -> Chunks:
        """Another snapshot: without the ``remove`` ids, with ``add`` appended, rows otherwise in order."""
        keep = [i for i, cid in enumerate(self.ids) if cid not in remove]
        return Chunks(
            gen,
            [self.ids[i] for i in keep] + [cid for cid, _, _ in add],
            [self.texts[i] for i in keep] + [t for _, t, _ in add],
            [self.metas[i] for i in keep] + [m for _, _, m in add],
        )


def _fetch(store: Store, ids: list[str]) -> list[tuple[str, str, dict]]:
    """(id, text, metadata) of these chunks, paged; ids that vanished meanwhile are skipped."""
    out = []
    for i in range(0, len(ids), _PAGE):
        got = store.get(ids[i : i + _PAGE])
        out += [(cid, *got[cid]) for cid in ids[i : i + _PAGE] if cid in got]
    return out


def cache_path(cache_dir: Path, collection: str) -> Path:
    return cache_dir / f"chunks-v{VERSION}-{collection}.pkl"


def load_chunks(store: Store, cache_dir: Path, previous: Chunks | None = None) -> Chunks:
    """The chunks of the store's current generation, starting from ``previous`` (in memory) or the
    cache: ids that left the store are dropped, new ones fetched, nothing else is read. With
    neither, every chunk is read. A changed result is written back to the cache."""
    gen = store.generation()
    path = cache_path(cache_dir, store.name)
    base = previous if previous is not None else cachefile.read(path, "chunks")
    if not isinstance(base, Chunks):
        base = None
    if base is not None and base.gen == gen and len(base) == store.count():
        return base
    if base is None:
        rows = list(store.iter_all())
        chunks = Chunks(gen, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    else:
        # every committed id in one read (pages could skip ids if a write lands between them)
        ids = store.ids()
        current = set(ids)
        chunks = base.updated(gen, _fetch(store, [i for i in ids if i not in base.row_of]), set(base.ids) - current)
    cachefile.write(path, "chunks", chunks)
    return chunks
