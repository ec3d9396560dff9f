"""Test helper: the demo knowledge base's small Rasa model, trained in the background from the start
of the run (Rasa's start and training take minutes of one core that the other tests can overlap)."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.app.live_server import run_cli, webcare_env
from tests.conftest import DEMO_KB
from training import rasa_process

RASA_TEST = "tests/app/test_rasa.py::test_rasa_backend_answers_and_no_message_is_lost_when_rasa_goes_down"


class DemoRasaModel:
    """Exports the demo, validates the project and trains it, in a thread; `model()` waits for it."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._model: Path | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="rasa-demo-training", daemon=True)

    def start(self) -> DemoRasaModel:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            env = webcare_env(f"sqlite:///{self._directory / 'export.db'}", self._directory / "data")
            imported = run_cli(["kb", "import", str(DEMO_KB)], env)
            assert imported.returncode == 0, imported.stderr
            project = self._directory / "rasa"
            # Few epochs and no transformer layers keep training short; quality is the benchmark's business.
            exported = run_cli(
                ["rasa", "export", str(project), "--epochs", "20", "--transformer-layers", "0"], env
            )
            assert exported.returncode == 0, exported.stderr
            rasa_process.validate(project)
            self._model, _ = rasa_process.train_nlu(project, name="demo")
        except BaseException as exc:  # handed to the test that needs the model
            self._error = exc

    def model(self, timeout: float = 1200) -> Path:
        """The trained model file, once training has finished; re-raises what went wrong."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"Rasa training still running after {timeout}s")
        if self._error is not None:
            raise self._error
        assert self._model is not None
        return self._model
