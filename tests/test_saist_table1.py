"""SAIST's Table 1 and Figures 4-5 with every method the package has, all on SAIST's partition,
one block per dataset (issue 20, item 7)."""

from __future__ import annotations

import pytest

from irstd_lib.reproductions.specs import spec

EVERY_LEARNED = ["sam", "sam_hq", "acm", "dnanet", "lgnet", "dgspnet", "ggl_net", "saist"]


def test_table1_and_figures_4_5_list_every_method():
    for notebook in ("saist_table1_learned", "saist_figure4_detections"):
        assert [r.variant for r in spec(notebook).rows] == EVERY_LEARNED
    assert [r.variant for r in spec("saist_figure5_roc").rows] == EVERY_LEARNED + ["tophat", "ipi"]
    table1 = spec("saist_table1_learned")
    assert table1.rows[table1.reference].variant == "saist"


def test_every_row_is_on_one_partition_of_a_real_dataset(tiny_synthetic_root, tmp_path, monkeypatch):
    """At smoke on the synthetic set the rows are the committed runs (same configs as without the
    option); on a real folder every row trains on SAIST's 50 %, validates on its 30 %, tests on its 20 %."""
    from irstd_lib.reproductions.configs import run_config
    from irstd_lib.runs import prepare_run

    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    tests = set()
    for row in spec("saist_table1_learned").rows:
        assert run_config("smoke", row.variant, **row.options) == run_config("smoke", row.variant)
        config = run_config("smoke", row.variant, data_root=tiny_synthetic_root, **row.options)
        data = config.data
        assert (data.split_scheme, data.train_split, data.val_split, data.test_split) == ("saist_50_30_20", "train", "val", "test")
        prep = prepare_run(config, tiny_synthetic_root, tmp_path / "results")
        tests.add(tuple(prep.test_set.names))
        if row.variant == "lgnet":  # its descriptor table covers the validation images too
            condition = prep.prepare_condition()
            assert condition.train({"name": list(prep.val_set.names[:2])}, "test") is not None
    assert len(tests) == 1  # one test set for every row


def test_one_block_per_dataset(tmp_path):
    from irstd_lib.reproductions.saist import for_each_dataset

    a, b = tmp_path / "NUDT-SIRST", tmp_path / "IRSTD-1k"
    blocks = for_each_dataset(lambda profile, data_root, tag: (data_root, tag), "smoke", [a, b], tag=1)
    assert blocks == {"synthetic": (None, 1), "NUDT-SIRST": (a, 1), "IRSTD-1k": (b, 1)}
    assert list(for_each_dataset(lambda profile, data_root: data_root, "paper", [a])) == ["NUDT-SIRST"]
    with pytest.raises(ValueError, match="data_root"):
        for_each_dataset(lambda profile, data_root: data_root, "paper")


def test_the_plan_lists_table1_once_per_dataset(tmp_path):
    from irstd_lib.reproductions.plan import spec_plan

    a, b = tmp_path / "NUDT-SIRST", tmp_path / "IRSTD-1k"
    plan = spec_plan(spec("saist_table1_learned"), "smoke", [a, b])
    folders = {r.data_root for r in plan.runs}
    assert folders == {None, str(a), str(b)}
    assert len(plan.runs) == 3 * len(EVERY_LEARNED)  # every method on each dataset, at the smoke profile's one seed
