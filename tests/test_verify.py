"""reproduce --verify: a recorded run trained again and compared with its record."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from irstd_lib.runs import DataConfig, RunConfig, run_experiment, verification_status
from irstd_lib.runs.verification import STATUSES, SeedSample, spread_quantile, verification_verdict
from irstd_lib.reproduce import VERIFICATION_STATUSES, ReproduceReport, _verification_section, verification_rows

CONFIG = RunConfig(model="lgnet_baseline", model_kwargs={"width": 4},
                   data=DataConfig(synthetic={"n": 12, "seed": 0, "size": 48}, train_size=32, eval_size=48, train_policy="resize"),
                   train={"epochs": 1, "batch_size": 4, "warmup_epochs": 0, "scheduler": "constant"}, profile="smoke")


METRIC_NAMES = ("IoU", "nIoU", "Pd", "Fa")


def _entry(fresh_iou: float, recorded_iou: float = 40.0, model: str = "lgnet_fusion", seed: int = 0) -> dict:
    base = {"IoU": recorded_iou, "nIoU": 30.0, "Pd": 50.0, "Fa": 100.0}
    return {"hash": "h", "model": model, "seed": seed, "primary": "test",
            "recorded": {"test": base}, "fresh": {"test": {**base, "IoU": fresh_iou}}}


def _sample(sds=(2.0, 1.0, 1.0, 1.0), means=(40.0, 30.0, 50.0, 100.0)) -> SeedSample:
    """Three seeds with exactly the given means and sample sds (values mean -/0/+ sd)."""
    return SeedSample("lgnet_baseline", (0, 1, 2), {m: (mu - sd, mu, mu + sd) for m, mu, sd in zip(METRIC_NAMES, means, sds)})


def test_statuses_and_bounds():
    sample = _sample()
    q = spread_quantile(3, 1)  # t(1 - 0.05 / 8, 2): Bonferroni over 4 metrics, one run
    assert q == pytest.approx(stats.t.ppf(1 - 0.05 / 8, 2)) and q > 8.8
    bound = q * math.sqrt(2) * 2.0  # an ablation row against its own record, IoU sd 2
    assert verification_status(_entry(40.0), sample, 1) == "identical"
    assert verification_status(_entry(40.0 + 0.99 * bound), sample, 1) == "within seed spread"
    assert verification_status(_entry(40.0 - 1.01 * bound), sample, 1) == "outside seed spread"
    # more runs judged: a wider bound (the family's 5 % shared by them)
    assert verification_status(_entry(40.0 - 1.01 * bound), sample, 10) == "within seed spread"
    # a reference run at one of its seeds: against the seeds' mean, sqrt(1 + 1/3) instead of sqrt(2)
    ref_bound = q * math.sqrt(1 + 1 / 3) * 2.0
    verdict = verification_verdict(_entry(40.0 + 1.01 * ref_bound, recorded_iou=35.0, model="lgnet_baseline"), sample, 1)
    assert verdict["status"] == "outside seed spread" and verdict["centre"]["IoU"] == pytest.approx(40.0)
    assert verdict["bounds"]["IoU"] == pytest.approx(ref_bound)
    # no spread: said so, not called outside; classical: deterministic, identical or not
    assert verification_status(_entry(40.5), None, 1) == "no spread recorded"
    assert verification_status(_entry(40.5), sample, 1, deterministic=True) == "differs (deterministic)"
    assert verification_status(_entry(40.0), None, 1, deterministic=True) == "identical"
    assert VERIFICATION_STATUSES == STATUSES


def _simulated_rate(rng, n_runs: int, family: float, shift_in_bounds: float = 0.0, trials: int = 3000,
                    reference: bool = False) -> float:
    """The fraction of simulated verifications that fail: ``n_runs`` runs of one system whose
    fresh values are new draws of the seed distribution (shifted by ``shift_in_bounds`` of their
    bound), the spread measured from 3 fresh seeds of the reference each time."""
    sigma = np.array([3.0, 2.0, 5.0, 30.0])
    mu = np.array([40.0, 30.0, 60.0, 120.0])
    q = spread_quantile(3, n_runs, family)
    scale = math.sqrt(1 + 1 / 3) if reference else math.sqrt(2)
    failed = 0
    for _ in range(trials):
        seeds = mu + sigma * rng.standard_normal((3, 4))
        sample = SeedSample("ref", (0, 1, 2), {m: tuple(seeds[:, j]) for j, m in enumerate(METRIC_NAMES)})
        s = seeds.std(axis=0, ddof=1)
        any_failed = False
        for run in range(n_runs):
            recorded = seeds[0] if reference else mu + 5.0 + sigma * rng.standard_normal(4)
            fresh = mu + (0.0 if reference else 5.0) + sigma * rng.standard_normal(4) + shift_in_bounds * q * scale * s
            entry = {"hash": f"r{run}", "model": "ref" if reference else "ablation", "seed": 0, "primary": "test",
                     "recorded": {"test": dict(zip(METRIC_NAMES, recorded))}, "fresh": {"test": dict(zip(METRIC_NAMES, fresh))}}
            any_failed |= verification_status(entry, sample, n_runs, family_false_alarm=family) == "outside seed spread"
        failed += any_failed
    return failed / trials


def test_a_seed_like_run_passes_at_the_stated_rate():
    """Seeded simulation: with independent metrics, one run's false-alarm rate is 1 - (1 - a)^4
    with a = family / 4; at family 0.2, 0.185. The normal factor of the old rule would fail far
    more often (its 2.77 sd against 2 degrees of freedom)."""
    rng = np.random.default_rng(0)
    expected = 1 - (1 - 0.2 / 4) ** 4
    for reference in (False, True):
        rate = _simulated_rate(rng, n_runs=1, family=0.2, reference=reference)
        assert abs(rate - expected) < 0.03, (reference, rate, expected)


def test_the_whole_verification_stays_within_its_family_rate():
    rng = np.random.default_rng(1)
    rate = _simulated_rate(rng, n_runs=8, family=0.05, trials=1500)
    assert 0.01 < rate <= 0.065  # Bonferroni: at most 5 % (the shared sd makes the runs' alarms overlap)


def test_a_shifted_run_fails():
    rng = np.random.default_rng(2)
    assert _simulated_rate(rng, n_runs=1, family=0.05, shift_in_bounds=3.0, trials=500) > 0.95
    assert _simulated_rate(rng, n_runs=1, family=0.05, shift_in_bounds=3.0, trials=500, reference=True) > 0.95


def _write_record(results, run_hash: str, model: str, seed: int, metrics: dict, dataset: str = "synthetic") -> None:
    folder = results / "runs" / run_hash
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hash": run_hash, "identity": {}, "config": {
        "model": model, "profile": "smoke", "seed": seed, "data": {"dataset": dataset}}}))
    (folder / "metrics.json").write_text(json.dumps({"primary": "test", "test": metrics}))


def _log_line(run_hash: str, model: str, seed: int, recorded: dict, fresh: dict) -> str:
    return json.dumps({"hash": run_hash, "model": model, "seed": seed, "primary": "test", "profile": "smoke",
                       "dataset": "synthetic", "recorded": {"test": recorded}, "fresh": {"test": fresh}})


def _fake_verification(tmp_path, ggl_fresh_iou: float):
    """Recorded GGL-Net seeds (the system's spread), a fake verify log of three runs: GGL-Net's
    ablation (fresh IoU given), DNA-Net (no spread) and GGL-Net seed 1 identical."""
    results = tmp_path / "results"
    base = {"nIoU": 30.0, "Pd": 60.0, "Fa": 100.0}
    for seed, iou in enumerate((37.94, 33.96, 32.30)):
        _write_record(results, f"ggl{seed}", "ggl_net", seed, {**base, "IoU": iou, "nIoU": 30.0 + seed})
    _write_record(results, "gglother", "ggl_net", 0, {**base, "IoU": 99.0}, dataset="NUAA-SIRST")  # another dataset: not read
    log = tmp_path / "verify.jsonl"
    log.write_text("\n".join([
        _log_line("wogsm", "ggl_net_wo_gsm", 0, {**base, "IoU": 28.19}, {**base, "IoU": ggl_fresh_iou}),
        _log_line("dna", "dnanet", 0, {**base, "IoU": 49.95}, {**base, "IoU": 33.46}),
        _log_line("ggl1", "ggl_net", 1, {**base, "IoU": 33.96, "nIoU": 31.0}, {**base, "IoU": 33.96, "nIoU": 31.0})]) + "\n")
    return log, results


@pytest.mark.parametrize("fresh_iou, code", [(25.0, 0), (-500.0, 3)])
def test_exit_status_names_the_failing_runs(tmp_path, monkeypatch, capsys, fresh_iou, code):
    import irstd_lib.__main__ as cli
    import irstd_lib.reproduce as reproduce_module

    log, results = _fake_verification(tmp_path, fresh_iou)
    rows = verification_rows(log, "smoke", results)
    by_hash = {r["hash"]: r for r in rows}
    assert by_hash["dna"]["status"] == "no spread recorded" and by_hash["ggl1"]["status"] == "identical"
    assert by_hash["wogsm"]["runs judged"] == 2  # the two GGL-Net runs; DNA-Net has no spread
    sd = float(np.std([37.94, 33.96, 32.30], ddof=1))
    assert by_hash["wogsm"]["IoU bound"] == pytest.approx(spread_quantile(3, 2) * math.sqrt(2) * sd)
    report = ReproduceReport(profile="smoke", verification=rows, report_path=tmp_path / "REPORT.md")
    monkeypatch.setattr(reproduce_module, "reproduce", lambda *a, **k: report)
    assert cli.main(["reproduce", "--profile", "smoke", "--verify"]) == code
    out = capsys.readouterr()
    last = (out.err if code else out.out).strip().splitlines()[-1]
    text = "\n".join(_verification_section(report))
    if code:
        assert by_hash["wogsm"]["status"] == "outside seed spread"
        assert "FAILED" in last and "ggl_net_wo_gsm seed 0 run wogsm" in last and "dnanet" not in last
        assert "Verdict: FAILED (1 runs outside the rule: ggl_net_wo_gsm seed 0 (wogsm))" in text
    else:
        assert by_hash["wogsm"]["status"] == "within seed spread"
        assert last.endswith("passed (not judged, no spread recorded: dnanet)")
        assert "Verdict: passed" in text and "| dna | dnanet | 0 | no spread recorded | none recorded |" in text


def test_a_recorded_run_is_trained_again_and_compared(tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache-a"))
    recorded = run_experiment(CONFIG, results_dir=results, progress=False)

    # another machine's cache: nothing there, so the run trains again; same CPU and threads: identical
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache-b"))
    log = tmp_path / "verify.jsonl"
    monkeypatch.setenv("IRSTD_VERIFY_LOG", str(log))
    again = run_experiment(CONFIG, results_dir=results, progress=False, verify=True)
    # the record stays as it was (as JSON: a metric undefined on the tiny run is NaN, never equal to itself)
    assert json.dumps(again.record, sort_keys=True) == json.dumps(recorded.record, sort_keys=True)
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["hash"] == recorded.hash and entry["fresh"] == entry["recorded"]
    assert (tmp_path / "cache-b" / "runs" / recorded.hash / "fresh_metrics.json").is_file()

    # a record that differs (another CPU made it): the cached fresh metrics are compared, not retrained
    metrics_path = recorded.run_dir / "metrics.json"
    record = json.loads(metrics_path.read_text())
    record["test"]["IoU"] += 3.0
    metrics_path.write_text(json.dumps(record))
    run_experiment(CONFIG, results_dir=results, progress=False, verify=True)
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    rows = verification_rows(log, "smoke", results)  # no seed records here: said so, not called outside
    assert [r["status"] for r in rows] == ["no spread recorded"]
    assert rows[0]["fresh IoU"] == pytest.approx(rows[0]["recorded IoU"] - 3.0)

    report = ReproduceReport(profile="smoke", verification=rows)
    text = "\n".join(_verification_section(report))
    assert "of 1 runs: 0 identical, 0 within seed spread, 1 no spread recorded, 0 outside seed spread" in text
    assert f"| {recorded.hash} | lgnet_baseline | 0 | no spread recorded |" in text and "Verdict: passed" in text
