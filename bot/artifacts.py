"""Manifests for saved artifacts: what made them, checked again when they are loaded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class ArtifactError(RuntimeError):
    """A saved artifact that is missing, damaged or made for another model."""


def data_hash(parts: Iterable[str]) -> str:
    """A stable fingerprint of the data an artifact was built from."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:16]


def write_manifest(directory: Path, *, kind: str, **fields: Any) -> dict[str, Any]:
    """Write the manifest beside the artifact's files and return it."""
    manifest = {"kind": kind, "created_at": datetime.now(UTC).isoformat(), **fields}
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(directory / MANIFEST)
    return manifest


def read_manifest(directory: Path, *, kind: str, model_name: str, dimension: int) -> dict[str, Any]:
    """The manifest, after checking it describes an artifact of `kind` for this encoder."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{directory}: no {MANIFEST}; is this a Webcare {kind}?") from exc
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: damaged manifest ({exc})") from exc
    if manifest.get("kind") != kind:
        raise ArtifactError(f"{directory}: holds a {manifest.get('kind')!r}, expected a {kind!r}")
    if manifest.get("model_name") != model_name or manifest.get("dimension") != dimension:
        raise ArtifactError(
            f"{directory}: built with {manifest.get('model_name')} "
            f"({manifest.get('dimension')} dims), but this encoder is {model_name} "
            f"({dimension} dims): rebuild it"
        )
    return dict(manifest)
