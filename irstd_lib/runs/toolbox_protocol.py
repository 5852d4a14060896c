"""The BasicIRSTD toolbox's protocol (XinyiYing/BasicIRSTD) as one name: ``data.train_policy =
"basicirstd_toolbox"``.

That name selects the toolbox's crop sampler (:class:`~irstd_lib.data.transforms.BasicIRSTDCrop`)
and its training recipe (``basicirstd_toolbox``, :mod:`irstd_lib.engine.recipes`); the rest of the
protocol is data settings, which :func:`toolbox_run_config` fills in (and
``notebooks/configs/acm_toolbox_nuaa.json`` spells out)::

    python -m irstd_lib train --config notebooks/configs/acm_toolbox_nuaa.json --data <NUAA-SIRST>

What it is, with the toolbox's code (HEAD 95650c3 unless another commit is named):

- images: read as the toolbox reads them (``convert('I')``): on this project's NUAA-SIRST copy
  (427 images: 379 RGB, 28 L, 15 RGBA, 5 P) the package's reader times 255 equals
  ``np.array(Image.open(p).convert('I'))`` exactly for every image;
- split: ``img_idx/train_<name>.txt`` / ``img_idx/test_<name>.txt`` (``dataset.py:15-16, 48-49``,
  read with ``f.read().splitlines()``; CRLF lines read the same here), i.e. ``split_dir="img_idx"``,
  ``split_version=<name>``, ``train_split="train"``, ``test_split="test"`` (NUAA-SIRST: 213 / 214);
- normalisation ``(img - mean) / std`` on 0-255 with the toolbox's constants for the dataset
  (:func:`~irstd_lib.data.normalisation.basicirstd_statistics`; NUAA-SIRST: ``mean=101.06385040283203,
  std=34.619606018066406``, ``utils.py:97-98``), done by the model's input spec (ACM's
  ``input_mean``/``input_std``, whose defaults are NUAA-SIRST's);
- training: 256 x 256 crops, padded bottom/right with 0 after normalisation, holding a target
  with probability 0.5 (``random_crop(img, mask, self.patch_size, pos_prob=0.5)``), vertical and
  horizontal flips and transpose; Adam 5e-4, MultiStepLR [200, 300] **gamma 0.1** (``train.py:81``
  overrides the ``--gamma`` default 0.5), 400 epochs, batch 16 with the last incomplete batch kept,
  SoftIoU over the batch (smooth 1) on the sigmoid of the model's output;
- test: whole images padded bottom/right to a multiple of 32 with 0 after normalisation
  (``PadImg(img, times=32)``), the prediction cropped back (``pred[:, :, :h, :w]``), ``pred > 0.5``,
  the weights of the last epoch (``ACM_400.pth.tar``). IoU is accumulated over the test set, Pd
  by centroid distance < 3 (8-connected), Fa over all test pixels (:mod:`irstd_lib.metrics`); the
  run records the correct Fa, which is the toolbox's count from 6576e62 on; the by-value count of
  the toolbox's code up to b75ecc8 is ``fa_mode="basicirstd_b75ecc8"`` of
  :class:`~irstd_lib.metrics.SegmentationMetrics` (``evaluate(..., fa_mode=...)``).

``"basicirstd_toolbox_251003a"`` is the same protocol with the **uniform** crop of the code that
produced the toolbox's published ACM / NUAA-SIRST row (69.44 IoU, 92.02 Pd, 22.71 Fa; log
``NUAA-SIRST_ACM_Mon_Jul_17_17_48_49_2023.txt``, trained at 251003a, whose ``dataset.py:34`` calls
``random_crop(img, mask, self.patch_size)``); HEAD's target-biased sampler (the default here, as
the toolbox's current code) came in 2024 and has no published number of its own.

Where this engine does not do what the toolbox does (so the same seed does not give the
toolbox's numbers, only the same protocol):

- random streams: the toolbox draws its crops and flips from Python ``random`` in its one
  DataLoader worker, which torch reseeds every epoch from the main process's generator (after the
  model's initialisation and every earlier epoch's shuffle; its in-training test every 50 epochs
  draws from it too); here each item's draws come from ``numpy`` seeded by ``(seed, epoch,
  index)`` and the shuffle from ``SeedSequence([seed, epoch])`` (:mod:`irstd_lib.engine.trainer`);
- initialisation: the model is built after ``torch.manual_seed(seed)`` by this package's module
  (the same layers and PyTorch's default initialisation; whether its draws come in the toolbox's
  order is not checked, so the initial weights for one seed may differ);
- BatchNorm: ACM's ``momentum=0.9`` quirk (PyTorch semantics) is kept by the model
  (``bn_momentum``); the toolbox skips batches of one sample (``train.py:99-100``), which never
  occur with 213 images and batch 16; here :class:`~irstd_lib.models.layers.ChannelBatchNorm`
  would train on them;
- normalisation arithmetic: the toolbox computes ``(I - 101.06385) / 34.6196`` in float32 on 0-255;
  here ``(I/255 - m/255) / (s/255)`` in float32, equal to about 1e-6;
- masks whose size differs from their image (NUAA-SIRST ``Misc_111``, a test image: mask 592 x 400,
  image 325 x 220) are resized to the image by nearest neighbour (``on_size_mismatch="resize"``);
  the toolbox pads both separately and scores the mask's top-left 220 x 325 part;
- the toolbox's in-training tests every 50 epochs are not run (they change no weights).
"""

from __future__ import annotations

from typing import Any

from irstd_lib.runs.config import RunConfig

__all__ = ["TOOLBOX_POLICY", "TOOLBOX_POLICY_251003A", "TOOLBOX_SEED", "toolbox_data", "toolbox_run_config"]

TOOLBOX_POLICY = "basicirstd_toolbox"  # HEAD 95650c3's sampler (target crop with probability 0.5)
TOOLBOX_POLICY_251003A = "basicirstd_toolbox_251003a"  # the uniform crop behind the published numbers
TOOLBOX_SEED = 42  # train.py:39, --seed default 42


def toolbox_data(dataset: str = "NUAA-SIRST", policy: str = TOOLBOX_POLICY) -> dict[str, Any]:
    """The protocol's ``data`` settings for a dataset in the toolbox's layout (``img_idx/``)."""
    if policy not in (TOOLBOX_POLICY, TOOLBOX_POLICY_251003A):
        raise ValueError(f"policy must be {TOOLBOX_POLICY!r} or {TOOLBOX_POLICY_251003A!r}, got {policy!r}")
    return {"dataset": dataset, "split_dir": "img_idx", "split_version": dataset, "train_split": "train",
            "test_split": "test", "on_size_mismatch": "resize", "train_size": 256, "eval_size": None,
            "eval_policy": "pad", "train_policy": policy}


def toolbox_run_config(model: str = "acm", dataset: str = "NUAA-SIRST", seed: int = TOOLBOX_SEED,
                       policy: str = TOOLBOX_POLICY, model_kwargs: dict | None = None, train: dict | None = None,
                       profile: str = "toolbox") -> RunConfig:
    """A run of ``model`` under the toolbox's protocol. ``model_kwargs`` should carry the
    dataset's normalisation (``input_mean``/``input_std`` from
    :func:`~irstd_lib.data.normalisation.basicirstd_statistics`) for datasets other than
    NUAA-SIRST, whose constants are ACM's defaults; ``train`` overrides the recipe
    (e.g. fewer epochs)."""
    return RunConfig(model=model, model_kwargs=dict(model_kwargs or {}), data=toolbox_data(dataset, policy),
                     train=dict(train or {}), seed=int(seed), profile=profile)
