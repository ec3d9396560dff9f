"""The FAISS index over every FAQ phrasing, with its manifest; entries can be swapped one at a time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import faiss
import numpy as np

from bot.artifacts import ArtifactError, data_hash, read_manifest, write_manifest
from bot.encoder import TextEncoder
from bot.types import Candidate, FaqEntry
from knowledge_base.vector_cache import encode_cached

KIND = "faq-index"
_VECTORS = "index.faiss"
_ENTRIES = "entries.json"
PHRASING_VECTORS = "phrasing-vectors"
KEEP_PHRASING_VECTORS = 4  # a few knowledge-base states: a restart after a publish or a rollback


def entry_fingerprint(entry: FaqEntry) -> str:
    """Changes when anything the index depends on changes (phrasings), not for answer edits."""
    return data_hash([entry.id, *entry.phrasings])


class FaqIndex:
    """Exact inner-product search over L2-normalised phrasing vectors, one id range per entry.

    Searches take a snapshot under a lock, so an update never shows a half-swapped index.
    """

    def __init__(self, dimension: int) -> None:
        # A flat search over a few thousand phrasings takes microseconds; waking FAISS's OpenMP pool
        # for it cost 10-20 ms per message on a busy 2-core machine (bench/engine.py --faiss-threads).
        faiss.omp_set_num_threads(1)
        self.dimension = dimension
        self._lock = threading.RLock()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._entries: dict[str, FaqEntry] = {}
        self._ids_of: dict[str, np.ndarray] = {}  # entry id -> faiss ids of its phrasings
        self._owner: dict[int, str] = {}  # faiss id -> entry id
        self._next_id = 0

    # --- building -----------------------------------------------------------------------
    @classmethod
    def build(
        cls, entries: Sequence[FaqEntry], encoder: TextEncoder, *, cache_dir: Path | None = None
    ) -> FaqIndex:
        """Encode every phrasing of `entries` in one batch and index them.

        With `cache_dir`, the vectors of the last few sets of phrasings are kept on disk, so a
        restart with an unchanged knowledge base encodes nothing.
        """
        index = cls(encoder.dimension)
        texts = [text for entry in entries for text in entry.phrasings]
        if not texts:
            return index
        vectors = encode_cached(encoder, texts, cache_dir, kind=PHRASING_VECTORS, keep=KEEP_PHRASING_VECTORS)
        offset = 0
        for entry in entries:
            count = len(entry.phrasings)
            index._add(entry, vectors[offset : offset + count])
            offset += count
        return index

    def _add(self, entry: FaqEntry, vectors: np.ndarray) -> None:
        ids = np.arange(self._next_id, self._next_id + len(vectors), dtype=np.int64)
        self._next_id += len(vectors)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._entries[entry.id] = entry
        self._ids_of[entry.id] = ids
        for faiss_id in ids:
            self._owner[int(faiss_id)] = entry.id

    def _remove(self, faq_id: str) -> None:
        ids = self._ids_of.pop(faq_id, None)
        if ids is not None and len(ids):
            self._index.remove_ids(ids)  # type: ignore[arg-type]  # faiss's wrapper takes arrays
            for faiss_id in ids:
                self._owner.pop(int(faiss_id), None)
        self._entries.pop(faq_id, None)

    def upsert(self, entries: Iterable[FaqEntry], encoder: TextEncoder) -> int:
        """Put new or changed entries in; only entries whose phrasings changed are re-encoded.

        Returns how many entries were re-encoded.
        """
        entries = list(entries)
        with self._lock:
            changed = [
                e
                for e in entries
                if e.id not in self._entries or entry_fingerprint(self._entries[e.id]) != entry_fingerprint(e)
            ]
            unchanged = [e for e in entries if e not in changed]
        texts = [text for entry in changed for text in entry.phrasings]
        vectors = encoder.encode(texts) if texts else np.zeros((0, self.dimension), np.float32)
        with self._lock:
            offset = 0
            for entry in changed:
                count = len(entry.phrasings)
                self._remove(entry.id)
                self._add(entry, vectors[offset : offset + count])
                offset += count
            for entry in unchanged:  # answer-only edits: no encoding, just the new text
                self._entries[entry.id] = entry
        return len(changed)

    def updated(self, entries: Sequence[FaqEntry], encoder: TextEncoder) -> FaqIndex:
        """A new index holding exactly `entries`; this one's vectors are reused for unchanged phrasings.

        This index is not touched, so searches on it (the live engine's) go on during the update.
        """
        with self._lock:
            copy = FaqIndex(self.dimension)
            copy._index = faiss.clone_index(self._index)  # type: ignore[assignment]  # stubs say Index
            copy._entries, copy._ids_of = dict(self._entries), dict(self._ids_of)
            copy._owner, copy._next_id = dict(self._owner), self._next_id
        wanted = {entry.id for entry in entries}
        copy.remove([faq_id for faq_id in copy._entries if faq_id not in wanted])
        copy.upsert(entries, encoder)
        return copy

    def remove(self, faq_ids: Iterable[str]) -> None:
        """Take entries out (archived or deleted)."""
        with self._lock:
            for faq_id in faq_ids:
                self._remove(faq_id)

    # --- searching ----------------------------------------------------------------------
    def search(self, vectors: np.ndarray, k: int) -> list[list[Candidate]]:
        """Per vector, up to `k` distinct entries, best first (score = best phrasing cosine)."""
        with self._lock:
            total = self._index.ntotal
            if total == 0:
                return [[] for _ in range(len(vectors))]
            # Several phrasings of one entry can crowd the top, so look deeper than k.
            depth = min(total, max(k * 8, 32))
            # OpenMP's thread count is per calling thread: set it in the worker and request threads that
            # search, not only where the index was built, or idle OpenMP threads spin on the other core.
            faiss.omp_set_num_threads(1)
            scores, ids = self._index.search(np.ascontiguousarray(vectors, np.float32), depth)
            results = []
            for row_scores, row_ids in zip(scores, ids, strict=True):
                seen: dict[str, Candidate] = {}
                for score, faiss_id in zip(row_scores, row_ids, strict=True):
                    owner = self._owner.get(int(faiss_id))
                    if owner is None or owner in seen:
                        continue
                    entry = self._entries[owner]
                    seen[owner] = Candidate(owner, entry.question, float(score))
                    if len(seen) == k:
                        break
                results.append(list(seen.values()))
            return results

    def entry(self, faq_id: str) -> FaqEntry | None:
        with self._lock:
            return self._entries.get(faq_id)

    def entries(self) -> list[FaqEntry]:
        with self._lock:
            return list(self._entries.values())

    def phrasing_vectors(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Every stored vector with its entry id and text (for training the classifiers)."""
        with self._lock:
            vectors, owners, texts = [], [], []
            for faq_id, ids in self._ids_of.items():
                phrasings = self._entries[faq_id].phrasings
                for faiss_id, text in zip(ids, phrasings, strict=True):
                    vectors.append(self._index.reconstruct(int(faiss_id)))
                    owners.append(faq_id)
                    texts.append(text)
            if not vectors:
                return np.zeros((0, self.dimension), np.float32), [], []
            return np.vstack(vectors).astype(np.float32), owners, texts

    # --- saving -------------------------------------------------------------------------
    def save(self, directory: Path, *, model_name: str, kb_version: int | None = None) -> None:
        """Write vectors, entries and a manifest that loading checks."""
        with self._lock:
            directory.mkdir(parents=True, exist_ok=True)
            faiss.write_index(self._index, str(directory / _VECTORS))
            entries = [_entry_to_json(e, self._ids_of[e.id]) for e in self._entries.values()]
            (directory / _ENTRIES).write_text(json.dumps(entries), encoding="utf-8")
            write_manifest(
                directory,
                kind=KIND,
                model_name=model_name,
                dimension=self.dimension,
                entries=len(entries),
                vectors=int(self._index.ntotal),
                data_hash=data_hash(entry_fingerprint(e) for e in self._entries.values()),
                kb_version=kb_version,
            )

    @classmethod
    def load(cls, directory: Path, *, model_name: str, dimension: int) -> FaqIndex:
        """A saved index, refused if it was built for another encoder or does not add up."""
        manifest = read_manifest(directory, kind=KIND, model_name=model_name, dimension=dimension)
        try:
            raw = faiss.read_index(str(directory / _VECTORS))
            records = json.loads((directory / _ENTRIES).read_text(encoding="utf-8"))
        except (RuntimeError, OSError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"{directory}: index files cannot be read ({exc})") from exc
        index = cls(dimension)
        index._index = faiss.IndexIDMap2(raw) if not isinstance(raw, faiss.IndexIDMap2) else raw
        for record in records:
            entry, ids = _entry_from_json(record)
            index._entries[entry.id] = entry
            index._ids_of[entry.id] = ids
            for faiss_id in ids:
                index._owner[int(faiss_id)] = entry.id
            index._next_id = max(index._next_id, int(ids.max()) + 1 if len(ids) else 0)
        fingerprint = data_hash(entry_fingerprint(e) for e in index._entries.values())
        if raw.ntotal != manifest["vectors"] or fingerprint != manifest["data_hash"]:
            raise ArtifactError(f"{directory}: index does not match its manifest; rebuild it")
        return index


def _entry_to_json(entry: FaqEntry, ids: np.ndarray) -> dict[str, object]:
    return {
        "id": entry.id,
        "question": entry.question,
        "answer": entry.answer,
        "examples": list(entry.examples),
        "tags": list(entry.tags),
        "variants": dict(entry.variants),
        "ids": [int(i) for i in ids],
    }


def _entry_from_json(record: dict[str, object]) -> tuple[FaqEntry, np.ndarray]:
    entry = FaqEntry(
        id=str(record["id"]),
        question=str(record["question"]),
        answer=str(record["answer"]),
        examples=tuple(record["examples"]),  # type: ignore[arg-type]
        tags=tuple(record["tags"]),  # type: ignore[arg-type]
        variants=dict(record["variants"]),  # type: ignore[call-overload]
    )
    return entry, np.array(record["ids"], dtype=np.int64)
