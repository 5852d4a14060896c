"""Static checks of the teaching notebooks (the nbval run itself compares their outputs).

``tour_of_irstd_data`` and ``metrics_explained`` are committed *with* their outputs so that
``pytest --nbval notebooks/tour_of_irstd_data.ipynb notebooks/metrics_explained.ipynb
--nbval-sanitize-with notebooks/nbval_sanitize.cfg`` can re-run them and compare. These tests
catch the ways that comparison breaks before it runs: outputs stripped, a cell left unexecuted or
failing, the papermill ``parameters`` cell lost, machine-specific text (absolute paths, memory
addresses, progress bars) stored in an output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from irstd_lib.reproduce import NOTEBOOKS

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
TEACHING = ["tour_of_irstd_data", "metrics_explained"]
PARAMETERS = ("profile", "data_root", "results_dir", "seed")


def _load(name: str) -> dict:
    return json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            texts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/"):
                texts.append("".join(value) if isinstance(value, list) else value)
    return texts


@pytest.mark.parametrize("name", TEACHING)
def test_reproduce_runs_the_notebook(name):
    assert name in NOTEBOOKS


@pytest.mark.parametrize("name", TEACHING)
def test_parameters_cell_first_code_cell_with_defaults(name):
    cells = _code_cells(_load(name))
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one papermill 'parameters' cell"
    assert tagged[0] is cells[0], "the parameters cell must come before any code that uses them"
    namespace: dict = {}
    exec(_source(tagged[0]), namespace)  # plain assignments only
    assert {k: namespace[k] for k in PARAMETERS} == {
        "profile": "smoke", "data_root": None, "results_dir": "../results", "seed": 0,
    }


@pytest.mark.parametrize("name", TEACHING)
def test_outputs_are_stored_and_error_free(name):
    nb = _load(name)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # nbval runs it in the current env
    cells = _code_cells(nb)
    assert all(c.get("execution_count") for c in cells), "every code cell executed"
    counts = [c["execution_count"] for c in cells]
    assert counts == sorted(counts), "cells executed top to bottom in one run"
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"], "stderr would make nbval flaky"
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert figures, "the notebook shows at least one figure"


@pytest.mark.parametrize("name", TEACHING)
def test_no_machine_specific_text_in_outputs(name):
    texts = [t for c in _code_cells(_load(name)) for t in _output_texts(c)]
    assert texts
    joined = "\n".join(texts)
    assert not re.search(r"0x[0-9a-fA-F]{6,}", joined), "memory address in an output"
    assert not re.search(r"(/work/|/home/|/tmp/|/Users/|[A-Z]:\\\\)", joined), "absolute path in an output"
    assert "it/s" not in joined and "\r" not in joined, "progress bar in an output"
