"""Command line: ``python -m irstd_lib <command> --help``.

Each command parses its arguments here and calls one library function; the work lives in the
library so that notebooks and tests call the same code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from irstd_lib.model_options import DATASET_OPTIONS, WEIGHTS_OPTIONS

#: ``reproduce --verify``'s exit status when every notebook ran but a run fails by the verification's rule
VERIFICATION_FAILED = 3

# name -> (help text, function that adds the command's options to its parser, function run with
# the parsed arguments, returning the exit status); filled by @command, in the order of --help.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help_text: str, add_arguments: Callable[[argparse.ArgumentParser], None] | None = None):
    """Register the decorated function as command ``name``: the one way a command is declared.

    Its options are the ``@arg``/``@options`` decorators below this one (in the order written) and
    then, for a command whose options live in a library module beside its body (``describe``,
    ``profile``), ``add_arguments(parser)``; one path, so that every command's help, options and
    exit status come out of the same parser building."""

    def decorator(func: Callable[[argparse.Namespace], int]):
        declared = list(getattr(func, "_arguments", []))

        def add_all_arguments(parser: argparse.ArgumentParser) -> None:
            for args, kwargs in declared:
                parser.add_argument(*args, **kwargs)
            if add_arguments is not None:
                add_arguments(parser)

        COMMANDS[name] = (help_text, add_all_arguments, func)
        return func

    return decorator


def arg(*args, **kwargs):
    """One option of a command (``parser.add_argument``'s arguments), for use under ``@command``."""

    def decorator(func):
        func._arguments = [(args, kwargs)] + list(getattr(func, "_arguments", []))
        return func

    return decorator


def options(table, only: tuple[str, ...] | None = None, **changes: dict):
    """Options from a shared table of :mod:`irstd_lib.model_options` (``(flag, keyword, settings)``),
    in the table's order: all of them, or those whose keyword is in ``only`` (in the table's order);
    ``changes`` maps a keyword to settings that replace the table's for this command (a help text
    worded for it, ``required=False``), so that no command declares a shared option a second time."""

    def decorator(func):
        for flag, key, settings in reversed(table):
            if only is None or key in only:
                func = arg(flag, **{"default": None, **settings, **changes.get(key, {})})(func)
        return func

    return decorator


def _open_dataset(args: argparse.Namespace):
    from irstd_lib.data import IRSTDDataset

    dataset = IRSTDDataset(
        args.data,
        split=args.split,
        layout=args.layout,
        split_dir=args.split_dir,
        split_version=args.split_version,
        descriptions=None,
        on_size_mismatch=args.on_size_mismatch,
        mask_dir=args.mask_dir,
    )
    if dataset.mask_dir_note:  # which mask folder was read where there was a choice (DenseSIRST)
        print(dataset.mask_dir_note, file=sys.stderr)
    return dataset


def _print_metrics(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    hiou = f"  hIoU {result['hIoU']:.2f}" if "hIoU" in result else ""  # records before hIoU lack it
    shooting = (f"  shooting rule: Pd {result['Pd_shooting']:.2f}  Fa {result['Fa_shooting']:.2f}e-6"
                if "Pd_shooting" in result else "")  # nor do records before the shooting rule
    print(
        f"IoU {result['IoU']:.2f}  nIoU {result['nIoU']:.2f}  Pd {result['Pd']:.2f}  "
        f"Fa {result['Fa']:.2f}e-6{hiou}  ({result['n_images']} images){shooting}"
    )


@command("score", "score a folder of predictions (PNG score maps or masks, .npy float maps) against a split")
@arg("--json", action="store_true", help="print one JSON object (IoU, nIoU, Pd, hIoU, Pd_shooting in percent; Fa, Fa_shooting x1e-6; n_images)")
@arg("--threshold", type=float, default=0.5, help="score > threshold is a target pixel (PNG maps are scaled to [0, 1]; default 0.5)")
@arg("--pred", required=True, type=Path, help="folder with one <name>.png or <name>.npy per image")
@options(DATASET_OPTIONS)
def cmd_score(args: argparse.Namespace) -> int:
    from irstd_lib.scoring import score_prediction_folder

    dataset = _open_dataset(args)
    result = score_prediction_folder(args.pred, dataset, threshold=args.threshold, progress=not args.json)
    _print_metrics(_public_metrics(result), args.json)
    return 0


@command("evaluate", "score a classical method, or a trained model's weights file, on a split; or show a trained run's test metrics")
@arg("--eval-policy", default=None, choices=["resize", "pad", "none"], help="with --checkpoint: how test images are prepared (default: the model's recipe)")
@arg("--eval-size", type=int, default=None, help="with --checkpoint: the size the policy uses (default: the model's recipe)")
@arg("--kw", action="append", default=[], metavar="KEY=VALUE", help="with --checkpoint: extra model keyword (JSON value)")
@arg("--checkpoint", default=None, metavar="PATH", help="a learned model's weights (our checkpoints or a state_dict): score it with --method NAME")
@options(WEIGHTS_OPTIONS)
@arg("--json", action="store_true", help="print one JSON object with the metrics")
@arg("--save-pred", type=Path, default=None, help="write <name>.png binary predictions (and scores/<name>.npy) here")
@arg("--results", type=Path, default=None, help="results folder holding runs/ (default: ./results)")
@arg("--run", default=None, help="a trained run: its hash (results/runs/<hash>) or its folder")
@arg("--method", default=None, help="a registered method: a classical one (tophat, ipi), or a learned one with --checkpoint (needs --data)")
@options(DATASET_OPTIONS, data=dict(required=False))
def cmd_evaluate(args: argparse.Namespace) -> int:
    if (args.method is None) == (args.run is None):
        print("error: give exactly one of --method or --run", file=sys.stderr)
        return 2
    if args.run is not None:
        from irstd_lib.runs import find_run

        record = find_run(args.run, args.results)
        if args.json:
            print(json.dumps(record, sort_keys=True))
        else:
            for key in record.get("evaluations", []):
                print(f"{key}{' (primary)' if key == record.get('primary') else ''}: ", end="")
                _print_metrics(record[key], False)
        return 0
    if args.data is None:
        print("error: --method needs --data ROOT", file=sys.stderr)
        return 2
    dataset = _open_dataset(args)
    if args.checkpoint is not None:
        from irstd_lib.benchmarks.model_profile import parse_kwarg
        from irstd_lib.model_options import weights_kwargs
        from irstd_lib.scoring import evaluate_checkpoint

        kwargs = dict(parse_kwarg(text) for text in args.kw)
        kwargs.update(weights_kwargs(args))
        result = evaluate_checkpoint(args.method, args.checkpoint, dataset, model_kwargs=kwargs, size=args.eval_size,
                                     policy=args.eval_policy, progress=not args.json)
    else:
        from irstd_lib.scoring import evaluate_classical

        result = evaluate_classical(args.method, dataset, save_pred=args.save_pred, progress=not args.json)
    _print_metrics(_public_metrics(result), args.json)
    return 0


@command("train", "train (or reuse) one experiment run from a JSON run config, then print its test metrics; "
                  "under torchrun, every process trains a shard (DistributedDataParallel) and rank 0 alone writes")
@options(WEIGHTS_OPTIONS, only=("sam_checkpoint", "clip_checkpoint", "detector_checkpoint"))
@arg("--json", action="store_true", help="print the run record as one JSON object")
@arg("--no-progress", action="store_true", help="no progress bars")
@arg("--channels-last", action=argparse.BooleanOptionalAction, default=None,
     help="channels-last (NHWC) memory format for the model and its input batches (default: on for CUDA, where it makes "
          "convolutions faster, off on the CPU); not part of the run's identity")
@arg("--keep-every", type=int, default=None, metavar="K",
     help="also keep the checkpoint of every K-th epoch (epoch_0050.pt, ... beside last.pt in the run's cache folder), "
          "as the toolbox keeps one every 50 epochs; not part of the run's identity")
@arg("--device", default="cpu", help="torch device (default cpu); under torchrun 'cuda' means cuda:<LOCAL_RANK>")
@arg("--results", type=Path, default=None, help="results folder (default: ./results)")
@arg("--data", type=Path, default=None, help="dataset root for a config whose dataset is not 'synthetic'")
@arg("--config", required=True, type=Path, help="JSON file with RunConfig fields (see irstd_lib.runs)")
def cmd_train(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    from irstd_lib.engine.distributed import cleanup_distributed, setup_distributed
    from irstd_lib.runs import RunConfig, run_experiment

    config = RunConfig.from_file(args.config)
    from irstd_lib.model_options import weights_kwargs

    weights = weights_kwargs(args)
    if weights:
        config = config.replace(model_kwargs={**config.model_kwargs, **weights})
    if args.keep_every is not None:
        config = config.replace(train={**config.train, "keep_every": args.keep_every})
    # With torchrun's WORLD_SIZE > 1 this joins the process group (gloo on CPU, nccl on CUDA);
    # a group the caller initialised is left to the caller to destroy.
    owns_group = not (dist.is_available() and dist.is_initialized())
    rank, _, device = setup_distributed(args.device)
    try:
        run = run_experiment(config, data_root=args.data, results_dir=args.results, device=str(device),
                             progress=not args.no_progress, channels_last=args.channels_last)
    finally:
        if owns_group:
            cleanup_distributed()
    if rank != 0:
        return 0  # rank 0 prints the run
    if args.json:
        print(json.dumps(run.record, sort_keys=True))
    else:
        print(f"run {run.hash}: {run.run_dir}")
        _print_metrics(run.metrics, False)
    return 0


@command("reproduce", "execute every notebook of a profile through papermill and write results/<profile>/REPORT.md; "
                      "with --plan, list the runs it would train instead")
@arg("--cpu-gflops", type=float, default=None, metavar="GFLOP/S",
     help="with --plan: effective CPU training throughput assumed for the CPU estimate (default: the plan's, printed with it)")
@arg("--gpu-tflops", type=float, default=None, metavar="TFLOP/S",
     help="with --plan: effective GPU training throughput assumed for the GPU-hours estimate (default: the plan's, printed with it)")
@arg("--json", action="store_true", help="with --plan: print the plan as one JSON object")
@arg("--plan", action="store_true",
     help="train nothing: print every run the profile's notebooks would train (model, dataset, settings, hash, notebooks, "
          "expected cost, the inputs it needs and which are missing) and the classical scorings")
@options(WEIGHTS_OPTIONS, only=("sam_checkpoint", "clip_checkpoint", "detector_checkpoint"))
@arg("--verify", action="store_true",
     help="train again every run the notebooks read from its record (unless the local cache holds its fresh metrics) and "
          "compare with the record by the rule of irstd_lib.runs.verification_status (at most 5 %% false alarms for the whole "
          "verification); the records and tables stay as they are. Exit status: 1 when a notebook fails, else 3 when a run "
          "fails by the rule (the last line names it), else 0")
@arg("--device", default=None,
     help="torch device every notebook trains and evaluates on, e.g. cuda (default: the notebooks' own, cpu)")
@arg("--jobs", type=int, default=None,
     help="runs trained side by side before the notebooks render them (default: one per core when the profile pins "
          "a run's CPU threads, as smoke does; else 1, every run trained by its notebook)")
@arg("--only", nargs="*", default=None, help="notebook names to run, or with --plan to list the runs of (default: all)")
@arg("--results", type=Path, default=None, help="results folder (default: ./results)")
@arg("--data", type=Path, default=None, help="a real dataset folder the notebooks use instead of the profile's default")
@arg("--profile", default="smoke", choices=["smoke", "paper"], help="smoke: 2-core CPU, synthetic data; paper: the papers' settings, GPU")
def cmd_reproduce(args: argparse.Namespace) -> int:
    # The checkpoints and the device reach the notebooks as their parameters of the same names (the
    # paper profile needs the checkpoints; a notebook that does not declare one ignores it, papermill warns).
    notebook_parameters = {key: str(Path(value).expanduser().resolve())
                           for key in ("clip_checkpoint", "sam_checkpoint", "detector_checkpoint")
                           if (value := getattr(args, key, None)) is not None}
    if args.device is not None:
        notebook_parameters["device"] = args.device  # the notebooks' ``device`` parameter
    if args.plan:
        plan_inputs = {k: v for k, v in notebook_parameters.items() if k != "device"}
        from irstd_lib.reproductions import plan

        described = plan.describe_plan(
            args.profile, data_root=args.data, results_dir=args.results, only=args.only,
            gpu_tflops=args.gpu_tflops if args.gpu_tflops is not None else plan.DEFAULT_GPU_TFLOPS,
            cpu_gflops=args.cpu_gflops if args.cpu_gflops is not None else plan.DEFAULT_CPU_GFLOPS, **plan_inputs)
        print(json.dumps(described, sort_keys=True) if args.json else plan.format_plan(described))
        return 0
    if args.json or args.gpu_tflops is not None or args.cpu_gflops is not None:
        print("error: --json, --gpu-tflops and --cpu-gflops go with --plan", file=sys.stderr)
        return 2
    from irstd_lib.reproduce import reproduce

    report = reproduce(args.profile, data_root=args.data, only=args.only, results_dir=args.results,
                       extra_parameters=notebook_parameters or None, verify=args.verify, jobs=args.jobs)
    print(f"wrote {report.report_path} ({report.seconds / 60:.1f} min)")
    for failure in report.failures:
        print(f"FAILED notebook {failure.name}: {failure.error}", file=sys.stderr)
    if report.verification is not None:  # the last line: the verdict, naming the runs that fail by the rule
        print(report.verification_line(), file=sys.stderr if report.verification_failures else sys.stdout)
    if report.failures:
        return 1
    return VERIFICATION_FAILED if report.verification_failures else 0


@command("models", "list every registered method: kind, paper, parameters, conditioning, recipe, switches")
@arg("--json", action="store_true", help="one JSON object per line instead of a table")
def cmd_models(args: argparse.Namespace) -> int:
    from irstd_lib.models.catalogue import model_catalogue

    rows = model_catalogue()
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return 0
    for row in rows:
        params = "no parameters" if row["params"] == 0 else f"{row['params'] / 1e6:.3f} M params"
        if row["trainable_params"] != row["params"]:
            params += f" ({row['trainable_params'] / 1e6:.3f} M trainable)"
        published = (f" (published {row['published_params'] / 1e6:.3f} M, {row['published_params_kind']})"
                     if row.get("published_params") else "")
        switches = f"; switches: {', '.join(row['switches'])}" if row["switches"] else ""
        recipe = f"; recipe {row['recipe']}" if row["recipe"] else ""
        print(f"{row['name']:<16} {row['kind']:<9} {row['system']}: {params}{published}; conditioning "
              f"{row['conditioning']}{recipe}{switches} — {row['paper']}")
    return 0


@command("synth", "write the deterministic synthetic infrared dataset in the standard folder layout")
@arg("--overwrite", action="store_true", help="replace a different synthetic dataset already in --out")
@arg("--size", type=int, default=256, help="image side in pixels (default 256)")
@arg("--seed", type=int, default=0, help="generator seed (default 0)")
@arg("--n", type=int, default=200, help="number of images (default 200)")
@arg("--out", required=True, type=Path, help="output folder")
def cmd_synth(args: argparse.Namespace) -> int:
    from irstd_lib.data.synthetic import write_synthetic_dataset

    out = write_synthetic_dataset(args.out, n=args.n, seed=args.seed, size=args.size, overwrite=args.overwrite)
    print(f"wrote {args.n} synthetic images to {out}")
    return 0


@command("datasets", "check a dataset folder: layout, split lists, sizes, modes, targets, and every flaw named with its file "
                     "(exit 1 on an error, 0 with warnings only); or draw its targets' sizes and local contrast per split")
@arg("--out", type=Path, default=None, help="figure: the PNG to write (default: target_statistics.png here)")
@arg("--splits", nargs="*", default=["trainval", "test"], help="figure: the splits to draw (default: trainval test)")
@options(DATASET_OPTIONS, only=("split_version",),
         split_version=dict(help="figure: version of versioned split lists (SIRST v2: full, v1, ...)"))
@arg("--json", action="store_true", help="print the report as one JSON object")
# The shared --split-dir and --layout, worded for a check of every split list (and in this order).
@options(DATASET_OPTIONS, only=("split_dir",),
         split_dir=dict(help="check only the split lists of this folder (relative to ROOT or absolute)"))
@options(DATASET_OPTIONS, only=("layout",), layout=dict(help="auto, nuaa, irstd1k, nudt, plain, sirst_v2, voc (default: auto)"))
@options(DATASET_OPTIONS, only=("mask_dir",))
@arg("action", choices=["check", "figure"], help="check: report the dataset's contents and flaws; figure: target sizes and "
                                                 "local signal-to-clutter ratio per split (irstd_lib.data.target_stats)")
@arg("root", type=Path, metavar="ROOT", help="dataset root")
def cmd_datasets(args: argparse.Namespace) -> int:
    from irstd_lib.data.check import check_dataset, format_report

    if args.action == "figure":
        return _datasets_figure(args)
    report = check_dataset(args.root, layout=args.layout, split_dir=args.split_dir, mask_dir=args.mask_dir)
    print(json.dumps(report.to_dict(), sort_keys=True) if args.json else format_report(report))
    return report.exit_code


def _datasets_figure(args: argparse.Namespace) -> int:
    import pandas as pd

    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.target_stats import target_statistics
    from irstd_lib.figures import target_statistics_figure
    from irstd_lib.results import save_figure_to

    frames = []
    for split in args.splits:
        # A mask of another size than its image (NUAA-SIRST's Misc_111) is resized, with a warning.
        dataset = IRSTDDataset(args.root, split=split, layout=args.layout, split_dir=args.split_dir,
                               split_version=args.split_version, descriptions=None, on_size_mismatch="resize",
                               mask_dir=args.mask_dir)
        frames.append(target_statistics(dataset).assign(split=split))
    stats = pd.concat(frames, ignore_index=True)
    out = args.out or Path("target_statistics.png")
    save_figure_to(target_statistics_figure(stats, title=f"{args.root.name}: targets per split"), out)
    for split, rows in stats.groupby("split", sort=False):
        print(f"{split}: {len(rows)} targets; area median {rows['area'].median():.0f} px (p25 {rows['area'].quantile(0.25):.0f}, "
              f"p75 {rows['area'].quantile(0.75):.0f}); local SCR median {rows['scr'].median():.2f}")
    print(f"wrote {out}")
    return 0


def _describe_arguments(parser):
    from irstd_lib.text.descriptions import add_describe_arguments

    add_describe_arguments(parser)


@command("describe", "write one description per image (LangIR layout) from a source: files, quadrant, semantic, scene, vlm",
         add_arguments=_describe_arguments)
def _describe(args):
    from irstd_lib.text.descriptions import run_describe

    return run_describe(args)


def _profile_arguments(parser):
    from irstd_lib.benchmarks.model_profile import add_profile_arguments

    add_profile_arguments(parser)


@command("profile", "parameters, FLOPs, latency and training throughput of a registered model", add_arguments=_profile_arguments)
def _profile(args):
    from irstd_lib.benchmarks.model_profile import run_profile

    return run_profile(args)


def _public_metrics(result: dict) -> dict:
    keys = ("IoU", "nIoU", "Pd", "Fa", "hIoU", "Pd_shooting", "Fa_shooting", "n_images")
    return {key: result[key] for key in keys if key in result}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m irstd_lib", description="irstd-lang: language-guided infrared small target detection")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, func) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    from irstd_lib.data.errors import DatasetError
    from irstd_lib.models.weights import CheckpointError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DatasetError, CheckpointError, FileNotFoundError, FileExistsError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
