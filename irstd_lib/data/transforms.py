"""From dataset samples to tensors: evaluation preparation, training augmentation, torch Dataset.

Evaluation (metrics are computed at each image's native size):

- :func:`prepare_eval_image` turns an ``H x W`` float32 image into a ``(1, H', W')`` tensor plus a
  :class:`RestoreInfo`; :func:`restore_scores` maps the model's ``H' x W'`` score map back to
  ``H x W``. Policies:

  - ``"resize"``: to ``size x size`` with bilinear interpolation (``torch`` ``interpolate``,
    ``align_corners=False``, no antialiasing, i.e. what ``cv2.resize(..., INTER_LINEAR)`` does);
    scores are restored with the same bilinear interpolation back to ``H x W``.
  - ``"pad"``: pad bottom and right to the next multiple of ``size`` (or of 32 when ``size``
    is None), as BasicIRSTD does at test time; scores are restored by cropping, exactly. The pad
    value is 0 unless given: the evaluator passes the model's input mean, so that padded pixels
    reach a normalising model as 0, as BasicIRSTD pads its normalised images with zeros.
  - ``"none"``: the image as it is (the model must accept any size).

Training (:class:`TrainTransform`), applied identically to image and mask, deterministic given
the ``numpy.random.Generator`` passed in:

1. random scale ``s ~ U(scale_range)`` of the native image (bilinear for the image, nearest for
   the mask, output size ``round(H s) x round(W s)``; a very small target can vanish when
   ``s < 1``, as in every nearest-neighbour pipeline);
2. pad bottom/right (with ``pad_value``, default 0: the run layer passes the model's input mean,
   as for evaluation) when a side is smaller than ``size``;
3. a ``size x size`` crop. With probability ``target_crop_prob`` (default 0.5) and when the mask
   has a target, the crop is drawn uniformly among those that contain one target pixel chosen
   uniformly at random; otherwise it is uniform over the image. Why: infrared small targets
   cover ~0.01-0.1 % of a frame, so most uniform crops of a large image hold no target at all
   and the network would mostly learn "background". 0.5 keeps half of the crops unbiased, so the
   background statistics (false alarms) are still learnt;
4. horizontal flip (p = 0.5, if ``hflip``), vertical flip (p = 0.5, if ``vflip``) and transpose
   (p = 0.5, if ``transpose``).

Random numbers are always drawn in the same order (scale, crop, hflip, vflip, transpose), so a
given generator state gives the same result whatever the flags.

:class:`BasicIRSTDCrop` is the BasicIRSTD toolbox's own training sampler (``random_crop`` and
``augumentation``, its ``utils.py`` and ``dataset.py``), for the protocol
``data.train_policy="basicirstd_toolbox"`` (:mod:`irstd_lib.runs.toolbox_protocol`): no rescaling,
fixed-size crops, the toolbox's crop ranges, vertical flip, horizontal flip and transpose.

:class:`TorchIRSTDDataset` wraps an :class:`~irstd_lib.data.IRSTDDataset` for
``torch.utils.data.DataLoader``: each item's generator is seeded from ``(seed, epoch, index)``,
so results do not depend on worker count or order. ``set_epoch`` must be called in the process
that owns the dataset object: with ``persistent_workers=True`` the workers keep the epoch they
were started with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "EVAL_POLICIES",
    "BASICIRSTD_CROP_POLICIES",
    "RestoreInfo",
    "prepare_eval_image",
    "restore_scores",
    "resize_image",
    "resize_mask",
    "TrainTransform",
    "BasicIRSTDCrop",
    "TorchIRSTDDataset",
    "gray_to_rgb",
]

EVAL_POLICIES = ("resize", "pad", "none")
#: The toolbox protocol's training policies (``DataConfig.train_policy``) -> their
#: :class:`BasicIRSTDCrop` ``target_crop_prob``: HEAD 95650c3's sampler, and the uniform crop of
#: 251003a, the code behind the toolbox's published ACM row.
BASICIRSTD_CROP_POLICIES = {"basicirstd_toolbox": 0.5, "basicirstd_toolbox_251003a": None}
#: BasicIRSTD pads test images to a multiple of 32 (five 2x downsamplings).
DEFAULT_PAD_MULTIPLE = 32


def _as_tensor_2d(x: np.ndarray | torch.Tensor, what: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() != 2:
        raise ValueError(f"{what} must be H x W, got shape {tuple(t.shape)}")
    return t


def _image_and_mask(image, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """A training sample's image and mask as float32 tensors of one size (else a clear error)."""
    img = _as_tensor_2d(image, "image").to(torch.float32)
    msk = _as_tensor_2d(mask, "mask").to(torch.float32)
    if img.shape != msk.shape:
        raise ValueError(f"image {tuple(img.shape)} and mask {tuple(msk.shape)} differ in size")
    return img, msk


def resize_image(image: np.ndarray | torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinear resize of an ``H x W`` image to ``height x width`` (float32 tensor, no antialias)."""
    t = _as_tensor_2d(image, "image").to(torch.float32)
    if tuple(t.shape) == (height, width):
        return t.clone()
    out = F.interpolate(t[None, None], size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0]


def resize_mask(mask: np.ndarray | torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Nearest-neighbour resize (``nearest-exact``, pixel centres as PIL does) of an ``H x W`` mask,
    returned as a float32 {0, 1} tensor."""
    t = _as_tensor_2d(mask, "mask").to(torch.float32)
    if tuple(t.shape) == (height, width):
        return t.clone()
    out = F.interpolate(t[None, None], size=(height, width), mode="nearest-exact")
    return out[0, 0]


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreInfo:
    """How an image was prepared, to map score maps back to its native size."""

    policy: str
    native_size: tuple[int, int]  # (H, W) of the original image
    input_size: tuple[int, int]  # (H', W') of the tensor given to the model


def prepare_eval_image(
    image: np.ndarray | torch.Tensor, size: int | None, policy: str, pad_value: float = 0.0
) -> tuple[torch.Tensor, RestoreInfo]:
    """``H x W`` image -> ``(1, H', W')`` float32 tensor and the :class:`RestoreInfo` to undo it."""
    if policy not in EVAL_POLICIES:
        raise ValueError(f"policy must be one of {EVAL_POLICIES}, got {policy!r}")
    t = _as_tensor_2d(image, "image").to(torch.float32)
    h, w = int(t.shape[0]), int(t.shape[1])
    if policy == "resize":
        if size is None or int(size) < 1:
            raise ValueError("policy 'resize' needs a positive size")
        out = resize_image(t, int(size), int(size))
    elif policy == "pad":
        m = DEFAULT_PAD_MULTIPLE if size is None else int(size)
        if m < 1:
            raise ValueError(f"pad multiple must be positive, got {size}")
        ph, pw = math.ceil(h / m) * m, math.ceil(w / m) * m
        out = F.pad(t, (0, pw - w, 0, ph - h), value=float(pad_value))
    else:
        out = t.clone()
    out = out.contiguous()
    return out[None], RestoreInfo(policy, (h, w), (int(out.shape[0]), int(out.shape[1])))


def restore_scores(scores: np.ndarray | torch.Tensor, info: RestoreInfo) -> np.ndarray:
    """Map an ``H' x W'`` score map (leading singleton dims allowed) back to native ``H x W``."""
    t = scores.detach() if isinstance(scores, torch.Tensor) else torch.as_tensor(np.asarray(scores))
    t = t.to(device="cpu", dtype=torch.float32)
    while t.dim() > 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 2 or tuple(t.shape) != tuple(info.input_size):
        raise ValueError(
            f"scores have shape {tuple(scores.shape)}, expected {info.input_size} "
            f"(the prepared input size, policy {info.policy!r})"
        )
    h, w = info.native_size
    if info.policy == "resize":
        out = resize_image(t, h, w)
    elif info.policy == "pad":
        out = t[:h, :w]
    else:
        out = t
    return np.ascontiguousarray(out.numpy(), dtype=np.float32)


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
class TrainTransform:
    """Random scale, pad, target-biased crop, flips and transpose (see module docstring).

    Called as ``t(image HxW float, mask HxW bool, rng) -> (image (1,S,S), mask (1,S,S))``, both
    float32 tensors, the mask in {0, 1}.
    """

    def __init__(
        self,
        size: int,
        scale_range: tuple[float, float] = (0.5, 2.0),
        hflip: bool = True,
        vflip: bool = False,
        transpose: bool = True,
        target_crop_prob: float = 0.5,
        pad_value: float = 0.0,
    ):
        if int(size) < 1:
            raise ValueError(f"size must be positive, got {size}")
        lo, hi = float(scale_range[0]), float(scale_range[1])
        if not 0 < lo <= hi:
            raise ValueError(f"scale_range must satisfy 0 < low <= high, got {scale_range}")
        if not 0.0 <= target_crop_prob <= 1.0:
            raise ValueError(f"target_crop_prob must be in [0, 1], got {target_crop_prob}")
        self.size = int(size)
        self.scale_range = (lo, hi)
        self.hflip = bool(hflip)
        self.vflip = bool(vflip)
        self.transpose = bool(transpose)
        self.target_crop_prob = float(target_crop_prob)
        self.pad_value = float(pad_value)

    def __repr__(self) -> str:
        return (
            f"TrainTransform(size={self.size}, scale_range={self.scale_range}, hflip={self.hflip}, "
            f"vflip={self.vflip}, transpose={self.transpose}, "
            f"target_crop_prob={self.target_crop_prob}, pad_value={self.pad_value})"
        )

    def __call__(
        self, image: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        img, msk = _image_and_mask(image, mask)
        s = self.size

        # 1. scale
        scale = float(rng.uniform(*self.scale_range))
        h = max(1, int(round(img.shape[0] * scale)))
        w = max(1, int(round(img.shape[1] * scale)))
        img = resize_image(img, h, w)
        msk = resize_mask(msk, h, w)

        # 2. pad bottom/right
        ph, pw = max(0, s - h), max(0, s - w)
        if ph or pw:
            img = F.pad(img, (0, pw, 0, ph), value=self.pad_value)
            msk = F.pad(msk, (0, pw, 0, ph), value=0.0)
        H, W = int(img.shape[0]), int(img.shape[1])

        # 3. crop (draws: one uniform for the bias, then a target pixel or nothing, then origin)
        biased = rng.random() < self.target_crop_prob
        positives = torch.nonzero(msk > 0.5) if biased else None
        if positives is not None and len(positives) > 0:
            k = int(rng.integers(len(positives)))
            ty, tx = int(positives[k, 0]), int(positives[k, 1])
            y0 = int(rng.integers(max(0, ty - s + 1), min(ty, H - s) + 1))
            x0 = int(rng.integers(max(0, tx - s + 1), min(tx, W - s) + 1))
        else:
            y0 = int(rng.integers(0, H - s + 1))
            x0 = int(rng.integers(0, W - s + 1))
        img = img[y0:y0 + s, x0:x0 + s]
        msk = msk[y0:y0 + s, x0:x0 + s]

        # 4. flips and transpose (three draws always, whatever the flags)
        do_h, do_v, do_t = (rng.random(3) < 0.5).tolist()
        if self.hflip and do_h:
            img, msk = img.flip(1), msk.flip(1)
        if self.vflip and do_v:
            img, msk = img.flip(0), msk.flip(0)
        if self.transpose and do_t:
            img, msk = img.t(), msk.t()
        return img.contiguous()[None], (msk > 0.5).to(torch.float32).contiguous()[None]


class BasicIRSTDCrop:
    """The BasicIRSTD toolbox's training crop and augmentation, transcribed from its code.

    At HEAD 95650c3 (``dataset.py:35``: ``random_crop(img, mask, self.patch_size, pos_prob=0.5)``;
    ``utils.py:63-88``; ``dataset.py:140-151``), applied identically to image and mask:

    1. pad: ``if min(h, w) < patch_size`` pad the bottom/right of both dimensions with a
       constant up to ``max(h, patch_size) x max(w, patch_size)`` (``np.pad(..., mode='constant')``,
       i.e. 0 on the *normalised* image: ``pad_value`` here is the model's input mean, which its
       normalisation maps to 0, as :class:`TrainTransform` does);
    2. ``cur_prob = random.random()``; ``if pos_prob == None or cur_prob > pos_prob or
       mask.max() == 0`` a uniform crop, ``h_start = random.randint(0, h - patch_size)`` (both ends
       inclusive), the same for ``w``; otherwise one foreground pixel ``(y, x)`` of
       ``np.where(mask > 0)`` chosen uniformly (so targets are weighted by their area) and
       ``h_start = random.randint(max(0, y - patch_size), min(y, h - patch_size))``, the same for
       ``w``. The toolbox's range starts at ``y - patch_size``, which puts the pixel in row
       ``patch_size``, one past the crop: kept, so a "target" crop misses its pixel with
       probability about 1/257 per axis when the range is not clipped;
    3. ``augumentation``, each with probability 0.5 and in this order: vertical flip
       (``[::-1, :]``), horizontal flip (``[:, ::-1]``), transpose.

    ``target_crop_prob=None`` is the uniform crop of the code that produced the toolbox's
    published ACM row (251003a, 2023-07-14, ``dataset.py:34``: ``random_crop(img, mask,
    self.patch_size)``, no ``pos_prob``; the target-biased sampler came in 2024: 9abeaae,
    09047ea, 65b0e16).

    Where this differs from the toolbox (the engine's design, not fixable here): the draws come
    from the ``numpy.random.Generator`` the dataset seeds per ``(seed, epoch, index)``, not from
    Python ``random`` inside the toolbox's single DataLoader worker (which torch reseeds at each
    epoch from the main process's generator), so the same seed gives other crops; ``cur_prob`` is
    drawn in both modes (the 2023 code drew none), which changes no distribution. Draw order:
    ``cur_prob``, [pixel, ``h_start``, ``w_start``] or [``h_start``, ``w_start``], vflip, hflip,
    transpose.

    Called as ``t(image HxW, mask HxW, rng) -> (image (1,S,S), mask (1,S,S))`` float32 tensors,
    the mask in {0, 1}.
    """

    def __init__(self, size: int = 256, target_crop_prob: float | None = 0.5, pad_value: float = 0.0,
                 flips: bool = True):
        if int(size) < 1:
            raise ValueError(f"size must be positive, got {size}")
        if target_crop_prob is not None and not 0.0 <= float(target_crop_prob) <= 1.0:
            raise ValueError(f"target_crop_prob must be None or in [0, 1], got {target_crop_prob}")
        self.size = int(size)
        self.target_crop_prob = None if target_crop_prob is None else float(target_crop_prob)
        self.pad_value = float(pad_value)
        self.flips = bool(flips)  # False only to inspect crops in tests; the toolbox always flips

    def __repr__(self) -> str:
        return (f"BasicIRSTDCrop(size={self.size}, target_crop_prob={self.target_crop_prob}, "
                f"pad_value={self.pad_value}, flips={self.flips})")

    def crop_origin(self, mask: torch.Tensor, rng: np.random.Generator) -> tuple[int, int]:
        """``(h_start, w_start)`` of the crop of an already padded mask (the toolbox's step 2)."""
        s = self.size
        H, W = int(mask.shape[0]), int(mask.shape[1])
        cur_prob = float(rng.random())
        p = self.target_crop_prob
        loc = None if p is None or cur_prob > p else torch.nonzero(mask > 0)  # row-major, as np.where
        if loc is None or len(loc) == 0:  # the toolbox: ... or mask.max() == 0
            return int(rng.integers(0, H - s + 1)), int(rng.integers(0, W - s + 1))
        idx = 0 if len(loc) <= 1 else int(rng.integers(0, len(loc)))
        y, x = int(loc[idx, 0]), int(loc[idx, 1])
        return (int(rng.integers(max(0, y - s), min(y, H - s) + 1)),
                int(rng.integers(max(0, x - s), min(x, W - s) + 1)))

    def __call__(
        self, image: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        img, msk = _image_and_mask(image, mask)
        s = self.size
        h, w = int(img.shape[0]), int(img.shape[1])
        if min(h, w) < s:
            ph, pw = max(h, s) - h, max(w, s) - w
            img = F.pad(img, (0, pw, 0, ph), value=self.pad_value)
            msk = F.pad(msk, (0, pw, 0, ph), value=0.0)
        y0, x0 = self.crop_origin(msk, rng)
        img = img[y0:y0 + s, x0:x0 + s]
        msk = msk[y0:y0 + s, x0:x0 + s]
        do_v, do_h, do_t = (rng.random(3) < 0.5).tolist()
        if self.flips:
            if do_v:
                img, msk = img.flip(0), msk.flip(0)
            if do_h:
                img, msk = img.flip(1), msk.flip(1)
            if do_t:
                img, msk = img.t(), msk.t()
        return img.contiguous()[None], (msk > 0.5).to(torch.float32).contiguous()[None]


# --------------------------------------------------------------------------------------------
# torch Dataset
# --------------------------------------------------------------------------------------------
class _SampleLike(Protocol):
    name: str
    image: np.ndarray
    mask: np.ndarray
    description: str | None


class TorchIRSTDDataset(torch.utils.data.Dataset):
    """A ``torch`` Dataset over an :class:`~irstd_lib.data.IRSTDDataset` (or any sequence of
    samples with ``name``, ``image``, ``mask``, ``description``).

    Items: ``{"image": (1,S,S) float32 in [0,1], "mask": (1,S,S) float32 {0,1}, "name": str,
    "index": int, "description": str ("" when the dataset has none), "height": int, "width": int}``
    (``height``/``width`` are the native size).

    - with ``transform``: ``transform(image, mask, rng)`` with ``rng`` seeded from
      ``(seed, epoch, index)``;
    - without transform and with ``size``: image resized bilinearly and mask by nearest
      neighbour to ``size x size`` (eval-style batches, e.g. validation loss; metrics should be
      computed at native size with :func:`prepare_eval_image` / :func:`restore_scores`);
    - with neither: native size (batch size 1, or a collate that handles sizes).
    """

    def __init__(
        self,
        dataset: Sequence[Any],
        transform: Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[torch.Tensor, torch.Tensor]] | None = None,
        size: int | None = None,
        seed: int = 0,
    ):
        self.dataset = dataset
        self.transform = transform
        self.size = None if size is None else int(size)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def rng_for(self, index: int) -> np.random.Generator:
        """The generator used for item ``index`` in the current epoch."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, int(index)]))

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.dataset[index]
        h, w = sample.image.shape
        if self.transform is not None:
            image, mask = self.transform(sample.image, sample.mask, self.rng_for(index))
        elif self.size is not None:
            image = resize_image(sample.image, self.size, self.size)[None]
            mask = resize_mask(sample.mask, self.size, self.size)[None]
        else:
            image = torch.as_tensor(np.asarray(sample.image, dtype=np.float32))[None].clone()
            mask = torch.as_tensor(np.asarray(sample.mask)).to(torch.float32)[None]
        return {
            "image": image.to(torch.float32),
            "mask": mask.to(torch.float32),
            "name": sample.name,
            "index": int(index),
            "description": sample.description or "",
            "height": int(h),
            "width": int(w),
        }


def gray_to_rgb(x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Repeat the channel axis: ``(..., 1, H, W) -> (..., 3, H, W)`` (a copy, not a view).

    An input that already has 3 channels is returned unchanged; any other channel count is an
    error. Works on tensors and numpy arrays.
    """
    if x.ndim < 3:
        raise ValueError(f"expected (..., 1, H, W), got shape {tuple(x.shape)}")
    c = x.shape[-3]
    if c == 3:
        return x
    if c != 1:
        raise ValueError(f"expected 1 channel at dim -3, got {c} (shape {tuple(x.shape)})")
    if isinstance(x, torch.Tensor):
        reps = [1] * (x.dim() - 3) + [3, 1, 1]
        return x.repeat(*reps)
    return np.repeat(x, 3, axis=-3)
