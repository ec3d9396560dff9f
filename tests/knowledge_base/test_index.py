"""The FAISS index: search by meaning, swap entries one at a time, refuse a mismatched manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.artifacts import ArtifactError
from bot.encoder import TextEncoder
from bot.types import FaqEntry
from knowledge_base.index import KEEP_PHRASING_VECTORS, PHRASING_VECTORS, FaqIndex
from tests.knowledge_base.recording_encoder import RecordingEncoder

ROAM = FaqEntry("roaming", "Can I use my phone abroad?", "Yes.", ("roaming charges", "data in spain"))
BILL = FaqEntry("bill", "When is my bill due?", "On the 1st.", ("payment date",))


def test_search_finds_by_meaning(encoder: TextEncoder) -> None:
    index = FaqIndex.build([ROAM, BILL], encoder)
    results = index.search(encoder.encode(["using mobile data in italy"]), k=2)[0]
    assert [c.faq_id for c in results] == ["roaming", "bill"]
    assert results[0].score > results[1].score


def test_answer_edit_reencodes_nothing_and_new_phrasing_only_that_entry(encoder: TextEncoder) -> None:
    recording = RecordingEncoder(encoder)
    index = FaqIndex.build([ROAM, BILL], recording)
    built = len(recording.texts)
    edited = FaqEntry("bill", "When is my bill due?", "On the 2nd now.", ("payment date",))
    assert index.upsert([ROAM, edited], recording) == 0
    assert len(recording.texts) == built
    assert index.entry("bill").answer == "On the 2nd now."  # type: ignore[union-attr]
    rephrased = FaqEntry("bill", "When is my bill due?", "On the 2nd now.", ("payment date", "due date"))
    assert index.upsert([rephrased], recording) == 1
    assert len(recording.texts) == built + len(rephrased.phrasings)
    hit = index.search(encoder.encode(["due date"]), k=1)[0][0]
    assert hit.faq_id == "bill"
    assert hit.score > 0.99


def test_remove(encoder: TextEncoder) -> None:
    index = FaqIndex.build([ROAM, BILL], encoder)
    index.remove(["roaming"])
    assert [c.faq_id for c in index.search(encoder.encode(["roaming"]), k=5)[0]] == ["bill"]


def test_save_and_load(tmp_path: Path, encoder: TextEncoder) -> None:
    index = FaqIndex.build([ROAM, BILL], encoder)
    index.save(tmp_path, model_name=encoder.name)
    loaded = FaqIndex.load(tmp_path, model_name=encoder.name, dimension=encoder.dimension)
    query = encoder.encode(["data in spain"])
    assert loaded.search(query, 2) == index.search(query, 2)


def test_load_refuses_a_tampered_index(tmp_path: Path, encoder: TextEncoder) -> None:
    FaqIndex.build([ROAM, BILL], encoder).save(tmp_path, model_name=encoder.name)
    records = json.loads((tmp_path / "entries.json").read_text())
    records[0]["examples"].append("sneaked in")
    (tmp_path / "entries.json").write_text(json.dumps(records))
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        FaqIndex.load(tmp_path, model_name=encoder.name, dimension=encoder.dimension)


def test_a_rebuild_of_the_same_phrasings_in_any_order_reads_their_vectors_from_the_cache(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    recording = RecordingEncoder(encoder)
    first = FaqIndex.build([ROAM, BILL], recording, cache_dir=tmp_path)
    encoded = len(recording.texts)
    assert encoded == len(ROAM.phrasings) + len(BILL.phrasings)
    again = FaqIndex.build([ROAM, BILL], recording, cache_dir=tmp_path)  # a restart: nothing encoded
    assert len(recording.texts) == encoded
    query = encoder.encode(["data in spain"])
    assert again.search(query, 2) == first.search(query, 2)
    # In another order (a knowledge base read from its file, then from the database): the same vectors,
    # each entry its own, not its neighbour's in the other order.
    reordered = FaqIndex.build([BILL, ROAM], recording, cache_dir=tmp_path)
    assert len(recording.texts) == encoded
    queries = encoder.encode(["data in spain", "payment date"])
    assert reordered.search(queries, 2) == first.search(queries, 2)
    assert [hits[0].faq_id for hits in reordered.search(queries, 1)] == ["roaming", "bill"]
    assert len(list(tmp_path.glob(f"{PHRASING_VECTORS}-*.npy"))) == 1
    # Every other knowledge-base state gets its own file; only the newest few are kept.
    for n in range(KEEP_PHRASING_VECTORS + 2):
        FaqIndex.build(
            [ROAM, FaqEntry("bill", "When is my bill due?", "x", (f"payment date {n}",))],
            recording,
            cache_dir=tmp_path,
        )
    assert len(list(tmp_path.glob(f"{PHRASING_VECTORS}-*.npy"))) == KEEP_PHRASING_VECTORS
    assert not list(tmp_path.glob(".tmp-*"))
