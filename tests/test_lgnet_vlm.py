"""LGNet's VLM experiments (irstd_lib.reproductions.lgnet_vlm): the answer measures on made-up
masks, the prompts each condition sends, the records, and the five notebooks driven by papermill
against a chat server on 127.0.0.1 that answers from fixed texts (every record and table goes to
a temporary results folder, never to results/)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, local_chat_server, send_chat_answer

from irstd_lib.text.vlm_client import ENV_API_KEY, ENV_ENDPOINT, ENV_MODEL, LGNET_SYSTEM_PROMPT, LGNET_TASK_PROMPT
from irstd_lib.text.vlm_responses import (
    agreement,
    box_iou,
    is_refusal,
    mask_truth,
    measure_response,
    parse_box,
    targets_named,
)

VLM_NOTEBOOKS = ("lgnet_vlm_prompt_styles", "lgnet_vlm_word_limit", "lgnet_vlm_target_word", "lgnet_vlm_box_annotation",
                 "lgnet_vlm_table3_models")

REFUSAL = "As an AI assistant, I am unable to do this task."
LONG = ("The image shows a wide scene with clouds and a faint horizon; somewhere in the frame there may be a small "
        "bright target, but the texture of the background makes it hard to be sure where it is, and several regions "
        "look alike in brightness, so the description stays general about the whole image and its structures.")
SHORT = "The small target is in the upper left quadrant."
HALLUCINATED = "Five small targets: in the upper left, the upper right, the lower left, the lower right and the center."
BOX = "[0.0, 0.0, 1.0, 1.0] The small target is in the upper left quadrant."
SECOND_MODEL = "Two small targets appear, one at the bottom right."


def fixed_answer(body: dict) -> str:
    """The fixed text for a request, from what it asks (the tests know which condition sends what)."""
    messages = body["messages"]
    system = next((m["content"] for m in messages if m["role"] == "system"), None)
    task = messages[-1]["content"][0]["text"]
    if body["model"] == "second-vlm":
        return SECOND_MODEL
    if system is None:
        return LONG if any(m["role"] == "assistant" for m in messages) else REFUSAL
    if "targets" in system:
        return HALLUCINATED
    if "bounding box" in task:
        return BOX
    if "50 words" not in task:
        return LONG
    return SHORT


class FixedChat(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        state = self.server.state  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with state["lock"]:
            state["requests"].append(body)
            state["keys"].append(self.headers.get("Authorization"))
        send_chat_answer(self, fixed_answer(body))

    def log_message(self, *args):
        pass


@pytest.fixture
def fixed_chat():
    with local_chat_server(FixedChat, {"lock": threading.Lock(), "requests": [], "keys": []}) as served:
        yield served


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    for var in (ENV_ENDPOINT, ENV_MODEL, ENV_API_KEY):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """Ten 32x32 synthetic scenes (a handful of test images, enough training ones for two examples)."""
    from irstd_lib.data.synthetic import write_synthetic_dataset

    return write_synthetic_dataset(tmp_path_factory.mktemp("vlm") / "tiny", n=10, seed=0, size=32)


def one_target(shape=(32, 32), rows=slice(4, 6), cols=slice(4, 7)):
    mask = np.zeros(shape, bool)
    mask[rows, cols] = True
    return mask


# --- the measures --------------------------------------------------------------------------


def test_refusals_positions_counts_and_boxes_on_made_up_masks():
    upper_left = one_target()
    assert is_refusal(REFUSAL) and not is_refusal("I am unable to see it well, but the target is at the top left.")
    assert agreement(SHORT, mask_truth(upper_left)) == {"quadrant": True, "centre": True, "position": True}
    assert agreement("The target is at the bottom right.", mask_truth(upper_left))["position"] is False
    centred = one_target(rows=slice(15, 17), cols=slice(15, 17))
    assert agreement("The target sits in the middle of the frame.", mask_truth(centred))["position"] is True
    # not naming the centre for a target in the grid's middle cell disagrees; naming it for a corner target too
    assert agreement("The target is in the upper left.", mask_truth(centred))["centre"] is False
    assert agreement("The target is in the center.", mask_truth(upper_left))["centre"] is False
    assert targets_named(HALLUCINATED) == (5, False)
    assert targets_named("There are multiple targets.") == (2, True)
    assert targets_named("No target is visible.") == (0, False)
    assert targets_named("[0.1, 0.2, 0.3, 0.4] the target") == (1, False)  # a box's digits are no count
    assert parse_box("box (0.25, 0.5, 0.125, 0.75)", (32, 64)) == (8.0, 16.0, 16.0, 24.0)  # fractions, corners sorted
    assert parse_box("[10, 4, 20, 8]", (32, 32)) == (10.0, 4.0, 20.0, 8.0)
    assert parse_box("[100, 0, 500, 1000]", (32, 64), units="per_mille") == (6.4, 0.0, 32.0, 32.0)
    assert parse_box("no box here", (32, 32)) is None
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    measured = measure_response("[4, 4, 7, 6] upper left", upper_left, "pixel")
    assert measured["box_iou"] == 1.0 and measured["box_covers_target"]
    assert measure_response(REFUSAL, upper_left, "auto")["box"] is None
    two = upper_left | one_target(rows=slice(25, 27), cols=slice(25, 27))
    assert measure_response(HALLUCINATED, two)["targets_in_mask"] == 2


def test_each_condition_sends_the_papers_prompt(fixed_chat, tiny_root, tmp_path):
    from irstd_lib.reproductions import lgnet_vlm

    url, state = fixed_chat
    endpoint = lgnet_vlm.Endpoint(url, "test-vlm")
    records = lgnet_vlm.measure(endpoint, lgnet_vlm.prompt_style_conditions(2), experiment="prompt_styles",
                                data_root=tiny_root, profile="smoke", results_dir=tmp_path / "results")
    n_test = records[0].summary["images"]
    bodies = state["requests"]
    assert len(bodies) == 3 * n_test
    zero, few, system = (bodies[i * n_test]["messages"] for i in range(3))
    assert [m["role"] for m in zero] == ["user"] and zero[0]["content"][0]["text"] == "Detect the small target in the infrared image."
    assert [m["role"] for m in few] == ["user", "assistant", "user", "assistant", "user"]
    assert few[1]["content"] and few[1]["content"] != few[3]["content"]  # two training examples, their own texts
    assert system[0] == {"role": "system", "content": LGNET_SYSTEM_PROMPT} and system[1]["content"][0]["text"] == LGNET_TASK_PROMPT
    assert [r.summary["refusals %"] for r in records] == [100.0, 0.0, 0.0]
    # a finished record is read, not asked again, and its folder holds the three files
    again = lgnet_vlm.measure(endpoint, lgnet_vlm.prompt_style_conditions(2), experiment="prompt_styles",
                              data_root=tiny_root, profile="smoke", results_dir=tmp_path / "results")
    assert len(state["requests"]) == 3 * n_test and [r.hash for r in again] == [r.hash for r in records]
    config = json.loads((records[1].folder / "config.json").read_text())
    assert config["vlm_input_reads_test_ground_truth"] is False
    assert config["few_shot_source"] in ("description files of trainval", "semantic template from the trainval masks (training ground truth)")
    assert json.loads((records[1].folder / "metrics.json").read_text())["scoring_reads_test_ground_truth"] is True
    # another model is another record
    other = lgnet_vlm.measure(lgnet_vlm.Endpoint(url, "second-vlm"), lgnet_vlm.word_limit_conditions([50]),
                              experiment="word_limit", data_root=tiny_root, results_dir=tmp_path / "results")
    assert other[0].hash != records[2].hash
    assert lgnet_vlm.word_limit_conditions([50])[0].task_prompt == LGNET_TASK_PROMPT
    assert "50 words" not in lgnet_vlm.word_limit_conditions([None])[0].task_prompt


def test_the_key_comes_from_the_named_variable_and_is_never_recorded(fixed_chat, tiny_root, tmp_path, monkeypatch):
    from irstd_lib.reproductions import lgnet_vlm

    url, state = fixed_chat
    monkeypatch.setenv("SECOND_VLM_KEY", "sk-test-123")
    records = lgnet_vlm.measure(lgnet_vlm.Endpoint(url, "test-vlm", "SECOND_VLM_KEY"), lgnet_vlm.box_conditions(),
                                experiment="box_annotation", data_root=tiny_root, results_dir=tmp_path / "results")
    assert state["keys"] and set(state["keys"]) == {"Bearer sk-test-123"}
    for path in records[0].folder.iterdir():
        assert "sk-test-123" not in path.read_text(), path
    assert records[0].summary["box given %"] == 100.0 and records[0].per_image["box"].notna().all()


# --- the notebooks -------------------------------------------------------------------------


def _execute(name, tmp_path, **parameters):
    import papermill

    out = tmp_path / "executed" / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(REPO / "notebooks" / f"{name}.ipynb"), str(out), parameters=parameters,
                               cwd=str(REPO / "notebooks"), progress_bar=False, kernel_name="python3")
    return out


def _table(results, name):
    return pd.read_csv(results / "smoke" / "tables" / f"{name}.csv")


def test_the_notebooks_measure_the_fixed_answers_and_render_from_their_records(fixed_chat, tiny_root, tmp_path, monkeypatch):
    url, state = fixed_chat
    results = tmp_path / "results"
    common = {"profile": "smoke", "data_root": str(tiny_root), "results_dir": str(results), "vlm_base_url": url,
              "vlm_model": "test-vlm"}
    for name in VLM_NOTEBOOKS[:-1]:
        _execute(name, tmp_path, **common)
    _execute("lgnet_vlm_table3_models", tmp_path, **common, second_vlm_model="second-vlm")
    styles = _table(results, "lgnet_vlm_prompt_styles").set_index("condition")
    assert styles["refusals %"].tolist() == [100.0, 0.0, 0.0]
    assert styles.loc["system prompt (LGNet's)", "words per answer"] == len(SHORT.split())
    assert styles.loc["zero-shot", "position agrees %"] == 0.0
    limits = _table(results, "lgnet_vlm_word_limit").set_index("condition")
    assert limits.loc["no word limit", "words per answer"] == len(LONG.split()) > limits.loc["50-word limit", "words per answer"]
    words = _table(results, "lgnet_vlm_target_word")
    assert words["more named than in mask % (hallucination)"].tolist() == [0.0, 100.0]  # < 5 targets in every tiny mask
    boxes = _table(results, "lgnet_vlm_box_annotation")
    assert boxes.loc[0, "box given %"] == 100.0 and boxes.loc[0, "box covers target %"] == 100.0  # the whole frame
    assert 0.0 < boxes.loc[0, "box IoU (mean)"] < 0.2
    models = _table(results, "lgnet_vlm_table3_models")
    assert models["VLM"].tolist() == ["test-vlm", "second-vlm"]
    for name in VLM_NOTEBOOKS:
        assert (results / "smoke" / "figures" / f"{name}.png").is_file(), name
    # LGNet's prompt to test-vlm is one record, shared by four notebooks: 3 styles, no limit, "targets", box, second-vlm
    assert len(list((results / "vlm_runs").iterdir())) == 3 + 1 + 1 + 1 + 1
    # Rendered again from the records alone (what the notebook's cell calls, here without a
    # kernel): no new request with a fresh answer cache, the same table.
    from irstd_lib.reproductions import lgnet_vlm

    asked = len(state["requests"])
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "fresh_cache"))
    again = lgnet_vlm.measure(lgnet_vlm.Endpoint(url, "test-vlm"), lgnet_vlm.word_limit_conditions([50, None]),
                              experiment="word_limit", profile="smoke", data_root=str(tiny_root), results_dir=results,
                              max_tokens=300)
    assert len(state["requests"]) == asked
    pd.testing.assert_frame_equal(lgnet_vlm.summary_table(again).reset_index(drop=True), _table(results, "lgnet_vlm_word_limit"),
                                  check_dtype=False)
    assert not (REPO / "results" / "vlm_runs").exists()


def test_without_an_endpoint_a_vlm_notebook_skips_fast_and_says_why(tmp_path):
    """What nbval-lax runs (the default parameters): nothing is measured or written. Two of the
    five here (the README's nbval-lax command executes all five the same way): one of the four
    alike, and Table 3's, which also checks its second model."""
    import nbformat

    for cell_source in (c.source for name in VLM_NOTEBOOKS
                        for c in nbformat.read(str(REPO / "notebooks" / f"{name}.ipynb"), as_version=4).cells[3:]
                        if c.cell_type == "code" and "lgnet_vlm.paper_table3()" not in c.source):
        assert cell_source.startswith("if endpoint is not None:"), cell_source  # every measuring cell is guarded
    for name in ("lgnet_vlm_prompt_styles", "lgnet_vlm_table3_models"):
        out = _execute(name, tmp_path, results_dir=str(tmp_path / "results"))
        text = "".join(o.get("text", "") for c in nbformat.read(str(out), as_version=4).cells if c.cell_type == "code"
                       for o in c.get("outputs", []))
        assert "Skipped" in text and "vlm_base_url" in text, name
    assert not (tmp_path / "results").exists()
    # Fast by construction (a kernel's start aside): the skipping path imports no pandas, torch,
    # scipy, matplotlib or runs layer, and asks nothing.
    probe = ("import sys; from irstd_lib.reproductions import lgnet_vlm; "
             "assert lgnet_vlm.endpoint_from_parameters(None, None) is None; "
             "print(sorted(m for m in ('pandas', 'torch', 'scipy', 'matplotlib', 'irstd_lib.runs') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_reproduce_skips_the_vlm_notebooks_without_an_endpoint_and_names_what_they_need(tmp_path):
    from irstd_lib.reproduce import reproduce
    from irstd_lib.reproductions.specs import VLM_NOTEBOOKS as LISTED

    assert set(LISTED) == set(VLM_NOTEBOOKS)
    report = reproduce("smoke", only=list(VLM_NOTEBOOKS), results_dir=tmp_path / "results", progress=False)
    assert not report.failures
    text = (tmp_path / "results" / "smoke" / "REPORT.md").read_text()
    for name in VLM_NOTEBOOKS:
        assert name in text
    assert "skipped" in text and ENV_ENDPOINT in text and ENV_MODEL in text
    assert not (tmp_path / "results" / "smoke" / "notebooks").exists()
