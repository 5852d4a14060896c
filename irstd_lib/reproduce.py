"""``python -m irstd_lib reproduce``: execute every notebook through papermill and write REPORT.md.

Each notebook in :data:`NOTEBOOKS` is executed with the profile's parameters injected into its
``parameters`` cell; its executed copy lands in ``results/<profile>/notebooks/``. A failing
notebook does not stop the others: the run goes on, and at the end the report names every
failure with its error, and the command exits non-zero. Finished training runs are reused
(see :mod:`irstd_lib.runs`), so a second ``reproduce`` only re-renders tables and figures.
While a notebook runs, the command's bar shows what its kernel is doing (which run is training,
its epoch, step and loss; which method is being scored) through :mod:`irstd_lib.progress`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from tqdm.auto import tqdm

from irstd_lib.io import atomic_write_text
from irstd_lib.progress import ENV_VAR, read_status
from irstd_lib.reproductions.specs import NOTEBOOKS as SPEC_NOTEBOOKS
from irstd_lib.reproductions.specs import VLM_NOTEBOOKS
from irstd_lib.results import profile_dir

KERNEL_NAME = "irstd-lang"


def find_notebook_dir() -> Path:
    """The notebooks: inside the installed package (a wheel ships ``notebooks/`` as
    ``irstd_lib/notebooks/``, see setup.py), else beside the package in a source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "notebooks", package.parent / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no notebooks folder in {package} nor beside it: reinstall irstd-lang")

# Every table and figure notebook, from its spec, then the teaching notebooks (the report's order).
NOTEBOOKS: list[str] = list(SPEC_NOTEBOOKS)

PROFILES = ("smoke", "paper")


@dataclass
class NotebookResult:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    output: Path | None = None
    #: why it was not executed (a VLM notebook without an endpoint); "" when it was
    skipped: str = ""


@dataclass
class ReproduceReport:
    profile: str
    results: list[NotebookResult] = field(default_factory=list)
    seconds: float = 0.0
    report_path: Path | None = None
    #: with ``verify``: one row per recorded run trained again, ``{"hash", "model", "seed", "status", ...}``
    verification: list[dict] | None = None
    #: the runs trained side by side before the notebooks (:mod:`irstd_lib.reproductions.pool`)
    pool: object | None = None

    @property
    def failures(self) -> list[NotebookResult]:
        return [r for r in self.results if not r.ok]

    def verification_counts(self) -> dict[str, int]:
        counts = {status: 0 for status in VERIFICATION_STATUSES}
        for row in self.verification or []:
            counts[row["status"]] += 1
        return counts

    @property
    def verification_failures(self) -> list[dict]:
        """The verified runs that fail by the rule (:data:`~irstd_lib.runs.verification.FAILING_STATUSES`)."""
        from irstd_lib.runs.verification import FAILING_STATUSES

        return [row for row in self.verification or [] if row["status"] in FAILING_STATUSES]

    def verification_line(self) -> str:
        """The command's last line: the counts, the verdict and the failing runs by name."""
        counts = self.verification_counts()
        failures = self.verification_failures
        line = (f"verified {len(self.verification or [])} recorded runs against a fresh training: "
                + ", ".join(f"{n} {status}" for status, n in counts.items()))
        if failures:
            return line + ": FAILED (" + ", ".join(f"{r['model']} seed {r['seed']} run {r['hash']}" for r in failures) + ")"
        unjudged = [r for r in self.verification or [] if r["status"] == "no spread recorded"]
        return line + ": passed" + (f" (not judged, no spread recorded: {', '.join(sorted({r['model'] for r in unjudged}))})"
                                    if unjudged else "")


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Register this interpreter as a Jupyter kernel inside its own environment (``--sys-prefix``,
    never the user's home) so papermill runs notebooks with the same packages as the caller."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(name)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return name
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=name, display_name=f"Python ({name})", prefix=sys.prefix)
    return name


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict,
    kernel_name: str | None = None,
    cwd: Path | None = None,
    timeout: int | None = None,
) -> Path:
    """Execute ``source`` with papermill, writing the executed copy to ``output`` atomically."""
    import papermill

    kernel_name = kernel_name or ensure_kernel()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    try:
        # The kernel starts in ``cwd`` through nbclient's resources, not papermill's ``cwd``: that
        # one changes this whole process's folder for the run, which two notebooks executing at
        # once (reproduce's ``jobs``) would leave pointing at one of theirs.
        papermill.execute_notebook(
            str(source),
            tmp,
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            execution_timeout=timeout,
            resources={"metadata": {"path": str(cwd or source.parent)}},
        )
    except BaseException:
        # Keep the partly executed copy beside the target for debugging, never in its place.
        shutil.move(tmp, output.with_suffix(".failed.ipynb"))
        raise
    _drop_widget_state(Path(tmp))
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; the executed copy is a shared result
    os.replace(tmp, output)
    return output


def _drop_widget_state(path: Path) -> None:
    """Remove the saved ipywidgets state from an executed notebook.

    Every tqdm bar of a training run is a widget whose state the kernel saves in the notebook
    metadata: about 1 MB per training notebook, none of it readable in a static view (each
    output keeps its ``text/plain`` form, the bar's last line).
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    if nb.metadata.pop("widgets", None) is not None:
        nbformat.write(nb, str(path))


def reproduce(
    profile: str = "smoke",
    data_root: str | None = None,
    only: list[str] | None = None,
    results_dir: str | os.PathLike | None = None,
    notebook_dir: Path | None = None,
    extra_parameters: dict | None = None,
    progress: bool = True,
    verify: bool = False,
    jobs: int | None = None,
) -> ReproduceReport:
    """Execute the notebooks of ``profile`` and write ``results/<profile>/REPORT.md``.

    ``verify``: every run the notebooks read from its record is trained again, unless the local
    cache holds its fresh metrics (:func:`irstd_lib.runs.run_experiment`), and compared
    with its record by the rule of :func:`irstd_lib.runs.verification_status` (a t prediction
    bound on the run's own system's recorded seed spread, Bonferroni over 4 metrics and the runs
    judged: at most 5 % false alarms for the whole verification): ``identical``, ``within seed
    spread``, ``no spread recorded``, ``outside seed spread`` or ``differs (deterministic)``.
    The records, and so the tables, stay as they were; REPORT.md gets a verification section and
    :attr:`ReproduceReport.verification_failures` names the runs that fail (the command then exits
    non-zero). Classical scorings are not re-scored.

    ``jobs``: the notebooks' runs that need training (with ``verify``: training again) are
    trained first, that many side by side in worker processes (:func:`irstd_lib.reproductions.pool.train_planned`),
    and then that many notebooks execute at a time, reading them; None: as many as the cores hold
    when the profile pins a run's CPU threads (the smoke profile: one run per core), else 1, which
    leaves every run to its notebook and executes the notebooks one after another."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    notebook_dir = Path(notebook_dir) if notebook_dir is not None else find_notebook_dir()
    # LGNet's VLM experiments run only with an endpoint (irstd_lib.reproductions.lgnet_vlm), else are listed as skipped.
    names = list(only) if only else list(NOTEBOOKS) + list(VLM_NOTEBOOKS)
    skipped, vlm_parameters = _vlm_notebooks(names, extra_parameters)
    unknown = [n for n in names if n not in skipped and not (notebook_dir / f"{n}.ipynb").is_file()]
    if unknown:
        raise FileNotFoundError(f"no notebook named {', '.join(unknown)} in {notebook_dir}")
    out_dir = profile_dir(profile, results_dir)
    kernel = ensure_kernel()
    report = ReproduceReport(profile=profile)
    start = time.perf_counter()
    from irstd_lib.reproductions.pool import default_jobs

    jobs = default_jobs(profile, (extra_parameters or {}).get("device", "cpu")) if jobs is None else int(jobs)
    bar = tqdm(total=len(names), desc=f"reproduce {profile}", unit="notebook", disable=not progress)
    with _kernel_status(bar if progress else None) as show, _verification_log(verify) as log:
        report.pool = _train_side_by_side(profile, [n for n in names if n not in skipped], data_root, out_dir.parent.resolve(),
                                          extra_parameters, jobs, verify, progress)

        def execute(name: str) -> None:
            show(name)
            if name in skipped:
                report.results.append(NotebookResult(name, True, 0.0, skipped=skipped[name]))
            else:
                parameters = {**(extra_parameters or {}), **vlm_parameters} if name in VLM_NOTEBOOKS else extra_parameters
                _execute_one(name, profile, out_dir, notebook_dir, data_root, parameters, kernel, report)
            bar.update(1)

        # With every run trained above, a notebook mostly reads records and draws: ``jobs`` kernels at a
        # time (each notebook writes its own files; REPORT.md keeps the notebooks' order).
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as kernels:
            list(kernels.map(execute, names))
        bar.close()
        order = {name: i for i, name in enumerate(names)}
        report.results.sort(key=lambda r: order[r.name])
        if log is not None:
            report.verification = verification_rows(log, profile, out_dir.parent)
    report.seconds = time.perf_counter() - start
    report.report_path = write_report(report, out_dir)
    return report


def _train_side_by_side(profile: str, names: list[str], data_root, results_dir, extra_parameters: dict | None,
                        jobs: int | None, verify: bool, progress: bool):
    """The notebooks' runs trained ``jobs`` at a time before the notebooks (:mod:`irstd_lib.reproductions.pool`),
    with the checkpoints and device the notebooks get."""
    from irstd_lib.reproductions.pool import train_planned

    given = extra_parameters or {}
    log = (lambda line: tqdm.write(line, file=sys.stderr)) if progress else (lambda line: None)
    return train_planned(profile, names, data_root=data_root, results_dir=results_dir, device=given.get("device", "cpu"),
                         jobs=jobs, verify=verify, clip_checkpoint=given.get("clip_checkpoint"),
                         sam_checkpoint=given.get("sam_checkpoint"), detector_checkpoint=given.get("detector_checkpoint"),
                         log=log)


def _vlm_notebooks(names: list[str], extra_parameters: dict | None) -> tuple[dict[str, str], dict]:
    """``({VLM notebook: why it is skipped}, the endpoint parameters the others get)``."""
    if not set(names) & set(VLM_NOTEBOOKS):
        return {}, {}
    from irstd_lib.reproductions import lgnet_vlm

    parameters = lgnet_vlm.reproduce_parameters(extra_parameters)
    reasons = {name: lgnet_vlm.skip_reason(name, parameters) for name in names if name in VLM_NOTEBOOKS}
    return {name: reason for name, reason in reasons.items() if reason}, parameters


@contextmanager
def _kernel_status(bar) -> Iterator[Callable[[str], None]]:
    """Show, beside the notebook count, what the kernel is doing (which run, which epoch): the
    kernels ``reproduce`` starts inherit ``IRSTD_PROGRESS_FILE`` (see :mod:`irstd_lib.progress`),
    and a thread shows its line on ``bar`` once a second. Yields a function naming the notebook."""
    if bar is None:
        yield lambda name: None
        return
    fd, status_path = tempfile.mkstemp(prefix="irstd-progress-", suffix=".txt")
    os.close(fd)
    current = {"notebook": "", "status": ""}
    stop = threading.Event()

    def show(name: str) -> None:
        current["notebook"], current["status"] = name, ""
        Path(status_path).write_text("")
        bar.set_postfix_str(name)

    def watch() -> None:
        while not stop.wait(1.0):
            status = read_status(status_path)
            if status and status != current["status"]:
                current["status"] = status
                bar.set_postfix_str(f"{current['notebook']}: {status}")

    watcher = threading.Thread(target=watch, name="kernel-status", daemon=True)
    watcher.start()
    try:
        with _kernel_environment({ENV_VAR: status_path}):
            yield show
    finally:
        stop.set()
        watcher.join()
        Path(status_path).unlink(missing_ok=True)


@contextmanager
def _kernel_environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables the notebook kernels started inside the block inherit; the previous
    values (or their absence) come back afterwards."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: irstd_lib.runs.verification.STATUSES, spelled here so that the command line's import stays light (a test checks they agree)
VERIFICATION_STATUSES = ("identical", "within seed spread", "no spread recorded", "outside seed spread", "differs (deterministic)")


@contextmanager
def _verification_log(verify: bool) -> Iterator[Path | None]:
    """With ``verify``, the kernels inherit ``IRSTD_VERIFY=1`` and the log file they append to."""
    if not verify:
        yield None
        return
    from irstd_lib.runs import VERIFY_ENV, VERIFY_LOG_ENV

    fd, log = tempfile.mkstemp(prefix="irstd-verify-", suffix=".jsonl")
    os.close(fd)
    try:
        with _kernel_environment({VERIFY_ENV: "1", VERIFY_LOG_ENV: log}):
            yield Path(log)
    finally:
        Path(log).unlink(missing_ok=True)


def verification_rows(log: Path, profile: str, results_dir: Path) -> list[dict]:
    """One classified row per run of the verification log (the last check of each run), judged by
    :func:`irstd_lib.runs.verification_status`: each run by the recorded seed spread of its own
    system on its own dataset (:func:`~irstd_lib.reproductions.seeds.recorded_seed_sample`), a
    classical method as deterministic, a system without a recorded spread as ``no spread
    recorded``; the Bonferroni count is the number of runs judged by a spread."""
    import json

    from irstd_lib.runs.verification import spread_quantile, verification_verdict
    from irstd_lib.models import get_variant
    from irstd_lib.reproductions.configs import system_folder
    from irstd_lib.reproductions.seeds import recorded_seed_sample

    entries: dict[str, dict] = {}
    for n, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{log}: line {n} is not a JSON verification entry ({error})") from None
            entries[entry["hash"]] = entry
    spreads: dict[tuple, object] = {}
    judged = []
    for entry in entries.values():
        variant = get_variant(entry["model"])
        system = system_folder(variant)
        key = (system, entry.get("profile") or profile, entry.get("dataset"))
        if key not in spreads:
            spreads[key] = None if variant.kind == "classical" else recorded_seed_sample(system, key[1], results_dir, key[2])
        judged.append((entry, variant.kind == "classical", spreads[key]))
    runs_judged = max(1, sum(1 for _, deterministic, spread in judged if not deterministic and spread is not None))
    rows = []
    for entry, deterministic, spread in judged:
        verdict = verification_verdict(entry, spread, runs_judged, deterministic)
        primary = entry["primary"]
        bound = verdict["bounds"]["IoU"] if verdict["bounds"] else None
        rows.append({"hash": entry["hash"], "model": entry["model"], "seed": entry["seed"], "status": verdict["status"],
                     "spread": verdict["spread"] or "none recorded", "IoU bound": bound,
                     "IoU centre": verdict["centre"]["IoU"] if verdict["centre"] else None,
                     "quantile": spread_quantile(spread.n, runs_judged) if spread is not None and spread.n > 1 else None,
                     "runs judged": runs_judged,
                     "recorded IoU": entry["recorded"][primary]["IoU"], "fresh IoU": entry["fresh"][primary]["IoU"],
                     "recorded Pd": entry["recorded"][primary]["Pd"], "fresh Pd": entry["fresh"][primary]["Pd"]})
    return sorted(rows, key=lambda r: (VERIFICATION_STATUSES.index(r["status"]), r["model"], r["hash"]))


def _verification_section(report: "ReproduceReport") -> list[str]:
    if report.verification is None:
        return []
    from irstd_lib.runs.verification import FAMILY_FALSE_ALARM

    counts = report.verification_counts()
    runs = len(report.verification)
    judged = report.verification[0]["runs judged"] if report.verification else 0
    lines = ["## Verification against the committed records", "",
             f"Every run the notebooks read from its record was trained again here (or its fresh metrics read from the local "
             f"cache) and compared with the record, of {runs} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
             "",
             f"The rule (irstd_lib.runs.verification.verification_status): a run passes when every metric of its primary "
             f"evaluation is within t(1 - a/2, n - 1) x s x sqrt(2) of its record (a run of the system's reference model at one "
             f"of its seeds: x sqrt(1 + 1/n) of the seeds' mean), s the sample sd of the run's own system's reference over its "
             f"n recorded seeds, a = {FAMILY_FALSE_ALARM:g} / (4 x {judged}): Bonferroni over the 4 metrics and the {judged} runs "
             f"judged by a spread, so the chance that a verification of seed-like runs fails is at most "
             f"{FAMILY_FALSE_ALARM:.0%} ({FAMILY_FALSE_ALARM / max(judged, 1):.2%} per run). Classical scorings are "
             "deterministic: identical or not. A system without a recorded seed spread is not judged (no spread recorded). "
             "With 3 seeds (2 degrees of freedom) the bound is wide: it catches a broken run, not a few points of drift; "
             "identical numbers need the same CPU type, torch build and thread count (README, determinism).", ""]
    failures = report.verification_failures
    lines += [f"Verdict: FAILED ({len(failures)} runs outside the rule: "
              + ", ".join(f"{r['model']} seed {r['seed']} ({r['hash']})" for r in failures) + ")." if failures else
              "Verdict: passed (no run outside the rule).", ""]
    if report.verification:
        lines += ["| run | model | seed | status | spread | IoU recorded | IoU now | IoU bound (+/-) | Pd recorded | Pd now |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['hash']} | {r['model']} | {r['seed']} | {r['status']} | {r['spread']} | {r['recorded IoU']:.2f} | "
                  f"{r['fresh IoU']:.2f} | " + ("" if r['IoU bound'] is None else f"{r['IoU bound']:.2f} around {r['IoU centre']:.2f}")
                  + f" | {r['recorded Pd']:.2f} | {r['fresh Pd']:.2f} |" for r in report.verification]
        lines.append("")
    return lines


def _execute_one(name: str, profile: str, out_dir: Path, notebook_dir: Path, data_root, extra_parameters: dict | None,
                 kernel: str, report: "ReproduceReport") -> None:
    """Execute one notebook and add its result to ``report`` (a failure is recorded, not raised)."""
    # The results folder is always passed, absolute: the notebooks run in their own folder.
    parameters: dict = {"profile": profile, "results_dir": str(out_dir.parent.resolve())}
    if data_root:
        parameters["data_root"] = str(data_root)
    parameters.update(extra_parameters or {})
    t0 = time.perf_counter()
    target = out_dir / "notebooks" / f"{name}.ipynb"
    try:
        execute_notebook(notebook_dir / f"{name}.ipynb", target, parameters, kernel_name=kernel)
        report.results.append(NotebookResult(name, True, time.perf_counter() - t0, output=target))
    except Exception as exc:  # noqa: BLE001 - one failing notebook must not stop the others
        message = _short_error(exc)
        report.results.append(NotebookResult(name, False, time.perf_counter() - t0, error=message))
        tqdm.write(f"FAILED {name}: {message}", file=sys.stderr)


def _short_error(exc: BaseException) -> str:
    # papermill's PapermillExecutionError carries the notebook's own exception name and value.
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def write_report(report: ReproduceReport, out_dir: Path) -> Path:
    """REPORT.md: every table (inlined) and figure of the profile, and the notebooks' status."""
    lines = [f"# Reproduction report: profile `{report.profile}`", ""]
    lines.append(
        "Generated by `python -m irstd_lib reproduce --profile "
        f"{report.profile}`. Columns marked `(paper)` are the papers' reported values; every other "
        "number was measured by this package in this run (or a reused run record)."
    )
    lines += ["", "## Notebooks", "", "| notebook | status | seconds |", "|---|---|---|"]
    for r in report.results:
        status = f"skipped: {r.skipped}" if r.skipped else "ok" if r.ok else f"FAILED: {r.error}".replace("|", "\\|").replace("\n", " ")
        link = f"[{r.name}](notebooks/{r.name}.ipynb)" if r.ok and not r.skipped else r.name
        lines.append(f"| {link} | {status} | {r.seconds:.0f} |")
    lines += ["", f"Total: {report.seconds / 60:.1f} minutes.", ""]
    pool = report.pool
    if pool is not None and (pool.trained or pool.failed):
        lines += [f"Before the notebooks, {len(pool.trained)} runs were trained{' again' if report.verification is not None else ''}, "
                  f"{pool.jobs} side by side, in {pool.seconds / 60:.1f} minutes"
                  + (f"; {len(pool.failed)} failed there and were left to their notebooks" if pool.failed else "") + ".", ""]
    skipped = [r.name for r in report.results if r.skipped]
    if skipped:
        lines += [f"Skipped: {', '.join(skipped)}: LGNet's VLM experiments (5.3.2, 5.6.2, 5.6.5, 5.6.6, Table 3) ask an "
                  "OpenAI-compatible chat endpoint about every test image and need one: IRSTD_VLM_ENDPOINT and "
                  "IRSTD_VLM_MODEL (a hosted API, or vLLM / Ollama on this machine; IRSTD_VLM_API_KEY for a key), and "
                  "IRSTD_VLM_SECOND_MODEL for Table 3's second VLM.", ""]
    lines += _verification_section(report)
    lines += _differences_section(out_dir / "tables")
    tables = sorted((out_dir / "tables").glob("*.md"))
    if tables:
        lines += ["## Tables", ""]
        for table in tables:
            lines += [f"### {table.stem}", "", f"[CSV](tables/{table.stem}.csv)", "", table.read_text(encoding="utf-8").strip(), ""]
    figures = sorted((out_dir / "figures").glob("*.png"))
    if figures:
        lines += ["## Figures", ""]
        for figure in figures:
            lines += [f"### {figure.stem}", "", f"![{figure.stem}](figures/{figure.name})", ""]
    return atomic_write_text(out_dir / "REPORT.md", "\n".join(lines) + "\n")


def _differences_section(tables_dir: Path) -> list[str]:
    """Which rows of which tables differ from their table's reference row by more than the 95 %
    paired bootstrap interval over test images, and by more than the measured seed spread (the
    tables' ``vs <reference>: beyond ...`` columns, :mod:`irstd_lib.reproductions.intervals` and
    :mod:`irstd_lib.reproductions.seeds`)."""
    import pandas as pd

    from irstd_lib.reproductions.intervals import DIFFERENCE_SUFFIX, NO_DIFFERENCE
    from irstd_lib.reproductions.seeds import NOT_SEPARABLE, SPREAD_SUFFIX

    kinds = (
        (DIFFERENCE_SUFFIX, NO_DIFFERENCE,
         "the 95 % paired bootstrap interval over test images (1000 resamples; the test images' sampling only)"),
        (SPREAD_SUFFIX, NOT_SEPARABLE,
         "the measured seed spread (1.96 x sqrt(2) sd of the system's reference model over its seeds; training's own noise)"),
    )
    lines: list[str] = []
    for suffix, nothing, what in kinds:
        found, compared = [], 0
        for csv in sorted(tables_dir.glob("*.csv")):
            table = pd.read_csv(csv, keep_default_na=False)
            for column in [c for c in table.columns if c.startswith("vs ") and c.endswith(suffix)]:
                label = next((c for c in ("setting", "measured", "method") if c in table.columns), table.columns[0])
                reference = column[len("vs "):-len(suffix)]
                for _, row in table.iterrows():
                    entry = str(row[column])
                    if entry in ("", "reference"):
                        continue
                    compared += 1
                    if entry != nothing:
                        found.append(f"| {csv.stem} | {row[label]} | {reference} | {entry} |")
        if not compared:
            continue
        if not lines:
            lines = ["## Differences beyond their interval", ""]
        lines += [f"{len(found)} of {compared} rows compared with their table's reference row differ from it, in at least "
                  f"one metric, by more than {what}; the others do not.", ""]
        if found:
            lines += ["| table | row | reference | differences |", "|---|---|---|---|", *found, ""]
    return lines
