"""The exported encoder compiled by OpenVINO: bf16 multiplies on CPUs built for them, fp32 elsewhere."""

from __future__ import annotations

import queue
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np


@cache
def cpu_precision() -> str:
    """'bf16' where the CPU multiplies bf16 natively (AMX, AVX512-BF16), else 'f32'.

    bf16 keeps fp32's range with an 8-bit mantissa; products are summed in fp32, so on BANKING77 the
    vectors stayed at cosine 0.99998 or more to fp32's (int8: 0.986) at 2.5x the speed of ONNX
    Runtime's fp32 on a Xeon with AMX (runs of 4 texts on one thread, 2026-11-30).
    """
    import openvino as ov

    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in capabilities else "f32"


class OpenVinoModel:
    """One compiled model with `streams` streams of one thread each: that many calls from different
    threads run side by side, each on an infer request of its own (a stream runs its calls in turn)."""

    def __init__(self, model_path: Path, streams: int) -> None:
        import openvino as ov

        core = ov.Core()
        self._compiled = core.compile_model(
            core.read_model(str(model_path)),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": cpu_precision(),
                "NUM_STREAMS": streams,
                "INFERENCE_NUM_THREADS": streams,
                "PERFORMANCE_HINT": "LATENCY",
            },
        )
        # An infer request serves one call at a time; idle ones wait here for the next caller.
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # The first call runs here, on one thread. OpenVINO's Python binding sets up a static on its first
        # call whose set-up lets go of the interpreter lock (pybind11's numpy bridge); a second thread
        # arriving meanwhile waits for that static holding the lock, and both hang for good. Seen as a
        # worker's index build that never ended (two chunks side by side on a fresh model: 1 process in 12).
        self(np.zeros((1, 8), dtype=np.int64), np.ones((1, 8), dtype=np.int64))

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        try:
            request = self._idle.get_nowait()
        except queue.Empty:
            request = self._compiled.create_infer_request()
        try:
            request.infer({0: ids, 1: mask})
            # The output tensor is the request's own memory, overwritten by its next call.
            return np.array(request.get_output_tensor(0).data, dtype=np.float32)
        finally:
            self._idle.put(request)
