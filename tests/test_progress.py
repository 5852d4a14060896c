"""The status line a notebook kernel writes for ``reproduce`` (irstd_lib.progress)."""

from __future__ import annotations

import time

from irstd_lib import progress
from irstd_lib.reproduce import _kernel_status


def test_nothing_is_written_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    progress.announce_task("training x")
    progress.announce_step("epoch 1/2")
    assert list(tmp_path.iterdir()) == []


def test_task_and_step_make_one_line_and_a_new_task_clears_the_step(tmp_path, monkeypatch):
    status = tmp_path / "status.txt"
    monkeypatch.setenv(progress.ENV_VAR, str(status))
    progress.announce_task("training lgnet (run abc)")
    assert progress.read_status(status) == "training lgnet (run abc)"
    time.sleep(progress._MIN_INTERVAL_S + 0.05)
    progress.announce_step("epoch 3/40, step 2/3, loss 0.5000")
    assert progress.read_status(status) == "training lgnet (run abc) | epoch 3/40, step 2/3, loss 0.5000"
    progress.announce_task("evaluating lgnet (run abc)")
    assert progress.read_status(status) == "evaluating lgnet (run abc)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.txt"]  # no temporary file left


class _Bar:
    def __init__(self):
        self.postfixes: list[str] = []

    def set_postfix_str(self, text: str) -> None:
        self.postfixes.append(text)


def test_reproduce_shows_what_the_kernel_writes_beside_the_notebook(monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    bar = _Bar()
    with _kernel_status(bar) as show:
        show("lgnet_table6_components")
        # a kernel started now inherits the variable and writes its status there
        progress.announce_task("training lgnet_fusion (run 123)")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(bar.postfixes) < 2:
            time.sleep(0.1)
    assert bar.postfixes[0] == "lgnet_table6_components"
    assert bar.postfixes[1] == "lgnet_table6_components: training lgnet_fusion (run 123)"
    import os

    assert progress.ENV_VAR not in os.environ  # restored afterwards
