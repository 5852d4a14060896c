"""The synthetic infrared generator: deterministic, well-formed, honest about its targets."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from scipy import ndimage

from irstd_lib.data import IRSTDDataset
from irstd_lib.data import synthetic
from irstd_lib.data.synthetic import BACKGROUNDS, generate_scene, split_names, write_synthetic_dataset

EIGHT = np.ones((3, 3), bool)


def _tree_digest(root):
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = write_synthetic_dataset(tmp_path / "a", n=6, seed=3, size=48)
    b = write_synthetic_dataset(tmp_path / "b", n=6, seed=3, size=48)
    c = write_synthetic_dataset(tmp_path / "c", n=6, seed=4, size=48)
    assert _tree_digest(a) == _tree_digest(b)
    assert _tree_digest(a) != _tree_digest(c)


def test_scenes_are_well_formed():
    seen = set()
    for i in range(40):
        scene = generate_scene(np.random.SeedSequence([0, i]), (96, 128))
        seen.add(scene.background)
        assert scene.image.shape == scene.mask.shape == (96, 128)
        assert scene.image.dtype == np.float32 and scene.mask.dtype == bool
        assert 0.0 <= scene.image.min() and scene.image.max() <= 1.0
        # what is written (8-bit) is what the scene holds
        assert np.allclose(scene.image * 255, np.round(scene.image * 255), atol=1e-4)
        _, n_components = ndimage.label(scene.mask, EIGHT)
        assert 1 <= len(scene.targets) <= 3 and n_components == len(scene.targets)
        assert scene.mask.sum() == sum(t["area"] for t in scene.targets)
        for t in scene.targets:
            assert 1 <= t["area"] <= 80
            assert scene.mask[t["row"], t["col"]]  # the peak pixel is a target pixel
            assert math.isclose(t["transmission"], math.exp(-scene.beta * t["depth"]), rel_tol=1e-3)
        words = scene.description.split()
        assert len(words) < 50 and any(w.strip(",.") in {"upper", "lower", "left", "right", "center"} for w in words)
    assert seen == set(BACKGROUNDS)  # 40 scenes cover every background kind


def test_every_target_has_the_scr_it_was_drawn_with():
    """Measured in the written image: peak minus the mean of a ring around the target, over the
    ring's standard deviation. Generator version 3 failed this (a fifth of the targets below an
    SCR of 1, some darker than their surroundings, because a nearer target sees less haze)."""
    measured, nominal = [], []
    for i in range(30):
        scene = generate_scene(np.random.SeedSequence([1, i]), 128)
        near = ndimage.binary_dilation(scene.mask, EIGHT, iterations=3)
        for t in scene.targets:
            r, c = t["row"], t["col"]
            box = (slice(max(0, r - 10), r + 11), slice(max(0, c - 10), c + 11))
            ring = scene.image[box][~near[box]].astype(np.float64)
            measured.append((scene.image[r, c] - ring.mean()) / ring.std())
            nominal.append(t["scr"])
    measured, nominal = np.array(measured), np.array(nominal)
    assert 3.0 <= nominal.min() and nominal.max() <= 10.0
    assert measured.min() > 1.5, f"a target with SCR {measured.min():.2f}"
    assert np.median(measured) > 0.6 * np.median(nominal)


def test_splits_partition_the_names():
    names = [f"SYN{i:04d}" for i in range(50)]
    s = split_names(names, seed=0)
    assert set(s["train"]) | set(s["val"]) | set(s["test"]) == set(names)
    assert not set(s["train"]) & set(s["test"]) and not set(s["val"]) & set(s["test"])
    assert (len(s["train"]), len(s["val"]), len(s["test"])) == (35, 5, 10)
    assert s["trainval"] == sorted(s["train"] + s["val"])


def test_written_dataset_reads_back_with_descriptions(tmp_path):
    root = write_synthetic_dataset(tmp_path / "syn", n=10, seed=0, size=40)
    meta = json.loads((root / "meta.json").read_text())
    ds = IRSTDDataset(root, "all")
    assert len(ds) == 10
    by_name = {r["name"]: r for r in meta["images"]}
    for sample in ds:
        scene = generate_scene(np.random.SeedSequence([0, int(sample.name[3:])]), 40)
        assert np.array_equal(sample.image, scene.image) and np.array_equal(sample.mask, scene.mask)
        assert sample.description == by_name[sample.name]["description"] == scene.description


def test_existing_folder_is_reused_or_refused(tmp_path):
    root = write_synthetic_dataset(tmp_path / "syn", n=4, seed=0, size=32)
    stamp = (root / "meta.json").stat().st_mtime_ns
    assert write_synthetic_dataset(root, n=4, seed=0, size=32) == root
    assert (root / "meta.json").stat().st_mtime_ns == stamp  # reused, not rewritten
    with pytest.raises(FileExistsError, match="other settings"):
        write_synthetic_dataset(root, n=5, seed=0, size=32)
    write_synthetic_dataset(root, n=5, seed=0, size=32, overwrite=True)
    assert len(list((root / "images").iterdir())) == 5
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        write_synthetic_dataset(other, n=4)
    assert (other / "notes.txt").read_text() == "mine"


def test_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    real = synthetic.generate_scene
    calls = {"n": 0}

    def failing(seed, size):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(seed, size)

    monkeypatch.setattr(synthetic, "generate_scene", failing)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_dataset(tmp_path / "syn", n=6, seed=0, size=32)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="16x16"):
        generate_scene(0, 8)
    with pytest.raises(ValueError, match="at least 2"):
        write_synthetic_dataset("/nonexistent/never-written", n=1)
