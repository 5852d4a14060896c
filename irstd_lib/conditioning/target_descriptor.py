"""The ``target_descriptor`` kind: LGNet's CLIP target descriptor.

The descriptor of an image is ``TD = E_image(image) + E_text(description)`` (CLIP embeddings,
L2-normalised, see :mod:`irstd_lib.text.target_descriptor`), or ``E_image(image)`` alone where
text is not used. Settings (``RunConfig.conditioning``):

- ``language``: when text enters the descriptor (LGNet's Table 2):
  ``"never"`` (the image embedding alone, in training and test), ``"train"`` (text in training,
  image alone at test: the paper's default, since test images come without a description) or
  ``"train_test"`` (text in both). ``train`` and ``train_test`` train the same model, so they
  are one run (one hash) recording two evaluations, ``test_without_text`` and ``test_with_text``;
  a ``never`` run records one, ``test``.
- ``descriptions``: where the text comes from: ``"files"`` (the dataset's own, LangIR layout),
  ``"quadrant"`` or ``"semantic"`` (generated from the masks once, cached; see
  :mod:`irstd_lib.text.descriptions`; both read the ground truth, as LGNet's training does).
  At test time (the ``test_with_text`` evaluation) a source whose text is written from the mask
  reads the test ground truth, and the run's record and every table row of that evaluation say
  so (:meth:`TargetDescriptorConditioning.ground_truth_inputs_at_test`, from the source's own
  ``uses_ground_truth``; the synthetic set's description files are its generator's, written
  from the targets it drew, so they count too; a real dataset's files are read as they are).
- ``test_descriptions``: where the text of the ``test_with_text`` evaluation comes from:
  ``"training_source"`` (default: the ``descriptions`` source on the test images; ``quadrant``
  and ``semantic`` then read the test masks, an upper bound, labelled so) or ``"first_pass"``
  (the trained model's image-only pass predicts the targets and the same template writer
  describes the prediction, no mask read; ``semantic``'s writer for ``files``; see
  :mod:`irstd_lib.models.lgnet.first_pass`). Entered in the identity only when not the default.
- ``clip``: ``"tiny"`` (a small randomly initialised CLIP, seeded by the run's seed) or an
  open_clip architecture such as ``"ViT-B-16"`` with ``clip_checkpoint`` a local weights file
  (nothing is downloaded). The checkpoint enters the run's identity by its content hash.

- ``clip_text``: ``"frozen"`` (default) or ``"finetune"``. The paper feeds the prior to "the
  fine-tuned CLIP text encoder"; both are offered:

  - ``"frozen"``: every image's embedding (of the whole, unaugmented image, so that CLIP runs
    once per image and never inside an epoch) and its description's text embedding are computed
    before training and cached on disk: fast, and what the ``smoke`` profile uses (its tiny CLIP
    is random, so there is nothing a fine-tuning could keep);
  - ``"finetune"``: the image embeddings are still computed once (the image tower stays frozen),
    but the text tower becomes part of the model
    (:class:`~irstd_lib.models.lgnet.text_encoder.ClipTextEncoder`) and is trained end to end,
    at ``clip_text_lr_scale`` times the run's learning rate (default 0.01; the paper gives none).
    The conditioner then hands the model token ids instead of text embeddings. The ``paper``
    profile uses it, because the paper says so.

The descriptor describes the whole image; a training input must therefore be the whole image
(resized, ``train_policy="resize"``), never a crop or a flip of it, or position words ("upper
left") describe something the input does not show. :func:`~irstd_lib.runs.prepare_run`
warns when a run pairs text with crops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from irstd_lib.conditioning.base import ConditioningContext, ConditioningKind, PreparedCondition, generated_descriptions

__all__ = ["DescriptorConditioner", "TokenConditioner", "KIND", "CLIP_TEXT_MODES", "LANGUAGE_MODES", "DESCRIPTION_SOURCES",
           "TEST_DESCRIPTIONS", "TargetDescriptorConditioning",
           "build_clip_encoder", "clip_key"]

LANGUAGE_MODES = ("never", "train", "train_test")
DESCRIPTION_SOURCES = ("files", "quadrant", "semantic")
CLIP_TEXT_MODES = ("frozen", "finetune")
TEST_DESCRIPTIONS = ("training_source", "first_pass")


def build_clip_encoder(clip: str, clip_checkpoint: str | None, seed: int, device: str = "cpu"):
    from irstd_lib.text.clip_encoder import ClipEncoder

    if clip == "tiny":
        return ClipEncoder.tiny(seed=seed, device=device)
    if clip_checkpoint is None:
        raise ValueError(
            f"clip={clip!r} needs clip_checkpoint: a local weights file (nothing is downloaded); "
            "use clip='tiny' for a random small encoder"
        )
    return ClipEncoder(clip, checkpoint=clip_checkpoint, device=device, seed=seed)


def clip_key(clip: str, clip_checkpoint: str | None, seed: int) -> str:
    """The identity of CLIP weights, as ``ClipEncoder.key`` spells it, without building the
    model: the architecture and the checkpoint's content hash (or the random seed)."""
    from irstd_lib.io import file_sha256
    from irstd_lib.text.clip_encoder import TINY_CLIP_NAME

    name = TINY_CLIP_NAME if clip == "tiny" else clip
    if clip_checkpoint is None:
        if clip != "tiny":
            build_clip_encoder(clip, clip_checkpoint, seed)  # raises the clear "needs clip_checkpoint" error
        return f"{name}@random-seed{seed}"
    path = Path(clip_checkpoint).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CLIP checkpoint file not found (weights are never downloaded)")
    return f"{name}@sha256:{file_sha256(path)[:12]}"


def descriptions_for(source: str, datasets: list, progress: bool = False) -> dict[str, str]:
    """``name -> description`` for every image of ``datasets`` from ``source``: ``files`` reads
    the description files the splits were opened with, the others are generated and cached."""
    if source == "files":
        from irstd_lib.data import read_description

        # The description files themselves: no image needs decoding to read them.
        return {name: read_description(path) for ds in datasets for name, path in zip(ds.names, ds.description_paths)}
    texts: dict[str, str] = {}
    for ds in datasets:
        texts.update(generated_descriptions(ds, source, progress))
    return texts


class DescriptorConditioner:
    """The engine's conditioner: a batch's (B, D) target descriptors from a precomputed table
    ``name -> (image embedding, text embedding or None)``; text is added in the ``phases`` named."""

    def __init__(self, table: dict, use_text_in: set[str]) -> None:
        self.table = table
        self.use_text_in = set(use_text_in)

    def __call__(self, batch: Mapping[str, Any], phase: str):
        from irstd_lib.text.target_descriptor import stack_descriptors

        names = batch["name"]
        names = [names] if isinstance(names, str) else list(names)
        return stack_descriptors(self.table, names, phase in self.use_text_in)


class TokenConditioner:
    """The conditioner of a run that fine-tunes the text encoder: a batch's
    ``{"image": (B, D) frozen image embeddings, "tokens": (B, L) token ids, "use_text": (B,) bool}``
    (a row uses text in the ``phases`` named, when its image has a description); the model turns
    it into the target descriptor."""

    def __init__(self, images: dict, tokens: dict, context_length: int, use_text_in: set[str]) -> None:
        self.images = images
        self.tokens = tokens
        self.context_length = int(context_length)
        self.use_text_in = set(use_text_in)

    def __call__(self, batch: Mapping[str, Any], phase: str):
        import torch

        names = batch["name"]
        names = [names] if isinstance(names, str) else list(names)
        try:
            image = torch.stack([self.images[n] for n in names])
        except KeyError as exc:
            raise KeyError(f"no precomputed image embedding for image {exc.args[0]!r}") from None
        empty = torch.zeros(self.context_length, dtype=torch.long)
        tokens = torch.stack([self.tokens.get(n, empty) for n in names])
        use = phase in self.use_text_in
        use_text = torch.tensor([use and n in self.tokens for n in names], dtype=torch.bool)
        return {"image": image, "tokens": tokens, "use_text": use_text}


class TargetDescriptorConditioning(ConditioningKind):
    name = "target_descriptor"

    @dataclass(frozen=True)
    class Settings:
        language: str = "train"
        descriptions: str = "files"
        clip: str = "tiny"
        clip_checkpoint: str | None = None
        clip_text: str = "frozen"
        clip_text_lr_scale: float = 0.01
        test_descriptions: str = "training_source"

        def __post_init__(self) -> None:
            if self.test_descriptions not in TEST_DESCRIPTIONS:
                raise ValueError(f"test_descriptions must be one of {TEST_DESCRIPTIONS}, got {self.test_descriptions!r}")
            if self.clip_text not in CLIP_TEXT_MODES:
                raise ValueError(f"clip_text must be one of {CLIP_TEXT_MODES}, got {self.clip_text!r}")
            if not float(self.clip_text_lr_scale) >= 0:
                raise ValueError(f"clip_text_lr_scale must be >= 0, got {self.clip_text_lr_scale!r}")
            if self.language not in LANGUAGE_MODES:
                raise ValueError(f"language must be one of {LANGUAGE_MODES}, got {self.language!r}")
            if self.descriptions not in DESCRIPTION_SOURCES:
                raise ValueError(f"descriptions must be one of {DESCRIPTION_SOURCES}, got {self.descriptions!r}")

        @property
        def uses_text(self) -> bool:
            return self.language != "never"

    def identity(self, settings: Settings, seed: int) -> dict[str, Any]:
        identity = {
            "language": "text_in_training" if settings.uses_text else "never",
            "descriptions": settings.descriptions if settings.uses_text else None,
            "clip_key": clip_key(settings.clip, settings.clip_checkpoint, seed),
        }
        if self._finetunes(settings):
            # Entered only away from the default, so that frozen runs keep their hashes.
            identity["clip_text"] = {"mode": "finetune", "lr_scale": float(settings.clip_text_lr_scale)}
        if self._first_pass(settings):  # likewise
            identity["test_descriptions"] = settings.test_descriptions
        return identity

    @staticmethod
    def _first_pass(settings: Settings) -> bool:
        return settings.test_descriptions == "first_pass" and settings.uses_text

    def test_text_source(self, settings: Settings, evaluation: str) -> str | None:
        """The description source whose text the evaluation ``evaluation`` reads at test time
        (``"first_pass"``, or the ``descriptions`` source), None where it reads no text; the
        source's ``uses_ground_truth`` says whether that text read the test masks."""
        if evaluation != "test_with_text":
            return None
        return "first_pass" if self._first_pass(settings) else settings.descriptions

    @staticmethod
    def _finetunes(settings: Settings) -> bool:
        """Whether the run fine-tunes the text encoder (without text there is nothing to tune)."""
        return settings.clip_text == "finetune" and settings.uses_text

    def evaluation_names(self, settings: Settings) -> tuple[str, ...]:
        return ("test_without_text", "test_with_text") if settings.uses_text else ("test",)

    def primary_evaluation(self, settings: Settings) -> str:
        return {"never": "test", "train": "test_without_text", "train_test": "test_with_text"}[settings.language]

    def needs_description_files(self, settings: Settings) -> bool:
        return settings.uses_text and settings.descriptions == "files"

    def describes_whole_image(self, settings: Settings) -> bool:
        return settings.uses_text

    def ground_truth_inputs_at_test(self, settings: Settings, evaluation: str, dataset: str) -> tuple[str, ...]:
        """The text of ``test_with_text`` when its source writes it from the mask (the source's
        ``uses_ground_truth``), or the synthetic generator's description files."""
        if not settings.uses_text or evaluation != "test_with_text":
            return ()
        if self._first_pass(settings):  # written from the model's own prediction (FirstPassSource.uses_ground_truth: False)
            return ()
        if settings.descriptions == "files":
            if dataset != "synthetic":
                return ()
            return ("target descriptions at test: the synthetic generator's description files, written from the targets "
                    "it drew (the test ground truth)",)
        from irstd_lib.text.descriptions import get_source

        if not get_source(settings.descriptions).uses_ground_truth:
            return ()
        return (f"target descriptions at test: the {settings.descriptions!r} source, written from the test image's "
                "ground-truth mask",)


    def prepare(self, settings: Settings, context: ConditioningContext) -> PreparedCondition:
        """CLIP embeddings of every train and test image and of their descriptions."""
        from irstd_lib.text.target_descriptor import TargetDescriptorBank

        encoder = build_clip_encoder(settings.clip, settings.clip_checkpoint, context.seed, context.device)
        expected = clip_key(settings.clip, settings.clip_checkpoint, context.seed)
        if encoder.key != expected:
            raise RuntimeError(f"CLIP key {encoder.key} differs from the expected {expected}")
        datasets = list(context.datasets.values())  # train and test, and the validation list when a run has one
        # A first-pass run writes no text from the test masks: its test text comes from its prediction.
        described = [ds for split, ds in context.datasets.items() if split != "test"] if self._first_pass(settings) else datasets
        texts = descriptions_for(settings.descriptions, described, context.progress) if settings.uses_text else {}
        bank = TargetDescriptorBank(encoder)
        if self._finetunes(settings):
            return self._prepare_finetuning(settings, context, bank, datasets, texts)
        table = {}
        for ds in datasets:
            image_rows = bank.image_embeddings([ds[i].image for i in range(len(ds))])
            text_rows = bank.optional_text_embeddings([texts.get(n) for n in ds.names])
            table.update({name: (image, text) for name, image, text in zip(ds.names, image_rows, text_rows)})
        train_phases = {"train"} if settings.uses_text else set()
        evaluations = ({"test_without_text": DescriptorConditioner(table, train_phases),
                        "test_with_text": DescriptorConditioner(table, {"train", "test"})}
                       if settings.uses_text else {"test": DescriptorConditioner(table, set())})
        if self._first_pass(settings):
            def with_texts(written: dict) -> DescriptorConditioner:
                rows = bank.optional_text_embeddings([written.get(n) for n in written])
                return DescriptorConditioner({**table, **{n: (table[n][0], r) for n, r in zip(written, rows)}}, {"train", "test"})

            evaluations["test_with_text"] = self._first_pass_conditioner(settings, evaluations["test_without_text"], with_texts, context)
        return PreparedCondition(train=DescriptorConditioner(table, train_phases), evaluations=evaluations,
                                 model_kwargs=self.model_kwargs(settings, encoder.embed_dim))

    @staticmethod
    def model_kwargs(settings: Settings, embed_dim: int, text_encoder=None) -> dict[str, Any]:
        """What LGNet is built with from this condition: the descriptors' width and, when the text
        tower trains (``clip_text="finetune"``), the tower and its lr scale."""
        kwargs: dict[str, Any] = {"descriptor_dim": int(embed_dim)}
        if text_encoder is not None:
            kwargs.update(text_encoder=text_encoder, text_encoder_lr_scale=float(settings.clip_text_lr_scale))
        return kwargs


    def _prepare_finetuning(self, settings: Settings, context: ConditioningContext, bank, datasets, texts) -> PreparedCondition:
        """Frozen image embeddings (cached), token ids of the descriptions, and the trainable
        text tower the model takes as ``text_encoder``."""
        from irstd_lib.models.lgnet.text_encoder import ClipTextEncoder

        text_encoder = ClipTextEncoder(settings.clip, settings.clip_checkpoint, context.seed)
        images, tokens = {}, {}
        for ds in datasets:
            images.update(zip(ds.names, bank.image_embeddings([ds[i].image for i in range(len(ds))])))
            described = [(n, texts[n]) for n in ds.names if texts.get(n)]
            if described:
                ids = text_encoder.tokenize([t for _, t in described])
                tokens.update({n: row for (n, _), row in zip(described, ids)})

        def conditioner(phases: set[str]) -> TokenConditioner:
            return TokenConditioner(images, tokens, text_encoder.context_length, phases)

        evaluations = {"test_without_text": conditioner({"train"}), "test_with_text": conditioner({"train", "test"})}
        if self._first_pass(settings):
            def with_texts(written: dict) -> TokenConditioner:
                described = [(n, t) for n, t in written.items() if t]
                ids = text_encoder.tokenize([t for _, t in described]) if described else []
                return TokenConditioner(images, {**tokens, **{n: row for (n, _), row in zip(described, ids)}},
                                        text_encoder.context_length, {"train", "test"})

            evaluations["test_with_text"] = self._first_pass_conditioner(settings, evaluations["test_without_text"], with_texts, context)
        return PreparedCondition(
            train=conditioner({"train"}),
            evaluations=evaluations,
            model_kwargs=self.model_kwargs(settings, bank.embed_dim, text_encoder),
        )

    @staticmethod
    def _first_pass_conditioner(settings: Settings, image_only, with_texts, context: ConditioningContext):
        from irstd_lib.models.lgnet.first_pass import FirstPassConditioner

        writer = settings.descriptions if settings.descriptions in ("quadrant", "semantic") else "semantic"
        return FirstPassConditioner(image_only, with_texts, context.datasets["test"], writer)


KIND = TargetDescriptorConditioning()
