"""SAIST's descriptions as section 3.4 states them (issue 20, item 5): free-form MIRSTD text read
by the ``files`` source, the ``vlm_scene`` source (target-removed image, SAIST's instruction, 25
words) against a chat server on 127.0.0.1, and a tiny SAIST trained and evaluated on free text."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from PIL import Image

from conftest import local_chat_server, send_chat_answer
from irstd_lib.text.descriptions.scene_text import CLIP_CONTEXT, clip_token_count, read_scene_text

MIRSTD_STYLE = [  # ~25 words each, as 3.4 describes them: the template, then a brief description
    "a photo of a sky with clouds, a horizon, and haze. Thin bright clouds drift over a dark sky; the horizon is low and hazy.",
    "a photo of a sea surface with waves, glint, and a coastline. Cold water fills the frame under grey light near the shore.",
    "a photo of a field with trees, a road, and buildings. Warm roofs and a straight road cross flat farmland at dusk.",
]
FREE_TEXT = "Dark uniform background with faint horizontal banding from the sensor and a brighter band of warm ground at the bottom."


def test_the_three_forms_of_a_description():
    exact = read_scene_text("a photo of a sky with clouds, a horizon, and haze")
    assert exact.form == "template" and exact.prompt == "a photo of a sky with clouds, a horizon, and haze"
    mirstd = read_scene_text(MIRSTD_STYLE[0])
    assert mirstd.form == "template+description" and mirstd.scene == "a sky"
    assert mirstd.objects == ("clouds", "a horizon", "haze") and mirstd.prompt == MIRSTD_STYLE[0]
    free = read_scene_text(FREE_TEXT)
    assert free.form == "free" and free.prompt == FREE_TEXT and free.objects == (FREE_TEXT,) * 3
    with pytest.raises(ValueError, match="empty"):
        read_scene_text("  \n")


def test_a_long_description_is_truncated_with_a_warning_naming_its_file(tmp_path):
    from irstd_lib.conditioning.scene_prompt import _read_all

    long_text = " ".join(["warm ground and cold sky"] * 30)
    assert clip_token_count(long_text) > CLIP_CONTEXT
    with pytest.warns(UserWarning, match=r"img7\.txt: scene description of \d+ tokens is truncated to CLIP's context of 77"):
        table = _read_all({"img7": long_text}, lambda n: tmp_path / f"{n}.txt")
    assert table["img7"][2] == long_text  # encoded whole; CLIP's tokenizer cuts it


@pytest.fixture
def mirstd_root(tiny_synthetic_root, tmp_path):
    """The tiny synthetic set with a MIRSTD-style free-text folder, scene_descriptions/<name>.txt."""
    from irstd_lib.data import IRSTDDataset

    root = tmp_path / "tiny_mirstd"
    shutil.copytree(tiny_synthetic_root, root)
    folder = root / "scene_descriptions"
    folder.mkdir(exist_ok=True)
    names = IRSTDDataset(root, "all").names
    for i, name in enumerate(names):
        text = FREE_TEXT if i % 4 == 3 else MIRSTD_STYLE[i % 3]
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return root


def test_a_free_text_description_folder_trains_and_evaluates_saist(mirstd_root, tmp_path, monkeypatch, one_torch_thread):
    from irstd_lib.conditioning import get_kind
    from irstd_lib.reproductions.configs import run_config
    from irstd_lib.runs import prepare_run, run_experiment

    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    config = run_config("smoke", "saist", data_root=mirstd_root, epochs=1)
    assert config.conditioning == {"descriptions": "files"}
    config = config.replace(data=dataclasses.replace(config.data, train_size=64, eval_size=64))
    prep = prepare_run(config, mirstd_root, tmp_path / "results")
    condition = prep.prepare_condition()
    batch_names = list(prep.train_set.names[:4])
    made = condition.train({"name": batch_names}, "test")
    texts = {n: (mirstd_root / "scene_descriptions" / f"{n}.txt").read_text().strip() for n in batch_names}
    assert made["prompt"] == [texts[n] for n in batch_names]  # CLIP encodes each file's own text
    assert all(len(o) == 3 for o in made["objects"])
    result = run_experiment(config, mirstd_root, tmp_path / "results", progress=False)
    assert result.record["epochs"] == 1 and np.isfinite(result.record["test"]["IoU"])
    assert get_kind("scene_prompt").identity(config.condition_settings, 0) == {"descriptions": "files", "mask_target": None}


# -- the vlm_scene source against a chat server on loopback ----------------------------------------

class _Chat(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        state = self.server.state  # type: ignore[attr-defined]
        with state["lock"]:
            state["requests"].append(body)
            text = state["answers"][(len(state["requests"]) - 1) % len(state["answers"])]
        send_chat_answer(self, text, index=True)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server(monkeypatch):
    from irstd_lib.text.vlm_client import ENV_API_KEY, ENV_ENDPOINT, ENV_MODEL

    for var in (ENV_ENDPOINT, ENV_MODEL, ENV_API_KEY):
        monkeypatch.delenv(var, raising=False)
    long_answer = MIRSTD_STYLE[1] + " Further detail that runs past the limit of twenty-five words by a long way indeed."
    state = {"lock": threading.Lock(), "requests": [], "answers": [MIRSTD_STYLE[0], long_answer]}
    with local_chat_server(_Chat, state) as served:
        yield served


def _sent_image(request) -> np.ndarray:
    parts = request["messages"][1]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_vlm_scene_sends_the_target_removed_image_with_saists_instruction(chat_server, tmp_path):
    from dataclasses import dataclass

    from irstd_lib.text.descriptions import count_words, get_source
    from irstd_lib.text.descriptions.vlm import SAIST_SYSTEM_PROMPT, SAIST_TASK_PROMPT

    @dataclass
    class Sample:
        name: str
        image: np.ndarray
        mask: np.ndarray

    url, state = chat_server
    image = np.full((24, 24), 0.2, np.float32)
    mask = np.zeros((24, 24), bool)
    image[10:13, 10:13], mask[10:13, 10:13] = 1.0, True  # a bright 3x3 target
    source = get_source("vlm_scene", endpoint=url, model="test-vlm", cache_dir=tmp_path / "vlm")
    assert source.uses_ground_truth and source.output_kind == "scene"
    first = source.describe(Sample("a", image, mask))
    second = source.describe(Sample("b", image + 0.01, mask))
    messages = state["requests"][0]["messages"]
    assert messages[0]["content"] == SAIST_SYSTEM_PROMPT and SAIST_TASK_PROMPT in [p.get("text") for p in messages[1]["content"]]
    sent = _sent_image(state["requests"][0])
    assert sent.max() < 100 and sent[11, 11] == round(0.2 * 255)  # the target is gone, the background is not
    assert first.text == MIRSTD_STYLE[0]
    assert count_words(second.text) <= 25 and second.provenance["truncated"]
    shown = get_source("vlm_scene", endpoint=url, model="test-vlm", cache_dir=tmp_path / "vlm2", mask_target=False)
    shown.describe(Sample("c", image, mask))
    assert _sent_image(state["requests"][-1])[11, 11] == 255 and not shown.uses_ground_truth


def test_scene_prompt_vlm_descriptions_condition_the_model(chat_server, tiny_synthetic_root, tmp_path, monkeypatch):
    from irstd_lib.conditioning import ConditioningContext, get_kind
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.text.vlm_client import ENV_ENDPOINT, ENV_MODEL

    url, state = chat_server
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_ENDPOINT, url)
    monkeypatch.setenv(ENV_MODEL, "test-vlm")
    state["answers"][:] = [MIRSTD_STYLE[2]]
    kind = get_kind("scene_prompt")
    settings = kind.settings({"descriptions": "vlm"})
    assert kind.identity(settings, 0) == {"descriptions": "vlm", "mask_target": True, "vlm_model": "test-vlm"}
    splits = {s: IRSTDDataset(tiny_synthetic_root, s) for s in ("trainval", "test")}
    prepared = kind.prepare(settings, ConditioningContext(tiny_synthetic_root, {"train": splits["trainval"], "test": splits["test"]}))
    names = list(splits["test"].names[:2])
    made = prepared.evaluations["test"]({"name": names}, "test")
    assert made["prompt"] == [MIRSTD_STYLE[2]] * 2 and made["scene"] == ["a field"] * 2
    n = len(state["requests"])
    assert n == len(splits["trainval"]) + len(splits["test"])
    kind.prepare(settings, ConditioningContext(tiny_synthetic_root, {"train": splits["trainval"], "test": splits["test"]}))
    assert len(state["requests"]) == n  # cached per split and model: asked once
    monkeypatch.delenv(ENV_MODEL)
    with pytest.raises(ValueError, match="IRSTD_VLM_MODEL"):
        kind.prepare(settings, ConditioningContext(tiny_synthetic_root, {"train": splits["trainval"], "test": splits["test"]}))


def test_a_table_row_chooses_the_vlm_descriptions():
    from irstd_lib.reproductions.configs import run_config

    assert run_config("smoke", "saist", descriptions="vlm").conditioning == {"descriptions": "vlm"}
    assert run_config("smoke", "saist").conditioning == {"descriptions": "scene"}  # the stand-in stays the smoke default
