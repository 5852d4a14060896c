"""The reproduction pipeline: papermill with injected parameters, and a failing notebook that does
not stop the others."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from irstd_lib import reproduce as reproduce_module
from irstd_lib.reproduce import NOTEBOOKS, find_notebook_dir, reproduce

pytestmark = pytest.mark.slow


def _notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "smoke"\nresults_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


def test_every_listed_notebook_exists_with_a_parameters_cell():
    for name in NOTEBOOKS:
        nb = nbformat.read(find_notebook_dir() / f"{name}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        assert 'profile = "smoke"' in tagged[0].source


def test_real_notebook_with_injected_parameters(tmp_path, monkeypatch):
    """The word-count notebook, executed by papermill with an injected results folder."""
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    report = reproduce("smoke", only=["lgnet_table1_word_counts"], results_dir=tmp_path / "results", progress=False)
    assert not report.failures, report.failures
    table = pd.read_csv(tmp_path / "results" / "smoke" / "tables" / "lgnet_table1_word_counts.csv")
    assert {"Left", "Right", "Center", "Lower", "Upper"} <= set(table.columns)
    ours = table[table["counts"] == "ours"]
    assert len(ours) >= 2 and (ours[["Left", "Right", "Upper", "Lower"]].sum(axis=1) > 0).all()
    assert table["counts"].str.startswith("LangIR reported").any()
    executed = nbformat.read(tmp_path / "results" / "smoke" / "notebooks" / "lgnet_table1_word_counts.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and str(tmp_path / "results") in injected[0].source
    assert (tmp_path / "results" / "smoke" / "REPORT.md").read_text().count("lgnet_table1_word_counts") >= 2


def test_a_broken_notebook_fails_by_name_while_the_others_are_written(tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    writes_table = (
        "import pandas as pd\n"
        "from irstd_lib.results import save_table\n"
        "save_table(pd.DataFrame({'x': [1]}), NAME, profile, results_dir)"
    )
    # a notebook's kernel runs in the notebook's folder
    _notebook(notebooks / "good_a.ipynb", f"import os\nassert os.path.samefile(os.getcwd(), {str(notebooks)!r})\n"
              + writes_table.replace("NAME", "'good_a'"))
    _notebook(notebooks / "broken.ipynb", "raise RuntimeError('broken on purpose')")
    _notebook(notebooks / "good_b.ipynb", writes_table.replace("NAME", "'good_b'"))
    # Saved widget state (tqdm bars: about 1 MB per training notebook) is dropped from the copy.
    nb = nbformat.read(notebooks / "good_b.ipynb", as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"x": {}}}}
    nbformat.write(nb, notebooks / "good_b.ipynb")
    monkeypatch.setattr(reproduce_module, "NOTEBOOKS", ["good_a", "broken", "good_b"])
    results = tmp_path / "results"
    here = Path.cwd()
    report = reproduce("smoke", results_dir=results, notebook_dir=notebooks, progress=False, jobs=2)
    assert Path.cwd() == here  # two notebooks at a time leave the process in its own folder
    assert [f.name for f in report.failures] == ["broken"]
    assert [r.name for r in report.results][:3] == ["good_a", "broken", "good_b"]  # two kernels at a time, the order kept
    assert "broken on purpose" in report.failures[0].error
    for name in ("good_a", "good_b"):
        assert (results / "smoke" / "tables" / f"{name}.csv").is_file()
    text = (results / "smoke" / "REPORT.md").read_text()
    assert "broken" in text and "FAILED" in text and "good_b" in text
    assert "widgets" not in nbformat.read(results / "smoke" / "notebooks" / "good_b.ipynb", as_version=4).metadata

    # The command line exits non-zero and names the failing notebook.
    from irstd_lib.__main__ import main

    monkeypatch.setattr(reproduce_module, "find_notebook_dir", lambda: notebooks)
    assert main(["reproduce", "--profile", "smoke", "--results", str(results)]) == 1
    assert "broken" in capsys.readouterr().err


def test_a_non_editable_install_reproduces_into_the_folder_it_is_given(tmp_path):
    """``pip install .`` (here ``uv pip install --target``, the same non-editable wheel install)
    then ``reproduce`` from another folder: the package comes from the install, the notebooks
    from inside the wheel, and every result lands under ``--results`` and nowhere else."""
    import os
    import subprocess
    import sys

    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv not found on PATH: the project installs through uv (README), and this test builds its wheel with it")
    repo = Path(__file__).resolve().parents[1]
    site = tmp_path / "site"
    subprocess.run([uv, "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(repo)], check=True,
                   cwd=tmp_path, timeout=300)
    assert (site / "irstd_lib" / "notebooks" / "lgnet_table1_word_counts.ipynb").is_file()
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "IRSTD_CACHE": str(tmp_path / "cache")}
    env.pop("IRSTD_RESULTS", None)
    where = subprocess.run([sys.executable, "-c", "import irstd_lib; print(irstd_lib.__file__)"], env=env, cwd=elsewhere,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), where
    done = subprocess.run([sys.executable, "-m", "irstd_lib", "reproduce", "--only", "lgnet_table1_word_counts",
                           "--results", str(out)], env=env, cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["smoke/REPORT.md", "smoke/figures/lgnet_table1_word_counts.png",
                       "smoke/notebooks/lgnet_table1_word_counts.ipynb", "smoke/tables/lgnet_table1_word_counts.csv",
                       "smoke/tables/lgnet_table1_word_counts.md"]
    assert list(elsewhere.iterdir()) == []  # nothing written in the working directory
    assert not (site / "results").exists() and not (site / "irstd_lib" / "results").exists()
