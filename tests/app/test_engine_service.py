"""The live engine of a process: a publish is answered at once and fully refitted in the background; the
encoder a standalone worker chooses."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.engine_service import EngineService, make_encoder, worker_encoder_backend
from app.settings import Settings
from bot.encoder import TextEncoder
from bot.openvino_model import cpu_precision
from bot.policy import FAQ_PREFIX
from bot.types import FaqEntry
from knowledge_base.store import import_entries


def test_a_publish_gets_its_ngram_evidence_back_in_the_background(
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    encoder: TextEncoder,
    cache_dir: Path,
    demo_entries: list[FaqEntry],
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, vector_cache_dir=cache_dir)
    entries = demo_entries[:8]
    with transaction(sessions) as session:
        import_entries(session, entries=entries)
    service = EngineService(settings, sessions, encoder)
    started = service.start()
    assert started.classifier.lexical is not None and not started.classifier.lexical_stale

    edited = replace(entries[0], examples=(*entries[0].examples, "my login just spins forever, what now"))
    with transaction(sessions) as session:
        import_entries(session, entries=[edited])
    incremental = service.refresh()
    # Live at once, the edited entry without n-gram evidence for now ...
    assert incremental.classifier.lexical_stale == {FAQ_PREFIX + edited.id}
    deadline = time.monotonic() + 120
    while service.engine.classifier.lexical_stale and time.monotonic() < deadline:
        time.sleep(0.05)
    # ... and with it again once the background refit is swapped in, on the same index and version.
    refitted = service.engine
    assert not refitted.classifier.lexical_stale
    assert refitted.classifier.lexical is not None
    assert refitted.classifier.lexical is not incremental.classifier.lexical
    assert refitted.retriever is incremental.retriever
    assert service.refresh() is refitted  # nothing new published: the refitted engine stays


def test_a_standalone_worker_encodes_in_bf16_where_the_cpu_multiplies_it(tmp_path: Path) -> None:
    bf16 = cpu_precision() == "bf16"
    settings = Settings(models_dir=tmp_path)
    assert worker_encoder_backend(settings) == ("openvino" if bf16 else "onnx-fp32")
    worker_encoder = make_encoder(settings, worker_encoder_backend(settings))
    assert worker_encoder.name.endswith("@openvino-bf16" if bf16 else "@onnx-fp32")
    assert make_encoder(settings).name.endswith("@onnx-fp32")  # the server's stays fp32
    # Other encoders' vectors are further from bf16's (int8 has a calibration of its own): kept as chosen.
    for backend in ("onnx", "onnx-int8-ffn", "torch", "openvino"):
        assert worker_encoder_backend(Settings(encoder_backend=backend)) == backend
    chosen = Settings(worker_encoder_backend="onnx-fp32")
    assert worker_encoder_backend(chosen) == "onnx-fp32"
    with pytest.raises(ValidationError, match="must be auto or one of torch, onnx"):
        Settings(worker_encoder_backend="gpu")
