"""Description sources, the word limit, and writing descriptions for a whole dataset."""

from __future__ import annotations

import argparse
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from irstd_lib.data.errors import DatasetError
from irstd_lib.text import scene_vocabulary as vocab
from irstd_lib.text.descriptions import (
    NO_TARGET_QUADRANT_SENTENCE,
    WORD_LIMIT,
    DescriptionSource,
    QuadrantSource,
    SemanticSource,
    add_describe_arguments,
    background_statistics,
    count_words,
    describe_dataset,
    enforce_word_limit,
    get_source,
    list_sources,
    load_descriptions,
    local_contrast,
    mask_out_targets,
    quadrant_of,
    run_describe,
    target_components,
)

SCENE_PROMPT = re.compile(r"^a photo of (?P<scene>.+) with (?P<o1>.+), (?P<o2>.+), and (?P<o3>.+)$")


@dataclass
class FakeSample:
    name: str
    image: np.ndarray
    mask: np.ndarray | None
    description: str | None = None


def sky(size: int = 64, level: float = 0.2, noise: float = 0.005, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level + rng.normal(0.0, noise, (size, size))).astype(np.float32)


def blob_mask(shape: tuple[int, int], *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """Mask with a filled box (row0, col0, row1, col1 end-exclusive) per target."""
    m = np.zeros(shape, dtype=bool)
    for r0, c0, r1, c1 in boxes:
        m[r0:r1, c0:c1] = True
    return m


def with_targets(image: np.ndarray, mask: np.ndarray, value: float = 0.9) -> np.ndarray:
    out = image.copy()
    out[mask] = value
    return out


class MemoryDataset:
    """An opened-dataset stand-in: ``.names`` and ``[i] -> sample``, counting reads."""

    def __init__(self, samples: list[FakeSample]):
        self.samples = samples
        self.names = [s.name for s in samples]
        self.issues: list[str] = []
        self.reads = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> FakeSample:
        self.reads += 1
        return self.samples[i]


def memory_dataset(n: int = 5, size: int = 32) -> MemoryDataset:
    samples = []
    for i in range(n):
        m = blob_mask((size, size), (3 + 4 * i % 20, 5, 6 + 4 * i % 20, 8))
        samples.append(FakeSample(f"IMG{i:03d}", with_targets(sky(size, seed=i), m), m))
    return MemoryDataset(samples)


def write_plain_dataset(root: Path, n: int = 4, size: int = 32) -> Path:
    """A tiny IRSTD-1k-like dataset on disk: images/XDU<i>.png, masks/XDU<i>.png, split lists."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    names = [f"XDU{i}" for i in range(n)]
    for i, name in enumerate(names):
        m = blob_mask((size, size), (4 + 5 * i, 4 + 5 * i, 7 + 5 * i, 7 + 5 * i))
        img = with_targets(sky(size, seed=i), m)
        Image.fromarray((img * 255).round().astype(np.uint8), mode="L").save(root / "images" / f"{name}.png")
        Image.fromarray((m * 255).astype(np.uint8), mode="L").save(root / "masks" / f"{name}.png")
    (root / "trainval.txt").write_text("\n".join(names[: n // 2]) + "\n")
    (root / "test.txt").write_text("\n".join(names[n // 2 :]) + "\n")
    return root


# ---------------------------------------------------------------------------------------------
# Word limit


def test_word_limit_keeps_short_text_and_cuts_long_text_at_sentence_or_word():
    assert enforce_word_limit("  The target is left.  ") == ("The target is left.", False)
    fifty = " ".join(["word"] * 49 + ["end."])
    assert enforce_word_limit(fifty) == (fifty, False)
    sentence_a = "The target lies in the upper-left corner of the frame."  # 10 words
    long = sentence_a + " " + " ".join(["more"] * 60) + "."
    text, cut = enforce_word_limit(long, 50)
    assert cut and text == sentence_a
    no_stop = " ".join(f"w{i}," for i in range(80))
    text, cut = enforce_word_limit(no_stop, 50)
    assert cut and count_words(text) == 50 and text.endswith("w49.")
    with pytest.raises(ValueError):
        enforce_word_limit("x", 0)


# ---------------------------------------------------------------------------------------------
# Registry


def test_registry_lists_the_five_sources_and_rejects_unknown_names():
    assert set(list_sources()) >= {"files", "quadrant", "semantic", "scene", "vlm"}
    assert isinstance(get_source("quadrant"), QuadrantSource)
    with pytest.raises(ValueError, match="unknown description source 'gpt5'.*quadrant"):
        get_source("gpt5")


# ---------------------------------------------------------------------------------------------
# Quadrant source


@pytest.mark.parametrize(
    "box, expected",
    [
        ((5, 5, 8, 8), "top-left"),
        ((5, 40, 8, 43), "top-right"),
        ((50, 6, 52, 9), "bottom-left"),
        ((40, 50, 44, 54), "bottom-right"),
    ],
)
def test_quadrant_single_target_matches_mask_centroid(box, expected):
    mask = blob_mask((64, 64), box)
    rows, cols = np.nonzero(mask)
    # Hand check of the centroid rule: midlines at 31.5.
    assert ("top" if rows.mean() <= 31.5 else "bottom") + "-" + ("left" if cols.mean() <= 31.5 else "right") == expected
    desc = get_source("quadrant").describe(FakeSample("x", sky(), mask))
    assert desc.text == f"The small target lies in the {expected} quadrant."
    assert desc.provenance["target_quadrants"] == [expected]
    assert desc.provenance["uses_ground_truth"] is True and desc.source == "quadrant"


def test_quadrant_two_targets_lists_distinct_quadrants_in_fixed_order():
    src = QuadrantSource()
    # bottom-right target first in raster order? No: raster order is by first pixel row.
    mask = blob_mask((64, 64), (50, 50, 53, 53), (10, 5, 12, 7))
    assert src.text_for_mask(mask)[0] == "The small targets lie in the top-left and bottom-right quadrants."
    same = blob_mask((64, 64), (2, 2, 4, 4), (20, 20, 22, 22))
    assert src.text_for_mask(same)[0] == "The small targets lie in the top-left quadrant."
    three = blob_mask((64, 64), (50, 50, 53, 53), (2, 50, 4, 52), (2, 2, 4, 4))
    assert src.text_for_mask(three)[0] == "The small targets lie in the top-left, top-right and bottom-right quadrants."
    # multi="largest": LGNet's four sentences only; the 3x3 bottom-right target is the largest.
    assert QuadrantSource(multi="largest").text_for_mask(mask)[0] == "The small target lies in the bottom-right quadrant."


def test_quadrant_midline_tie_goes_to_top_left_and_empty_mask_has_a_sentence():
    odd = blob_mask((5, 5), (2, 2, 3, 3))  # the centre pixel of a 5x5 frame
    assert quadrant_of(target_components(odd)[0][0].centroid, (5, 5)) == "top-left"
    even = blob_mask((4, 4), (1, 1, 3, 3))  # centroid (1.5, 1.5) = the exact frame centre
    assert QuadrantSource().text_for_mask(even)[0] == "The small target lies in the top-left quadrant."
    on_row_mid = blob_mask((4, 6), (1, 4, 3, 5))  # row 1.5 (midline), col 4 (right)
    assert QuadrantSource().text_for_mask(on_row_mid)[0] == "The small target lies in the top-right quadrant."
    empty = np.zeros((8, 8), dtype=bool)
    assert QuadrantSource().text_for_mask(empty)[0] == NO_TARGET_QUADRANT_SENTENCE


# ---------------------------------------------------------------------------------------------
# Semantic source


def checkerboard(size: int, a: float, b: float) -> np.ndarray:
    ii, jj = np.indices((size, size))
    return np.where((ii + jj) % 2 == 0, a, b).astype(np.float32)


def test_local_contrast_is_target_minus_ring_mean_over_ring_std():
    # Checkerboard 0.2 / 0.3: the square ring (17x17 minus 7x7 around a 3x3 target) holds 120
    # pixels of each value, so its mean is 0.25 and its std 0.05; a 0.55 target is 6.0 stds up.
    image = checkerboard(48, 0.2, 0.3)
    mask = blob_mask((48, 48), (20, 20, 23, 23))
    image[mask] = 0.55
    comps, labels = target_components(mask)
    assert local_contrast(image, labels, comps[0], mask, guard=2, ring_width=5) == pytest.approx(6.0, abs=1e-5)
    t = SemanticSource().measure(image, mask)[0]
    assert t["contrast"] == pytest.approx(6.0, abs=0.01) and t["contrast_words"] == "moderate contrast"
    assert t["size"] == "point-like" and t["area"] == 9 and (t["vertical"], t["horizontal"]) == ("center", "center")


def test_semantic_single_target_text():
    mask = blob_mask((64, 64), (5, 5, 8, 8))
    desc = get_source("semantic").describe(FakeSample("one", with_targets(sky(), mask), mask))
    assert desc.text.startswith("One point-like target lies in the upper-left part of the image, with high contrast")
    assert "Background: uniform dark sky." in desc.text
    assert desc.provenance["n_targets"] == 1 and desc.provenance["truncated"] is False
    assert desc.provenance["targets"][0]["centroid"] == [6.0, 6.0]


def test_semantic_size_classes_darker_target_and_no_target():
    src = SemanticSource()
    assert [src.size_class(a) for a in (1, 9, 10, 80, 81)] == ["point-like", "point-like", "small", "small", "extended"]
    big = blob_mask((64, 64), (40, 40, 52, 52))  # 144 px, centroid (45.5, 45.5): lower-right
    text = src.describe(FakeSample("big", with_targets(sky(), big), big)).text
    assert text.startswith("One extended target lies in the lower-right part")
    dark = blob_mask((64, 64), (30, 5, 34, 9))  # centre-left, darker than the sky
    text = src.describe(FakeSample("dark", with_targets(sky(level=0.5), dark, value=0.1), dark)).text
    assert "center-left part of the image, darker than its surroundings." in text
    text = src.describe(FakeSample("none", sky(), np.zeros((64, 64), bool))).text
    assert text == "No small target is visible. Background: uniform dark sky."


def test_semantic_many_targets_are_grouped_summarised_and_under_the_word_limit():
    # Seven targets in seven different cells of the 3x3 grid: three groups listed, four summarised.
    cells = [(5, 5), (5, 30), (5, 55), (30, 5), (30, 55), (55, 5), (55, 30)]
    mask = blob_mask((64, 64), *[(r, c, r + 2, c + 2) for r, c in cells])
    desc = SemanticSource().describe(FakeSample("many", with_targets(sky(), mask), mask))
    assert desc.text.startswith("Seven targets: a point-like one in the upper-left part (high contrast), ")
    assert ", and four more. Background:" in desc.text and desc.n_words <= WORD_LIMIT
    # Same size, position and contrast words are merged into one group.
    twins = blob_mask((64, 64), (5, 5, 7, 7), (5, 12, 7, 14))
    text = SemanticSource().describe(FakeSample("twins", with_targets(sky(), twins), twins)).text
    assert text.startswith("Two targets: two point-like ones in the upper-left part (high contrast).")
    # A tiny limit forces truncation, which is recorded.
    short = SemanticSource(max_words=8).describe(FakeSample("many", with_targets(sky(), mask), mask))
    assert short.n_words <= 8 and short.provenance["truncated"] is True


def test_background_words_from_statistics():
    src = SemanticSource()
    ii, _ = np.indices((64, 64))
    rng = np.random.default_rng(3)
    ground = np.where(ii >= 40, 0.4 + rng.normal(0, 0.05, (64, 64)), 0.4).astype(np.float32)
    stats = background_statistics(ground)
    assert stats["texture_bottom"] > 2 * stats["texture_top"]
    assert "textured ground at the bottom" in src.describe(FakeSample("g", ground, np.zeros((64, 64), bool))).text
    bright = sky(level=0.8)
    assert src.describe(FakeSample("b", bright, np.zeros((64, 64), bool))).text.endswith("uniform bright sky.")


def test_mask_out_targets_fills_with_ring_median():
    image = sky(level=0.3, noise=0.0)
    mask = blob_mask((64, 64), (30, 30, 33, 33))
    image[mask] = 1.0
    out = mask_out_targets(image, mask)
    assert out.max() == pytest.approx(0.3) and image.max() == 1.0  # the input is not modified
    stats_masked = background_statistics(image, mask)
    stats_clean = background_statistics(sky(level=0.3, noise=0.0))
    assert stats_masked["edge_fraction"] == stats_clean["edge_fraction"] == 0.0


# ---------------------------------------------------------------------------------------------
# Scene source


def test_scene_statistics_prompt_has_saist_form():
    mask = blob_mask((64, 64), (5, 5, 8, 8))
    desc = get_source("scene").describe(FakeSample("s", with_targets(sky(), mask), mask))
    m = SCENE_PROMPT.match(desc.text)
    assert m, desc.text
    assert m["scene"] == "a clear sky"
    objects = [m["o1"], m["o2"], m["o3"]]
    assert len(set(objects)) == 3 and all(o in vocab.OBJECTS for o in objects)
    assert desc.provenance["parameters"]["method"] == "statistics" and desc.provenance["uses_ground_truth"] is True


class FakeClip:
    """Deterministic stand-in for ClipEncoder: each prompt is a one-hot axis; the image vector
    puts weight on the sea scene and on waves > rocks > clouds, and records what it saw."""

    key = "fake-clip"

    def __init__(self):
        self.prompts = [vocab.SCENE_QUERY_TEMPLATE.format(s) for s in vocab.SCENES] + [
            vocab.OBJECT_QUERY_TEMPLATE.format(o) for o in vocab.OBJECTS
        ]
        self.seen: list[np.ndarray] = []

    def encode_text(self, texts):
        out = np.zeros((len(texts), len(self.prompts)), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, self.prompts.index(t)] = 1.0
        return out

    def encode_image(self, images):
        self.seen.extend(images)
        v = np.full(len(self.prompts), 0.01, dtype=np.float32)
        v[self.prompts.index("a photo of a sea")] = 0.9
        for o, w in (("waves", 0.8), ("rocks", 0.7), ("clouds", 0.6)):
            v[self.prompts.index(f"a photo of {o}")] = w
        return (v / np.linalg.norm(v))[None]


def test_scene_clip_ranking_picks_top_scene_and_three_objects_after_masking_target():
    fake = FakeClip()
    mask = blob_mask((64, 64), (20, 20, 23, 23))
    image = with_targets(sky(level=0.3, noise=0.0), mask, value=1.0)
    desc = get_source("scene", encoder=fake).describe(FakeSample("c", image, mask))
    assert desc.text == "a photo of a sea with waves, rocks, and clouds"
    assert desc.provenance["parameters"]["encoder"] == "fake-clip"
    assert len(fake.seen) == 1 and fake.seen[0].max() == pytest.approx(0.3)  # target hidden
    unmasked = get_source("scene", encoder=fake, mask_target=False)
    unmasked.describe(FakeSample("c", image, mask))
    assert fake.seen[-1].max() == 1.0 and unmasked.uses_ground_truth is False


@pytest.mark.slow
def test_scene_with_tiny_clip():
    # ~18 s: importing open_clip dominates.
    from irstd_lib.text.clip_encoder import ClipEncoder

    mask = blob_mask((32, 32), (5, 5, 8, 8))
    desc = get_source("scene", encoder=ClipEncoder.tiny(seed=0)).describe(FakeSample("t", with_targets(sky(32), mask), mask))
    m = SCENE_PROMPT.match(desc.text)
    assert m and m["scene"] in vocab.SCENES and len({m["o1"], m["o2"], m["o3"]}) == 3


# ---------------------------------------------------------------------------------------------
# Files source


def test_files_source_reads_both_langir_spellings_and_scene_files(tmp_path):
    (tmp_path / "descriptions").mkdir()
    (tmp_path / "scene_descriptions").mkdir()
    (tmp_path / "descriptions" / "XDU1.description.txt").write_text("Target at the upper left.\n")
    (tmp_path / "descriptions" / "Misc_7-description.txt").write_text("\ufeffTarget at the center.")
    (tmp_path / "scene_descriptions" / "Misc_7.txt").write_text("a photo of a sky with clouds, trees, and hills")
    src = get_source("files", root=tmp_path)
    assert src.describe(FakeSample("XDU1", sky(8), None)).text == "Target at the upper left."
    d = src.describe(FakeSample("Misc_7", sky(8), None))
    assert d.text == "Target at the center." and d.provenance["file"] == "Misc_7-description.txt"
    scene = get_source("files", root=tmp_path, kind="scene").describe(FakeSample("Misc_7", sky(8), None))
    assert scene.text.startswith("a photo of a sky")
    with pytest.raises(DatasetError, match=r"XDU2\.description\.txt: description file not found"):
        src.describe(FakeSample("XDU2", sky(8), None))
    assert get_source("files").describe(FakeSample("m", sky(8), None, description="from sample")).text == "from sample"
    assert load_descriptions(tmp_path / "descriptions") == {"Misc_7": "Target at the center.", "XDU1": "Target at the upper left."}


# ---------------------------------------------------------------------------------------------
# describe_dataset


class CountingSource(DescriptionSource):
    name = "counting"
    version = "1"

    def __init__(self, fail_at: int | None = None):
        self.calls: list[str] = []
        self.fail_at = fail_at
        self._lock = threading.Lock()

    def describe(self, sample):
        with self._lock:
            self.calls.append(sample.name)
            n = len(self.calls)
        if self.fail_at is not None and n == self.fail_at:
            raise RuntimeError(f"simulated crash on {sample.name}")
        return self._make(sample.name, f"Description of {sample.name}.", call=n)


def test_interrupted_describe_resumes_without_redoing_finished_images(tmp_path):
    ds = memory_dataset(5)
    crashing = CountingSource(fail_at=3)
    with pytest.raises(RuntimeError, match="simulated crash on IMG002"):
        describe_dataset(ds, crashing, out_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.glob("*.description.txt")) == ["IMG000.description.txt", "IMG001.description.txt"]
    record = json.loads((tmp_path / "provenance.json").read_text())
    assert sorted(record["images"]) == ["IMG000", "IMG001"]  # written even though the run failed

    resumed = CountingSource()
    summary = describe_dataset(ds, resumed, out_dir=tmp_path, progress=False)
    assert resumed.calls == ["IMG002", "IMG003", "IMG004"]  # the first two were not recomputed
    assert summary["n_written"] == 3 and summary["n_skipped"] == 2 and summary["n_images"] == 5
    assert (tmp_path / "IMG004.description.txt").read_text() == "Description of IMG004.\n"
    record = json.loads((tmp_path / "provenance.json").read_text())
    assert sorted(record["images"]) == [f"IMG00{i}" for i in range(5)]
    assert record["sources"]["counting"]["source_version"] == "1"
    assert record["images"]["IMG004"] == {"call": 3, "file": "IMG004.description.txt", "source": "counting"}


def test_describe_never_overwrites_unless_asked_and_skips_dash_spelling(tmp_path):
    ds = memory_dataset(3)
    (tmp_path / "IMG001-description.txt").write_text("Hand-written.\n")
    summary = describe_dataset(ds, "semantic", out_dir=tmp_path, progress=False)
    assert summary["n_written"] == 2 and summary["n_skipped"] == 1
    assert (tmp_path / "IMG001-description.txt").read_text() == "Hand-written.\n"
    assert not (tmp_path / "IMG001.description.txt").exists()
    reads = ds.reads
    again = describe_dataset(ds, "semantic", out_dir=tmp_path, progress=False)
    assert again["n_written"] == 0 and again["n_skipped"] == 3 and ds.reads == reads  # nothing re-read
    forced = describe_dataset(ds, "quadrant", out_dir=tmp_path, overwrite=True, progress=False)
    assert forced["n_written"] == 3
    assert (tmp_path / "IMG001-description.txt").read_text().startswith("The small target lies")
    record = json.loads((tmp_path / "provenance.json").read_text())
    assert set(record["sources"]) == {"semantic", "quadrant"} and record["images"]["IMG001"]["source"] == "quadrant"


def test_describe_in_parallel_writes_everything(tmp_path):
    ds = memory_dataset(9)
    src = CountingSource()
    summary = describe_dataset(ds, src, out_dir=tmp_path, workers=3, progress=False)
    assert summary["n_written"] == 9 and sorted(src.calls) == ds.names
    assert all((tmp_path / f"{n}.description.txt").read_text() == f"Description of {n}.\n" for n in ds.names)


def test_scene_source_writes_scene_layout(tmp_path):
    root = write_plain_dataset(tmp_path / "ds")
    summary = describe_dataset(root, "scene", progress=False)
    assert Path(summary["out_dir"]) == root / "scene_descriptions"
    assert sorted(p.name for p in (root / "scene_descriptions").glob("*.txt")) == [f"XDU{i}.txt" for i in range(4)]
    assert SCENE_PROMPT.match((root / "scene_descriptions" / "XDU0.txt").read_text().strip())


def test_cli_describe_writes_langir_layout(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IRSTD_VLM_ENDPOINT", raising=False)
    root = write_plain_dataset(tmp_path / "ds")
    parser = add_describe_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--source", "quadrant", "--data", str(root), "--split", "test", "--no-progress"])
    assert run_describe(args) == 0
    out = capsys.readouterr().out
    assert "2 written, 0 skipped" in out and "oracle" in out
    assert sorted(p.name for p in (root / "descriptions").glob("*.txt")) == ["XDU2.description.txt", "XDU3.description.txt"]
    # A second run with all splits skips the finished two; a bad source option is a clean error.
    args = parser.parse_args(["--source", "semantic", "--data", str(root), "--no-progress"])
    assert run_describe(args) == 0 and "2 written, 2 skipped" in capsys.readouterr().out
    args = parser.parse_args(["--source", "vlm", "--data", str(root), "--no-progress", "--vlm-model", "m"])
    assert run_describe(args) == 2 and "IRSTD_VLM_ENDPOINT" in capsys.readouterr().err


def test_describe_synthetic_dataset(tiny_synthetic_root, tmp_path):
    summary = describe_dataset(tiny_synthetic_root, "semantic", split="all", out_dir=tmp_path, progress=False)
    assert summary["n_written"] == summary["n_images"] == 12
    texts = load_descriptions(tmp_path)
    assert len(texts) == 12 and max(count_words(t) for t in texts.values()) <= WORD_LIMIT
    q = describe_dataset(tiny_synthetic_root, "quadrant", split="test", out_dir=tmp_path / "q", progress=False)
    assert q["n_written"] == q["n_images"] > 0


# ---------------------------------------------------------------------------------------------
# Real NUAA-SIRST


@pytest.mark.realdata
def test_semantic_and_quadrant_on_nuaa_test(nuaa_root, tmp_path):
    summary = describe_dataset(
        nuaa_root, "semantic", split="test", out_dir=tmp_path / "sem", on_size_mismatch="resize", progress=False
    )
    assert summary["n_written"] == summary["n_images"] == 86
    assert summary["max_words_written"] <= WORD_LIMIT and summary["n_truncated"] == 0
    assert any("Misc_111_pixels0.png" in issue for issue in summary["issues"])  # named, not silent
    texts = load_descriptions(tmp_path / "sem")
    assert len(texts) == 86 and all(count_words(t) <= WORD_LIMIT for t in texts.values())
    assert all(re.search(r"\b(upper|lower|left|right|center)\b", t) for t in texts.values())

    q = describe_dataset(nuaa_root, "quadrant", split="test", out_dir=tmp_path / "q", on_size_mismatch="resize", progress=False)
    assert q["n_written"] == 86
    allowed = re.compile(r"^The small targets? lie[s]? in the (top|bottom)-(left|right)( |,).*quadrants?\.$")
    assert all(allowed.match(t) for t in load_descriptions(tmp_path / "q").values())


@pytest.mark.realdata
def test_scene_statistics_on_a_few_nuaa_images(nuaa_root):
    from irstd_lib.data import IRSTDDataset

    ds = IRSTDDataset(nuaa_root, split="test", descriptions=None, on_size_mismatch="resize")
    src = get_source("scene")
    for i in range(5):
        assert SCENE_PROMPT.match(src.describe(ds[i]).text)
