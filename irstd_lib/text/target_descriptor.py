"""LGNet's target descriptor and an on-disk cache of the CLIP embeddings it is made of.

Paper (Chib & Singh): the target descriptor is the element-wise sum of the CLIP text embedding of
the image's description and the CLIP image embedding, ``TD = E_text(description) + E_image(image)``;
at test time without text, ``TD = E_image(image)`` alone (same shape, so the network is unchanged).
The two embeddings are L2-normalised by ``ClipEncoder``; their sum is used as is (the paper
describes no renormalisation).

CLIP is frozen, so the embeddings are computed once per image and per description and cached
(memory and disk), keyed by ``encoder.key`` (architecture + weights) and a SHA-256 of the input
(the image's float32 bytes and shape; the text's UTF-8 bytes). ``precompute(dataset)`` runs CLIP
over a whole split once, so no training epoch ever runs CLIP again.

Language modes (when text enters the descriptor):

- ``"never"``: image embedding only, in training and at test time;
- ``"train"``: text + image in training, image only at test time (the paper's default: test
  images have no description);
- ``"train_test"``: text + image in training and at test time.
"""

from __future__ import annotations

import hashlib
import re
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

import numpy as np
import torch

from irstd_lib.io import atomic_save

__all__ = [
    "LanguageMode",
    "uses_text",
    "combine_embeddings",
    "stack_descriptors",
    "TargetDescriptorBank",
    "CACHE_FORMAT_VERSION",
]

CACHE_FORMAT_VERSION = 1
"""Part of every cache hash: bump it when preprocessing changes so old entries are not reused."""

_TEST_PHASES = {"test", "val", "eval", "inference"}


class LanguageMode(str, Enum):
    """When the description's text embedding is part of the target descriptor."""

    NEVER = "never"
    TRAIN = "train"
    TRAIN_TEST = "train_test"

    @classmethod
    def parse(cls, value: "LanguageMode | str") -> "LanguageMode":
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower().replace("-", "_"))
        except ValueError:
            raise ValueError(f"unknown language mode {value!r}; choose one of {[m.value for m in cls]}") from None

    def uses_text(self, phase: str) -> bool:
        """Whether text is used in ``phase`` ("train", or "test"/"val"/"eval"/"inference")."""
        phase = phase.lower()
        if phase != "train" and phase not in _TEST_PHASES:
            raise ValueError(f"unknown phase {phase!r}; use 'train' or one of {sorted(_TEST_PHASES)}")
        if self is LanguageMode.NEVER:
            return False
        if self is LanguageMode.TRAIN:
            return phase == "train"
        return True


def uses_text(mode: LanguageMode | str, phase: str) -> bool:
    """``uses_text("train", "test") -> False``; see ``LanguageMode``."""
    return LanguageMode.parse(mode).uses_text(phase)


def combine_embeddings(
    image_embeddings: torch.Tensor, text_embeddings: Sequence[torch.Tensor | None] | torch.Tensor | None, use_text: bool
) -> torch.Tensor:
    """TD = image + text embedding (per row) when ``use_text`` and the row has text, else image."""
    descriptor = image_embeddings.clone().float()
    if use_text and text_embeddings is not None:
        for i, text in enumerate(text_embeddings):
            if text is not None:
                descriptor[i] += text.float()
    return descriptor


def stack_descriptors(
    table: dict[str, tuple[torch.Tensor, torch.Tensor | None]], names: Iterable[str], use_text: bool
) -> torch.Tensor:
    """(B, D) descriptors for a batch from a ``precompute`` table (name -> (image_emb, text_emb))."""
    names = list(names)
    try:
        rows = [table[n] for n in names]
    except KeyError as exc:
        raise KeyError(f"no precomputed embeddings for image {exc.args[0]!r}") from None
    return combine_embeddings(torch.stack([r[0] for r in rows]), [r[1] for r in rows], use_text)


class _Encoder(Protocol):
    key: str
    embed_dim: int

    def encode_text(self, texts: list[str]) -> torch.Tensor: ...

    def encode_image(self, images: list[np.ndarray]) -> torch.Tensor: ...


def _safe_folder_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", key)


def image_hash(image: np.ndarray | torch.Tensor) -> str:
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = np.ascontiguousarray(array, dtype=np.float32)
    digest = hashlib.sha256(f"image-v{CACHE_FORMAT_VERSION}:{array.shape}:".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(f"text-v{CACHE_FORMAT_VERSION}:".encode() + text.encode("utf-8")).hexdigest()


class TargetDescriptorBank:
    """Cached CLIP embeddings and target descriptors for one encoder.

    ``cache_dir``: root folder (default ``irstd_lib.paths.cache_dir("clip")``); entries live in
    ``<root>/<encoder.key>/{image,text}/<sha256>.npy``, written atomically. ``cache_dir=False``
    keeps the cache in memory only. ``stats`` counts memory hits, disk hits and encoded inputs.
    """

    def __init__(self, encoder: _Encoder, cache_dir: str | Path | None | bool = None) -> None:
        self.encoder = encoder
        self.embed_dim = int(encoder.embed_dim)
        if cache_dir is False:
            self.cache_dir: Path | None = None
        else:
            if cache_dir is None or cache_dir is True:
                from irstd_lib.paths import cache_dir as default_cache_dir

                root = default_cache_dir("clip")
            else:
                root = Path(cache_dir).expanduser()
            self.cache_dir = root / _safe_folder_name(encoder.key)
        self._memory: dict[tuple[str, str], torch.Tensor] = {}
        self.stats = {"memory_hits": 0, "disk_hits": 0, "encoded_images": 0, "encoded_texts": 0}

    # --- cache -------------------------------------------------------------------------------
    def _path(self, kind: str, digest: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / kind / f"{digest}.npy"

    def _lookup(self, kind: str, digest: str) -> torch.Tensor | None:
        hit = self._memory.get((kind, digest))
        if hit is not None:
            self.stats["memory_hits"] += 1
            return hit
        path = self._path(kind, digest)
        if path is not None and path.is_file():
            try:
                array = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError):
                return None  # unreadable entry: recompute and overwrite it
            if array.shape == (self.embed_dim,):
                tensor = torch.from_numpy(array.astype(np.float32, copy=False))
                self._memory[(kind, digest)] = tensor
                self.stats["disk_hits"] += 1
                return tensor
        return None

    def _store(self, kind: str, digest: str, embedding: torch.Tensor) -> None:
        embedding = embedding.detach().float().cpu().contiguous()
        self._memory[(kind, digest)] = embedding
        path = self._path(kind, digest)
        if path is not None:
            array = embedding.numpy()
            atomic_save(path, lambda f: np.save(f, array, allow_pickle=False))

    def _embed(self, kind: str, items: Sequence[Any], digests: list[str]) -> torch.Tensor:
        out: list[torch.Tensor | None] = [self._lookup(kind, d) for d in digests]
        missing: dict[str, int] = {}
        for i, (d, hit) in enumerate(zip(digests, out)):
            if hit is None and d not in missing:
                missing[d] = i
        if missing:
            todo = [items[i] for i in missing.values()]
            if kind == "image":
                encoded = self.encoder.encode_image(todo)
                self.stats["encoded_images"] += len(todo)
            else:
                encoded = self.encoder.encode_text(todo)
                self.stats["encoded_texts"] += len(todo)
            if tuple(encoded.shape) != (len(todo), self.embed_dim):
                raise ValueError(f"encoder returned shape {tuple(encoded.shape)}, expected ({len(todo)}, {self.embed_dim})")
            for d, row in zip(missing, encoded):
                self._store(kind, d, row)
            out = [self._memory[(kind, d)] if hit is None else hit for d, hit in zip(digests, out)]
        if not out:
            return torch.empty(0, self.embed_dim)
        return torch.stack(out)  # type: ignore[arg-type]

    # --- embeddings ----------------------------------------------------------------------------
    def image_embeddings(self, images: Sequence[np.ndarray | torch.Tensor]) -> torch.Tensor:
        """(N, D) CLIP image embeddings, from the cache where possible."""
        images = list(images)
        return self._embed("image", images, [image_hash(im) for im in images])

    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, D) CLIP text embeddings, from the cache where possible."""
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"text {i} is empty or not a string: {text!r}")
        return self._embed("text", texts, [text_hash(t) for t in texts])

    def optional_text_embeddings(self, texts: Sequence[str | None]) -> list[torch.Tensor | None]:
        """Text embeddings where a text is given; ``None`` rows where it is missing or blank."""
        present = [i for i, t in enumerate(texts) if t is not None and t.strip()]
        rows: list[torch.Tensor | None] = [None] * len(texts)
        if present:
            embedded = self.text_embeddings([texts[i] for i in present])  # type: ignore[misc]
            for i, row in zip(present, embedded):
                rows[i] = row
        return rows

    def descriptor(
        self,
        images: Sequence[np.ndarray | torch.Tensor],
        texts: Sequence[str | None] | None,
        use_text: bool,
        on_missing_text: str = "image",
    ) -> torch.Tensor:
        """(N, D) target descriptors: image + text embedding when ``use_text``, else image alone.

        A ``None`` or blank text (an image without a description) gives the image embedding alone
        when ``on_missing_text="image"``, or raises ValueError with ``on_missing_text="error"``.
        """
        images = list(images)
        image_rows = self.image_embeddings(images)
        if not use_text:
            return combine_embeddings(image_rows, None, False)
        if texts is None:
            texts = [None] * len(images)
        texts = list(texts)
        if len(texts) != len(images):
            raise ValueError(f"{len(images)} images but {len(texts)} texts")
        if on_missing_text not in ("image", "error"):
            raise ValueError("on_missing_text must be 'image' or 'error'")
        if on_missing_text == "error":
            absent = [i for i, t in enumerate(texts) if t is None or not t.strip()]
            if absent:
                raise ValueError(f"use_text=True but images {absent[:10]} have no description")
        return combine_embeddings(image_rows, self.optional_text_embeddings(texts), True)

    def precompute(
        self,
        dataset: Sequence[Any],
        use_text: bool = True,
        batch_size: int = 32,
        progress: bool = True,
        desc: str = "CLIP embeddings",
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
        """Embed every sample of an IRSTDDataset-like sequence once.

        Samples need ``.name``, ``.image`` and ``.description``. Returns ``name -> (image_emb (D,),
        text_emb (D,) or None)``; with ``use_text=False`` (or no description) the text part is
        ``None``. Use ``stack_descriptors(table, names, use_text)`` to form a batch's descriptors.
        """
        from tqdm.auto import tqdm

        table: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        n = len(dataset)
        with tqdm(total=n, desc=desc, disable=not progress, unit="img") as bar:
            for start in range(0, n, batch_size):
                samples = [dataset[i] for i in range(start, min(start + batch_size, n))]
                image_rows = self.image_embeddings([s.image for s in samples])
                texts = [s.description if use_text else None for s in samples]
                text_rows = self.optional_text_embeddings(texts)
                for sample, image_row, text_row in zip(samples, image_rows, text_rows):
                    table[sample.name] = (image_row, text_row)
                bar.update(len(samples))
        return table
