"""Speed against the field's toolbox (XinyiYing/BasicIRSTD), side by side in one process.

Issue 21 item 5: "the training throughput of ACM and DNA-Net in images per second, this engine
against the toolbox's loop (its loader, its ``Net``, Adam), same batch, crop size and threads; and
the evaluation throughput over the test split", with the outputs compared for the same weights.

Run (the toolbox is a copy of XinyiYing/BasicIRSTD with the CPU patch; nothing of it is part of
this package and nothing is downloaded)::

    OMP_NUM_THREADS=1 python -m irstd_lib.benchmarks.toolbox_speed --toolbox /path/to/BasicIRSTD \\
        --data /path/to/NUAA-SIRST [--models acm dnanet] [--train-images 213] [--eval-images 214]

What is timed, each in this process with ``torch.set_num_threads(--threads)``:

- **toolbox training**: its ``TrainSetLoader`` (``random_crop(..., 256, pos_prob=0.5)`` and its
  flips) in ``DataLoader(batch_size=16, shuffle=True, num_workers=1)`` (``train.py:53`` with its
  ``--threads 1`` default: one worker *process*, which prepares batches while the main process
  computes), its ``Net(model, 'train')`` and its ``SoftIoULoss``, ``torch.optim.Adam(lr=5e-4)``;
  one pass over the first ``--train-images`` training images.
- **engine training**: :class:`~irstd_lib.engine.Trainer.train_one_epoch` of the run config
  :func:`~irstd_lib.runs.toolbox_protocol.toolbox_run_config` builds (the same crop rule, batch
  16, Adam 5e-4, SoftIoU) over the same images, with ``num_workers`` 0 (the recipe's) and 1 (the
  toolbox's; :class:`~irstd_lib.data.transforms.TorchIRSTDDataset` seeds each item from ``(seed,
  epoch, index)``, so the worker count changes no number).
- **toolbox evaluation**: ``test.py``'s loop: ``TestSetLoader`` (whole image, padded to a multiple
  of 32) in a one-worker DataLoader, ``Net(model, 'test')`` under ``no_grad``, crop back,
  ``mIoU().update`` and ``PD_FA().update`` (its ``metrics.py``, skimage ``regionprops``).
- **engine evaluation**: :func:`irstd_lib.engine.evaluate.evaluate` at native size with
  ``policy="pad"`` (IoU, nIoU, Pd, Fa), on the toolbox's weights mapped onto this package's model.

Identity checks (printed): the toolbox's state_dict renamed onto this package's model
(:func:`toolbox_state_to_package`) loads strictly; on the toolbox's own normalised, padded input
tensors the two networks' sigmoid outputs are compared with ``torch.equal``; from the image
files, the largest difference of the scores, the pixels whose ``> 0.5`` decision differs, and both
frameworks' IoU / Pd / Fa (the two normalise in different float32 arithmetic, see
:mod:`irstd_lib.runs.toolbox_protocol`).

Profile of the engine (printed): seconds in data loading alone, forward + loss + backward +
Adam alone, the loss alone, the forward pass at evaluation and the metric pass alone.

``--channels-last`` adds the engine with its ``channels_last`` option (NHWC weights and batches,
:class:`~irstd_lib.engine.TrainConfig`): oneDNN's channels-last kernels, faster on the CPU too,
but other kernels give other roundings (printed as for the default engine: its outputs
``torch.equal`` to the toolbox's on the same input tensors, the largest score difference and the
pixels whose decision moves). It is a runtime
option, outside a run's identity, off on the CPU by default.

Where the time goes (ACM, 1 thread, Intel Xeon with AVX-512, 2026-12-07): of an engine epoch,
about 94 % is the network's forward and backward (``torch.profiler``: convolutions and their
backward 62 %, batch norm 16 %), the same ATen kernels the toolbox calls; loading is 5 % and the
loss under 1 %. Bit for bit the same outputs leave no kernel to change, so the default engine
trains at the toolbox's speed and evaluates faster only by its metric pass and loader.

The toolbox copy needs two lines changed to run here (nothing else): ``net.py`` imports
``skimage.feature.tests.test_orb`` (absent from scikit-image wheels; the import is unused) and
``metrics.py``'s ``PD_FA.get`` calls ``float()`` on a one-element array (an error under numpy 2:
``.item()``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["TOOLBOX_NAMES", "toolbox_state_to_package", "main"]

#: This package's model name -> the toolbox's ``Net`` name.
TOOLBOX_NAMES = {"acm": "ACM", "dnanet": "DNANet"}

_ACM_RULES = (
    (r"^uplayer(\d)\.", r"decoder\1."),
    (r"^layer(\d)\.", r"encoder\1."),
    (r"^deconv(\d)\.", r"upsample\1."),
    (r"\.downsample\.", ".shortcut."),
    (r"\.topdown\.", ".topdown_channel_weights."),
    (r"\.bottomup\.", ".bottomup_pixel_weights."),
    (r"\.post\.", ".merge."),
    (r"^head\.block\.", "head."),
)
_DNANET_RULES = (
    (r"^conv0_4_final\.0\.", "pyramid_fusion.merge."),
    (r"^conv0_(\d)_1x1\.", lambda m: f"pyramid_fusion.projections.{int(m.group(1)) - 1}."),
    (r"^conv(\d)_(\d)\.", r"nodes.\1_\2."),
    (r"\.ca\.fc1\.", ".channel_attention.bottleneck.0."),
    (r"\.ca\.fc2\.", ".channel_attention.bottleneck.2."),
    (r"\.sa\.conv1\.", ".spatial_attention.conv."),
    (r"^final4\.", "head."),
    (r"^final(\d)\.", lambda m: f"side_heads.{int(m.group(1)) - 1}."),
)


def toolbox_state_to_package(model: str, state: dict) -> dict:
    """The toolbox's ``Net(...).model.state_dict()`` (ACM: ``ASKCResUNet``, DNA-Net: ``DNANet``)
    under this package's parameter names (the renaming the models' docstrings list). A
    ``model.``/``module.`` prefix (the toolbox's ``Net`` wrapper, ``DataParallel``) is removed."""
    rules = {"acm": _ACM_RULES, "dnanet": _DNANET_RULES}.get(model)
    if rules is None:
        raise ValueError(f"no toolbox mapping for {model!r}; known: {sorted(TOOLBOX_NAMES)}")
    out = {}
    for key, value in state.items():
        name = re.sub(r"^(module\.)?(model\.)?", "", key)
        for pattern, repl in rules:
            name = re.sub(pattern, repl, name)
        out[name] = value
    return out


@contextlib.contextmanager
def _toolbox_imports(toolbox: Path):
    """The toolbox's top-level modules (``net``, ``dataset``, ``utils``, ``metrics``, ``model``)
    importable, with its folder as working directory (its modules read relative paths)."""
    old_cwd, old_path = os.getcwd(), list(sys.path)
    sys.path.insert(0, str(toolbox))
    os.chdir(toolbox)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path


def _toolbox_dataset_tree(data_root: Path, name: str, where: Path) -> Path:
    """``<where>/<name>/{images, img_idx, masks/<image>.png}`` as the toolbox reads it, by
    symlinks into ``data_root`` (whose masks may be named ``<image>_pixels0.png``)."""
    root = where / name
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for sub in ("images", "img_idx"):
        if not (root / sub).exists():
            (root / sub).symlink_to((data_root / sub).resolve())
    for mask in sorted((data_root / "masks").glob("*.png")):
        stem = mask.stem[: -len("_pixels0")] if mask.stem.endswith("_pixels0") else mask.stem
        link = root / "masks" / f"{stem}.png"
        if not link.exists():
            link.symlink_to(mask.resolve())
    return where


class _First(object):
    """The first ``n`` items of a dataset, keeping its ``set_epoch``."""

    def __init__(self, dataset, n: int):
        self.dataset, self.n = dataset, min(int(n), len(dataset))

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.dataset[i]

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


def _load() -> str:
    try:
        return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load n/a"


def _toolbox_train(tb, name: str, tree: Path, images: int, seed: int):
    import torch

    tb["utils"].seed_pytorch(seed)
    data = tb["dataset"].TrainSetLoader(str(tree), "NUAA-SIRST", 256)
    loader = torch.utils.data.DataLoader(_First(data, images), num_workers=1, batch_size=16, shuffle=True)
    net = tb["net"].Net(TOOLBOX_NAMES[name], "train")
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-4)
    seen, start = 0, time.perf_counter()
    for img, mask in loader:
        if img.shape[0] == 1:  # train.py:99-100
            continue
        loss = net.loss(net(img), mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += int(img.shape[0])
    return seen, time.perf_counter() - start, net


def _engine_trainer(name: str, data_root: Path, images: int, workers: int, checkpoints: Path, channels_last: bool = False):
    from dataclasses import replace

    from irstd_lib.engine import Trainer
    from irstd_lib.runs.data import training_dataset
    from irstd_lib.runs.toolbox_protocol import toolbox_run_config
    from irstd_lib.runs.training import prepare_run

    config = toolbox_run_config(name)
    prep = prepare_run(config, data_root)
    model = prep.build_model({})
    train_data = _First(training_dataset(config, prep.train_set, pad_value=model.input_spec.pad_value), images)
    train_cfg = replace(config.train_config("cpu", False), num_workers=workers, channels_last=channels_last)
    return Trainer(model, train_cfg, train_data, None, checkpoints), prep


def _engine_train(name: str, data_root: Path, images: int, workers: int, checkpoints: Path, channels_last: bool = False):
    trainer, _ = _engine_trainer(name, data_root, images, workers, checkpoints, channels_last)
    start = time.perf_counter()
    out = trainer.train_one_epoch(0)
    return int(out["samples"]), time.perf_counter() - start, trainer


def _engine_profile(name: str, data_root: Path, images: int, checkpoints: Path) -> dict:
    """Seconds of one engine epoch's parts, each alone (loading, step, loss)."""
    import torch

    trainer, _ = _engine_trainer(name, data_root, images, 0, checkpoints)
    loader = trainer._loader(0)
    start = time.perf_counter()
    batches = list(loader)
    loading = time.perf_counter() - start
    trainer.model.train()
    step = loss_only = 0.0
    for batch in batches:
        t0 = time.perf_counter()
        outputs = trainer._forward(batch, "train")
        t1 = time.perf_counter()
        loss, _ = trainer.loss_fn(outputs, batch["mask"])
        t2 = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        trainer.optimizer.step()
        t3 = time.perf_counter()
        step += t3 - t0
        loss_only += t2 - t1
    with torch.no_grad():
        outputs = trainer._forward(batches[0], "train")
        t0 = time.perf_counter()
        for _ in range(5):
            trainer.loss_fn(outputs, batches[0]["mask"])
        loss_fwd = (time.perf_counter() - t0) / 5 * len(batches)
    return {"loading": loading, "forward+loss+backward+adam": step, "loss (in the step)": loss_only,
            "loss forward alone": loss_fwd, "batches": len(batches)}


def _toolbox_eval(tb, name: str, tree: Path, net_state: dict, images: int):
    import numpy as np
    import torch

    data = tb["dataset"].TestSetLoader(str(tree), "NUAA-SIRST", "NUAA-SIRST")
    loader = torch.utils.data.DataLoader(_First(data, images), num_workers=1, batch_size=1, shuffle=False)
    net = tb["net"].Net(TOOLBOX_NAMES[name], "test")
    net.load_state_dict(net_state)
    net.eval()
    iou, pdfa = tb["metrics"].mIoU(), tb["metrics"].PD_FA()
    outputs = {}
    start = time.perf_counter()
    with torch.no_grad():
        for img, gt, size, img_name in loader:
            pred = net(img)
            pred = pred[:, :, : size[0], : size[1]]
            gt = gt[:, :, : size[0], : size[1]]
            iou.update((pred > 0.5).cpu(), gt)
            pdfa.update((pred[0, 0, :, :] > 0.5).cpu(), gt[0, 0, :, :], size)
            outputs[img_name[0]] = (img, pred[0, 0].clone())
    seconds = time.perf_counter() - start
    pd, fa = pdfa.get()
    metrics = {"IoU": 100 * float(iou.get()[1]), "Pd": 100 * float(pd), "Fa": 1e6 * float(np.asarray(fa).item())}
    return len(outputs), seconds, metrics, outputs, net


def _engine_eval(model, data_root: Path, images: int):
    from irstd_lib.engine.evaluate import evaluate, predict_scores
    from irstd_lib.runs.data import open_split
    from irstd_lib.runs.toolbox_protocol import toolbox_run_config

    config = toolbox_run_config("acm")
    test_set = open_split(config.data, data_root, config.data.test_split)
    subset = _First(test_set, images)
    start = time.perf_counter()
    result = evaluate(model, subset, size=None, policy="pad")
    seconds = time.perf_counter() - start
    scores = {sample.name: s for sample, s in predict_scores(model, subset, None, "pad")}
    return len(subset), seconds, result["metrics"], scores, subset


def _metric_pass(subset, scores) -> float:
    import numpy as np

    from irstd_lib.metrics import SegmentationMetrics

    metric = SegmentationMetrics(threshold=0.5)
    start = time.perf_counter()
    for i in range(len(subset)):
        sample = subset[i]
        metric.update(scores[sample.name] > 0.5, np.asarray(sample.mask, dtype=bool))
    metric.compute()
    return time.perf_counter() - start


def _identity(model, out_tb: dict, scores: dict, memory_format=None):
    """How close ``model`` comes to the toolbox's outputs ``out_tb`` (name -> (its input tensor,
    its score map)): ``(outputs torch.equal on the toolbox's own input tensors, largest score
    difference from the engine's maps ``scores`` read from the files, pixels whose > 0.5 decision
    differs, pixels compared, images of another size)``; ``memory_format`` lays the inputs out as
    the model's weights are."""
    import numpy as np
    import torch

    equal = 0
    with torch.no_grad():
        for img, pred_tb in out_tb.values():
            out = model(img if memory_format is None else img.contiguous(memory_format=memory_format), None)
            logits = out["logits"] if isinstance(out, dict) else out
            ours = torch.sigmoid(logits.float())[0, 0, : pred_tb.shape[0], : pred_tb.shape[1]]
            equal += bool(torch.equal(ours, pred_tb))
    diffs, flips, pixels = [], 0, 0
    for img_name, (_, pred_tb) in out_tb.items():
        a, b = pred_tb.numpy(), scores[img_name]
        if a.shape != b.shape:
            diffs.append(float("nan"))
            continue
        diffs.append(float(np.abs(a - b).max()))
        flips += int(((a > 0.5) != (b > 0.5)).sum())
        pixels += a.size
    return equal, float(np.nanmax(diffs)), flips, pixels, int(sum(np.isnan(diffs)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolbox", required=True, help="folder of a CPU-patched copy of XinyiYing/BasicIRSTD")
    parser.add_argument("--data", required=True, help="NUAA-SIRST folder (images/, masks/, img_idx/)")
    parser.add_argument("--models", nargs="+", default=["acm", "dnanet"], choices=sorted(TOOLBOX_NAMES))
    parser.add_argument("--train-images", type=int, default=213, help="training images per timed pass (213: one epoch)")
    parser.add_argument("--dnanet-train-images", type=int, default=64, help="the same for DNA-Net (slow on CPU)")
    parser.add_argument("--eval-images", type=int, default=214, help="test images timed (214: the toolbox's test list)")
    parser.add_argument("--dnanet-eval-images", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engine-workers", type=int, nargs="+", default=[0, 1],
                        help="DataLoader workers of the engine's timed passes (0: the recipe's; 1: the toolbox's)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--channels-last", action="store_true",
                        help="also time the engine with channels_last (NHWC) weights and batches: other oneDNN kernels, "
                             "so other numbers (the deviation from the toolbox's outputs is printed)")
    args = parser.parse_args(argv)

    import importlib

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    toolbox, data_root = Path(args.toolbox).resolve(), Path(args.data).resolve()
    for need in ("net.py", "dataset.py", "metrics.py", "utils.py"):
        if not (toolbox / need).is_file():
            raise SystemExit(f"{toolbox}: not a BasicIRSTD folder ({need} missing)")
    if not (data_root / "img_idx" / "test_NUAA-SIRST.txt").is_file():
        raise SystemExit(f"{data_root}: no img_idx/test_NUAA-SIRST.txt (the toolbox's split)")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, toolbox {toolbox}, {_load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, _toolbox_imports(toolbox):
        tree = _toolbox_dataset_tree(data_root, "NUAA-SIRST", Path(tmp) / "datasets")
        tb = {m: importlib.import_module(m) for m in ("utils", "dataset", "metrics", "net")}
        for name in args.models:
            n_train = args.dnanet_train_images if name == "dnanet" else args.train_images
            n_eval = args.dnanet_eval_images if name == "dnanet" else args.eval_images
            print(f"\n== {name}: training, {n_train} images, batch 16, crop 256 ==", flush=True)
            seen_t, sec_t, net = _toolbox_train(tb, name, tree, n_train, args.seed)
            print(f"toolbox  loop (num_workers=1)  {seen_t / sec_t:7.2f} img/s  ({seen_t} images, {sec_t:.1f} s; {_load()})",
                  flush=True)
            engine_rates = {}
            for workers in args.engine_workers:
                seen_e, sec_e, _ = _engine_train(name, data_root, n_train, workers, Path(tmp) / f"ck_{name}_{workers}")
                engine_rates[workers] = seen_e / sec_e
                print(f"engine   loop (num_workers={workers})  {seen_e / sec_e:7.2f} img/s  ({seen_e} images, {sec_e:.1f} s; "
                      f"{_load()})  ratio {engine_rates[workers] / (seen_t / sec_t):.2f}x", flush=True)
            if args.channels_last:
                seen_c, sec_c, _ = _engine_train(name, data_root, n_train, 0, Path(tmp) / f"ck_{name}_cl", channels_last=True)
                print(f"engine   loop (num_workers=0, channels_last)  {seen_c / sec_c:7.2f} img/s  ({seen_c} images, {sec_c:.1f} s; "
                      f"{_load()})  ratio {(seen_c / sec_c) / (seen_t / sec_t):.2f}x (other kernels: see the identity line below)",
                      flush=True)
            if not args.no_profile:
                prof = _engine_profile(name, data_root, n_train, Path(tmp) / f"ck_{name}_p")
                print("engine profile (s, one pass, num_workers=0): "
                      + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in prof.items()), flush=True)

            print(f"\n== {name}: evaluation, {n_eval} test images, whole image padded to 32, > 0.5 ==", flush=True)
            state = net.state_dict()
            n_tb, sec_tb, m_tb, out_tb, net_test = _toolbox_eval(tb, name, tree, state, n_eval)
            print(f"toolbox  test loop   {n_tb / sec_tb:7.2f} img/s  ({sec_tb:.1f} s; {_load()})  IoU {m_tb['IoU']:.4f} "
                  f"Pd {m_tb['Pd']:.4f} Fa {m_tb['Fa']:.4f}", flush=True)
            from irstd_lib.models import build_model

            model = build_model(name)
            missing = model.load_state_dict(toolbox_state_to_package(name, net_test.model.state_dict()), strict=True)
            model.eval()
            n_en, sec_en, m_en, scores, subset = _engine_eval(model, data_root, n_eval)
            print(f"engine   evaluate    {n_en / sec_en:7.2f} img/s  ({sec_en:.1f} s; {_load()})  IoU {m_en['IoU']:.4f} "
                  f"Pd {m_en['Pd']:.4f} Fa {m_en['Fa']:.4f}  ratio {(n_en / sec_en) / (n_tb / sec_tb):.2f}x", flush=True)
            equal, max_diff, flips, pixels, other_size = _identity(model, out_tb, scores)
            print(f"identity: state_dict mapped strictly ({missing}); same input tensor: {equal}/{len(out_tb)} outputs "
                  f"torch.equal; from the files: max |score diff| {max_diff:.3g}, {flips} of {pixels} pixels "
                  f"change their > 0.5 decision, {other_size} images of another size", flush=True)
            if args.channels_last:
                import copy

                model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
                n_cl, sec_cl, m_cl, scores_cl, _ = _engine_eval(model_cl, data_root, n_eval)
                cl_equal, cl_diff, cl_flips, _, _ = _identity(model_cl, out_tb, scores_cl, torch.channels_last)
                print(f"engine   evaluate, channels_last  {n_cl / sec_cl:7.2f} img/s  ({sec_cl:.1f} s; {_load()})  IoU "
                      f"{m_cl['IoU']:.4f} Pd {m_cl['Pd']:.4f} Fa {m_cl['Fa']:.4f}  ratio {(n_cl / sec_cl) / (n_tb / sec_tb):.2f}x; "
                      f"same input tensor: {cl_equal}/{len(out_tb)} outputs torch.equal; from the files: max |score diff| "
                      f"{cl_diff:.3g}, {cl_flips} pixels change their > 0.5 decision", flush=True)
            if not args.no_profile:
                metric_s = _metric_pass(subset, scores)
                print(f"engine profile: metric pass alone {metric_s:.2f} s of {sec_en:.1f} s ({n_en} images)", flush=True)


if __name__ == "__main__":
    main()
