"""``reproduce --plan``: the runs each profile's notebooks train, without training them.

The strongest check is against history: every run the smoke plan lists must already have a
committed record in ``results/runs/`` (the notebooks were executed with the smoke profile and
their runs recorded), so a plan that drifts from what the table functions actually build fails
here, naming the runs that differ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irstd_lib.reproduce import NOTEBOOKS
from irstd_lib.reproductions import plan
from irstd_lib.reproductions.specs import SPECS

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "results" / "runs"


@pytest.fixture(scope="module")
def plan_cache(tmp_path_factory):
    """A fresh cache folder for the module: the smoke synthetic set is written into it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IRSTD_CACHE", str(tmp_path_factory.mktemp("plan-cache")))
        yield


@pytest.fixture(scope="module")
def smoke_hashes(plan_cache):
    """``notebook -> [(planned run, its prepared run)]`` for every spec's smoke plan."""
    from irstd_lib.runs import prepare_run

    out = {}
    for table_spec in SPECS:
        planned = plan.spec_plan(table_spec, "smoke")
        out[table_spec.notebook] = [(run, prepare_run(run.config, run.data_root, REPO / "results"))
                                    for run in (*planned.runs, *planned.spread)]
    return out


def _leaves(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in _leaves(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): json.dumps(tree, sort_keys=True)}


def _nearest_record(identity: dict) -> str:
    """The committed record of the same builder whose identity differs from ``identity`` in the
    fewest settings, and those settings (what to look at when a plan and the records disagree)."""
    ours = _leaves(identity)
    best = None
    for config in RECORDS.glob("*/config.json"):
        saved = json.loads(config.read_text()).get("identity")
        if not saved or not isinstance(saved.get("model"), dict) or saved["model"].get("builder") != identity["model"]["builder"]:
            continue
        theirs = _leaves(saved)
        diff = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        if best is None or len(diff) < len(best[1]):
            best = (config.parent.name, diff)
    if best is None:
        return "no record of this builder"
    shown = [f"{k}: planned {ours.get(k, '-')}, recorded {_leaves(json.loads((RECORDS / best[0] / 'config.json').read_text())['identity']).get(k, '-')}"
             for k in best[1] if not k.startswith("data.fingerprints")][:5]
    return f"nearest record {best[0]} differs in " + "; ".join(shown)


def _describe(run: plan.PlannedRun, prep) -> str:
    return (f"{prep.hash}: {run.config.model} {run.config.model_kwargs} conditioning={run.config.conditioning} "
            f"[{', '.join(run.notebooks)}] -- {_nearest_record(prep.identity)}")


@pytest.mark.parametrize("notebook", [s.notebook for s in SPECS])
def test_every_planned_smoke_run_has_a_committed_record(notebook, smoke_hashes):
    """One test per table spec, so that a mismatch names the notebook and its runs."""
    missing = [_describe(run, prep) for run, prep in smoke_hashes[notebook]
               if not (RECORDS / prep.hash / "metrics.json").is_file()]
    assert not missing, (f"{len(missing)} of {len(smoke_hashes[notebook])} planned smoke runs of {notebook} have no committed "
                         f"record in results/runs/ (the plan, or the profile, differs from what the notebooks trained):\n  "
                         + "\n  ".join(missing))


def test_planned_notebooks_are_reproduce_notebooks(plan_cache):
    runs = plan.planned_runs("smoke")
    used = {n for run in runs for n in run.notebooks} | {n for s in plan.planned_scorings("smoke") for n in s.notebooks}
    assert used <= set(NOTEBOOKS), sorted(used - set(NOTEBOOKS))
    # Every notebook that trains or scores something is in the plan; the others only read data.
    assert set(NOTEBOOKS) - used == {"lgnet_table1_word_counts", "tour_of_irstd_data", "metrics_explained"}


def test_shared_runs_are_listed_once_with_all_their_notebooks(plan_cache):
    runs = plan.planned_runs("smoke")
    keys = [plan._run_key(r) for r in runs]
    assert len(keys) == len(set(keys))
    # LGNet's full model with text in training is Table 2's, Table 6's, Figure 7's and the comparison's run.
    full = [r for r in runs if r.config.model == "lgnet" and r.config.conditioning.get("language") == "train"
            and r.config.conditioning.get("descriptions") == "files"]
    assert len(full) == 1
    assert {"lgnet_table2_language_availability", "lgnet_table6_components", "lgnet_figure7_qualitative",
            "comparison_all_methods"} <= set(full[0].notebooks)


def test_smoke_plan_costs_and_records(plan_cache):
    described = plan.describe_plan("smoke", results_dir=REPO / "results", only=["saist_table2_components"])
    assert {r["model"] for r in described["runs"]} == {"saist", "saist_wo_srclip", "saist_wo_cgsam", "clip_sam"}
    for row in described["runs"]:
        assert row["hash"] and not row["missing"] and row["train_images"] == 96
        # SAIST's smoke runs are committed: the plan shows their real training time.
        assert row["record"]["train_seconds"] > 0, row
        assert row["cost"]["gflops_per_image"] > 0 and row["cost"]["cpu_hours"] > 0
    assert described["totals"]["gpu_hours"] > 0
    text = plan.format_plan(described)
    assert "Nothing is trained" in text and "saist_table2_components" in text and "TFLOP/s" in text


def _paper_plan(capsys, *extra):
    from irstd_lib.__main__ import main

    assert main(["reproduce", "--profile", "paper", "--plan", *extra]) == 0
    return capsys.readouterr().out


def test_paper_plan_names_every_missing_input(plan_cache, capsys, tmp_path):
    text = _paper_plan(capsys, "--results", str(tmp_path))
    assert "dataset folder NUAA-SIRST: MISSING: pass --data PATH" in text
    assert "CLIP ViT-B-16 checkpoint: MISSING: pass --clip-checkpoint PATH" in text
    assert "SAM vit_b checkpoint: MISSING: pass --sam-checkpoint PATH" in text
    assert "hash: none (needs dataset folder NUAA-SIRST (--data)" in text
    # Every notebook that trains has its runs listed; the GPU cost is per 100 images without data.
    for notebook in ("lgnet_table6_components", "saist_table5_decoders", "dgspnet_ablation", "ggl_net_ablation",
                     "comparison_all_methods"):
        assert notebook in text
    assert "GPU per 100 training images" in text


def test_paper_plan_with_data(nuaa_root, plan_cache, capsys, tmp_path):
    from irstd_lib.__main__ import main

    assert main(["reproduce", "--profile", "paper", "--plan", "--json", "--data", str(nuaa_root), "--results", str(tmp_path),
                 "--gpu-tflops", "100"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["assumptions"]["gpu_tflops"] == 100
    inputs = {i["what"]: i for i in described["inputs"]}
    assert inputs["dataset folder NUAA-SIRST"]["ok"]
    assert not inputs["CLIP ViT-B-16 checkpoint"]["ok"] and not inputs["SAM vit_b checkpoint"]["ok"]
    runs = described["runs"]
    # Runs without pretrained weights (LGNet's baseline and fusion, ACM, DNA-Net, GGL-Net) hash; the others say why not.
    hashed = {r["model"] for r in runs if r["hash"]}
    assert {"lgnet_baseline", "lgnet_fusion", "acm", "dnanet", "ggl_net"} <= hashed
    for row in runs:
        if row["hash"] is None:
            assert "checkpoint" in row["hash_error"], row
        # NUAA-SIRST's own trainval (341 of 427), or the 50 % SAIST's partition trains on (214; issue 20)
        assert row["train_images"] in (214, 341), row
        if row["model"] == "grounding_sam":
            # Its full-size GroundingDINO is refused without its pretrained weights, even to count
            # FLOPs on the CPU, and the meta-device count fails: the plan says so instead of a cost.
            assert row["cost"]["flops_note"].startswith("not counted") and "gpu_hours" not in row["cost"], row
        else:
            assert row["cost"]["gpu_hours"] > 0, row
        assert row["settings"]["train_size"] in (512, 1024) and row["settings"]["amp"] == "bf16"
    assert described["totals"]["costed_runs"] == len([r for r in runs if "gpu_hours" in r["cost"]])


def test_paper_plan_with_weights_hashes_every_run(nuaa_root, plan_cache, tmp_path):
    """With a file for each checkpoint every run hashes (the weights enter the hash by content:
    any bytes do for the plan, which reads no weights)."""
    clip, sam = tmp_path / "clip.pt", tmp_path / "sam.pth"
    clip.write_bytes(b"clip weights stand-in")
    sam.write_bytes(b"sam weights stand-in")
    described = plan.describe_plan("paper", nuaa_root, clip_checkpoint=clip, sam_checkpoint=sam, results_dir=tmp_path,
                                   flops=False)
    assert all(r["hash"] for r in described["runs"]), [r["hash_error"] for r in described["runs"] if not r["hash"]]
    assert all(i["ok"] for i in described["inputs"])
    assert len({r["hash"] for r in described["runs"]}) == len(described["runs"])


def test_every_paper_row_is_planned_at_each_row_seed():
    """The paper profile trains every table row at its three row seeds (the seed-spread runs are
    the reference rows' own); smoke trains each row once plus the spread runs."""
    from dataclasses import replace

    clip, sam = plan.checkpoint_stand_ins("paper")
    runs = plan.planned_runs("paper", "/data/NUAA-SIRST", clip_checkpoint=clip, sam_checkpoint=sam)
    seeds_of_row: dict[str, set] = {}
    for run in runs:
        seeds_of_row.setdefault(repr(replace(run.config, seed=0)), set()).add(run.config.seed)
    assert seeds_of_row and all(seeds == {0, 1, 2} for seeds in seeds_of_row.values())
    smoke = plan.planned_runs("smoke")
    extra = [r for r in smoke if r.config.seed != 0]
    assert {r.config.seed for r in extra} == {1, 2} and len(extra) == 8  # 4 systems x seeds 1, 2


def test_the_detector_weights_reach_groundingdino_sam_from_the_command_line_to_its_config(tmp_path):
    """``--detector-checkpoint`` is an option of ``reproduce`` and ``train``, a parameter of the
    comparison notebook, and the plan builds GroundingDINO + SAM's paper config with it."""
    from irstd_lib.__main__ import build_parser
    from irstd_lib.reproductions.specs import spec

    weights = tmp_path / "grounding-dino-tiny" / "model.safetensors"
    parser = build_parser()
    for command in (["reproduce", "--plan"], ["train", "--config", "c.json"]):
        assert parser.parse_args(command + ["--detector-checkpoint", str(weights)]).detector_checkpoint == str(weights)
    notebook = json.loads((Path(__file__).parents[1] / "notebooks" / "comparison_all_methods.ipynb").read_text())
    assert "detector_checkpoint = None" in "".join(notebook["cells"][1]["source"])
    planned = plan.spec_plan(spec("comparison_all_methods"), "paper", clip_checkpoint="clip.pt", sam_checkpoint="sam.pth",
                             detector_checkpoint=weights)
    (grounding,) = [r.config for r in planned.runs if r.config.model == "grounding_sam"][:1]
    assert grounding.model_kwargs["detector_checkpoint"] == str(weights)
    others = [r.config for r in planned.runs if r.config.model != "grounding_sam"]
    assert others and all("detector_checkpoint" not in c.model_kwargs for c in others)
