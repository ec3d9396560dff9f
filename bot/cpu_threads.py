"""Process-wide thread settings for the numeric libraries under the answer engine."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def single_threaded_blas() -> None:
    """Run numpy's BLAS on one thread, once per process (and any other BLAS loaded by then: scipy's
    and FAISS's, when the engine was built with them; libraries loaded later keep their own setting).

    The engine's matrix products are small (a batch of 384-dimension vectors against about a hundred
    intents), too small to gain from a second thread, but OpenBLAS keeps its idle threads spinning
    after each call: in a worker under load they took 13% of its CPU (perf, bench.channels at 150
    msg/s), and decide_many did 9-16% more messages/s with one thread (alternating, one process).
    ONNX Runtime keeps its own threads (see `bot.onnx_encoder`).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
