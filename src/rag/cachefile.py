"""Derived state kept under the state folder's cache/: pickled, written atomically, never trusted.

A cache only saves work: one that is missing, damaged or of another format is reported as absent
and rebuilt by its owner; one that cannot be written costs the next process a rebuild, nothing else.
"""

from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path
from typing import Any


def read(path: Path, kind: str) -> Any | None:
    """The object saved under ``kind`` at ``path``, or None when missing, damaged or of another kind."""
    try:
        with path.open("rb") as fh:
            saved_kind, obj = pickle.load(fh)
    except Exception:
        return None
    return obj if saved_kind == kind else None


def write(path: Path, kind: str, obj: Any) -> None:
    """Save ``obj`` under ``kind``: a unique temporary file (concurrent writers never collide), then
    an atomic replace (a killed process never leaves half a file)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            pickle.dump((kind, obj), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
