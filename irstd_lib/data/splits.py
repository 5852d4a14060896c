"""Split schemes besides the lists a dataset ships with.

- ``"standard"``: the dataset's own lists (NUAA-SIRST's ``idx_427``, IRSTD-1k's ``trainval.txt`` /
  ``test.txt``...), what the field compares on;
- ``"saist_50_30_20"``: SAIST's protocol (4.1: "For each dataset, we split the images into three
  disjoint subsets: 50% for training, 30% for validation, and 20% for testing"): the dataset's
  whole list shuffled with a seed and cut in those proportions. A run under it trains on
  ``train``, chooses its checkpoint on ``val`` and is tested on ``test``
  (:data:`SCHEME_SPLITS`; :mod:`irstd_lib.runs.training`).

The partition's seed is its own (``DataConfig.split_seed``, :data:`DEFAULT_SPLIT_SEED` unless a
config says otherwise), never the training seed: the paper states one split per dataset, so every
training seed and every row of a table are tested on the same images. (Until this was so the
partition was re-drawn from each training seed; no committed record used the scheme.) The seed is
recorded in the run's config and record; the lists' fingerprints enter its hash.

A proportional scheme is written once as list files (``train``, ``val``, ``test``, ``trainval``,
``trainvaltest``) into the cache folder, keyed by the scheme, the seed and the names it splits,
and read like any split folder (:func:`split_folder` gives the ``split_dir`` to pass on).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from irstd_lib.data.layout import resolve_split
from irstd_lib.io import atomic_write_text

__all__ = ["DEFAULT_SPLIT_SEED", "SCHEME_SPLITS", "SPLIT_SCHEMES", "split_folder"]

SPLIT_SCHEMES: dict[str, tuple[float, float, float] | None] = {
    "standard": None,
    "saist_50_30_20": (0.5, 0.3, 0.2),
}

DEFAULT_SPLIT_SEED = 0
"""The partition seed of every dataset unless a config sets another: fixed, so one dataset has one
partition whatever the training seed (the paper gives none; 0 is a choice)."""

SCHEME_SPLITS: dict[str, tuple[str, str | None, str]] = {
    "standard": ("trainval", None, "test"),
    "saist_50_30_20": ("train", "val", "test"),
}
"""The (train, validation, test) lists a run trains, selects and tests on under each scheme
(``standard``: no validation, the field's habit of training on trainval)."""


def split_folder(root: str | os.PathLike, scheme: str, seed: int = DEFAULT_SPLIT_SEED,
                 split_dir: str | os.PathLike | None = None) -> Path | None:
    """The split folder of ``scheme`` for the dataset at ``root`` (None: the dataset's own);
    ``seed`` is the partition's seed (``DataConfig.split_seed``), not a training seed."""
    try:
        fractions = SPLIT_SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown split scheme {scheme!r}; choose one of {', '.join(SPLIT_SCHEMES)}") from None
    if fractions is None:
        return None
    from irstd_lib.paths import cache_dir

    names = sorted(resolve_split(Path(root), "all", split_dir).names)
    key = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    folder = cache_dir("splits", f"{scheme}-seed{seed}-{key}")
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    n_train = int(round(fractions[0] * len(order)))
    n_val = int(round(fractions[1] * len(order)))
    lists = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    lists["trainval"] = lists["train"] + lists["val"]
    lists["trainvaltest"] = order
    for split, members in lists.items():
        path = folder / f"{split}.txt"
        text = "\n".join(members) + "\n"
        if not path.is_file() or path.read_text() != text:
            atomic_write_text(path, text)
    return folder
