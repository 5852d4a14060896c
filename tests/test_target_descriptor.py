"""Target descriptor (TD = CLIP text + image embedding), its disk cache, and ClipEncoder errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from irstd_lib.text.target_descriptor import LanguageMode, TargetDescriptorBank, combine_embeddings, stack_descriptors, uses_text


@pytest.fixture(scope="module")
def encoder():
    from irstd_lib.text.clip_encoder import ClipEncoder

    return ClipEncoder.tiny(seed=0)  # import open_clip (~18 s) once for the module


class CountingEncoder:
    """Wraps an encoder and counts the inputs it is asked to encode."""

    def __init__(self, inner, key: str | None = None) -> None:
        self.inner = inner
        self.key = key or inner.key
        self.embed_dim = inner.embed_dim
        self.images = 0
        self.texts = 0

    def encode_image(self, images):
        self.images += len(images)
        return self.inner.encode_image(images)

    def encode_text(self, texts):
        self.texts += len(texts)
        return self.inner.encode_text(texts)


def images(n: int = 3, size: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((size, size + 4 * i)).astype(np.float32) for i in range(n)]


TEXTS = ["a small bright target in the sky", "a dim target over the sea", "a target near buildings"]


def test_encoder_basics(encoder):
    assert encoder.key == "irstd-tiny-clip@random-seed0"
    assert encoder.embed_dim == 64
    emb = encoder.encode_image(images(2))
    assert emb.shape == (2, 64) and emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(2))
    txt = encoder.encode_text(TEXTS[:2])
    assert txt.shape == (2, 64)
    torch.testing.assert_close(txt.norm(dim=-1), torch.ones(2))


def test_descriptor_with_and_without_text_same_shape(encoder):
    bank = TargetDescriptorBank(encoder, cache_dir=False)
    imgs = images()
    with_text = bank.descriptor(imgs, TEXTS, use_text=True)
    without = bank.descriptor(imgs, TEXTS, use_text=False)
    assert with_text.shape == without.shape == (3, encoder.embed_dim)
    # TD = E_image + E_text (no renormalisation); image only without text.
    torch.testing.assert_close(without, encoder.encode_image(imgs))
    torch.testing.assert_close(with_text, encoder.encode_image(imgs) + encoder.encode_text(TEXTS))
    # A missing description falls back to the image embedding for that row only.
    mixed = bank.descriptor(imgs, [TEXTS[0], None, "  "], use_text=True)
    torch.testing.assert_close(mixed[0], with_text[0])
    torch.testing.assert_close(mixed[1:], without[1:])
    with pytest.raises(ValueError, match="no description"):
        bank.descriptor(imgs, [TEXTS[0], None, None], use_text=True, on_missing_text="error")
    with pytest.raises(ValueError, match="3 images but 2 texts"):
        bank.descriptor(imgs, TEXTS[:2], use_text=True)


@pytest.mark.parametrize(
    "mode, train, test",
    [("never", False, False), ("train", True, False), ("train_test", True, True), ("train-test", True, True)],
)
def test_language_modes(mode, train, test):
    assert uses_text(mode, "train") is train
    for phase in ("test", "val", "eval", "inference", "TEST"):
        assert uses_text(mode, phase) is test
    assert LanguageMode.parse(mode).uses_text("train") is train


def test_language_mode_errors():
    with pytest.raises(ValueError, match="unknown language mode"):
        uses_text("sometimes", "train")
    with pytest.raises(ValueError, match="unknown phase"):
        uses_text("train", "deploy")


def test_language_mode_selects_text_in_descriptors(encoder):
    bank = TargetDescriptorBank(encoder, cache_dir=False)
    imgs = images(2)
    image_only = bank.descriptor(imgs, TEXTS[:2], use_text=False)
    for mode, phase, expect_text in [("train", "train", True), ("train", "test", False), ("never", "train", False), ("train_test", "test", True)]:
        td = bank.descriptor(imgs, TEXTS[:2], use_text=uses_text(mode, phase))
        assert torch.equal(td, image_only) is (not expect_text), (mode, phase)


def test_precompute_and_stack(encoder, tmp_path):
    from types import SimpleNamespace

    imgs = images()
    dataset = [SimpleNamespace(name=f"IMG{i}", image=im, description=t) for i, (im, t) in enumerate(zip(imgs, [TEXTS[0], None, TEXTS[2]]))]
    bank = TargetDescriptorBank(encoder, cache_dir=False)
    table = bank.precompute(dataset, progress=False)
    assert set(table) == {"IMG0", "IMG1", "IMG2"}
    assert table["IMG1"][1] is None and table["IMG0"][1].shape == (64,)
    batch = stack_descriptors(table, ["IMG2", "IMG0"], use_text=True)
    torch.testing.assert_close(batch, bank.descriptor([imgs[2], imgs[0]], [TEXTS[2], TEXTS[0]], use_text=True))
    with pytest.raises(KeyError, match="IMG9"):
        stack_descriptors(table, ["IMG9"], use_text=True)
    # combine_embeddings leaves its input untouched.
    base = torch.zeros(1, 4)
    combine_embeddings(base, [torch.ones(4)], True)
    assert torch.equal(base, torch.zeros(1, 4))


def test_disk_cache_avoids_second_encoding(encoder, tmp_path):
    imgs = images()
    first_encoder = CountingEncoder(encoder)
    first = TargetDescriptorBank(first_encoder, cache_dir=tmp_path)
    td1 = first.descriptor(imgs, TEXTS, use_text=True)
    assert (first_encoder.images, first_encoder.texts) == (3, 3)
    # Same bank again: memory hits.
    first.descriptor(imgs, TEXTS, use_text=True)
    assert (first_encoder.images, first_encoder.texts) == (3, 3)
    # Files on disk under <root>/<key>/{image,text}/<sha256>.npy.
    folder = tmp_path / "irstd-tiny-clip@random-seed0"
    assert len(list((folder / "image").glob("*.npy"))) == 3
    assert len(list((folder / "text").glob("*.npy"))) == 3

    # A fresh bank (new process, same cache folder): disk hits, no encoding.
    second_encoder = CountingEncoder(encoder)
    second = TargetDescriptorBank(second_encoder, cache_dir=tmp_path)
    td2 = second.descriptor(imgs, TEXTS, use_text=True)
    assert (second_encoder.images, second_encoder.texts) == (0, 0)
    assert second.stats["disk_hits"] == 6
    torch.testing.assert_close(td1, td2)

    # Another encoder key: a separate cache, so it encodes again.
    other_encoder = CountingEncoder(encoder, key="other-model@sha256:0123456789ab")
    other = TargetDescriptorBank(other_encoder, cache_dir=tmp_path)
    other.descriptor(imgs, TEXTS, use_text=True)
    assert (other_encoder.images, other_encoder.texts) == (3, 3)
    assert (tmp_path / "other-model@sha256_0123456789ab" / "image").is_dir()  # ':' made filename-safe

    # Duplicates within a call are encoded once; a changed image is a new entry.
    third_encoder = CountingEncoder(encoder, key="third")
    third = TargetDescriptorBank(third_encoder, cache_dir=tmp_path)
    third.image_embeddings([imgs[0], imgs[0], imgs[0] + 0.01])
    assert third_encoder.images == 2


def test_corrupt_cache_entry_is_recomputed(encoder, tmp_path):
    imgs = images(1)
    bank = TargetDescriptorBank(encoder, cache_dir=tmp_path)
    reference = bank.image_embeddings(imgs)
    (entry,) = (tmp_path / encoder.key / "image").glob("*.npy")
    entry.write_bytes(b"not a numpy file")
    counting = CountingEncoder(encoder)
    fresh = TargetDescriptorBank(counting, cache_dir=tmp_path)
    torch.testing.assert_close(fresh.image_embeddings(imgs), reference)
    assert counting.images == 1


def test_checkpoint_with_wrong_keys_raises_naming_the_file(encoder, tmp_path):
    from irstd_lib.text.clip_encoder import TINY_CLIP_NAME, CheckpointError, ClipEncoder

    bad = tmp_path / "wrong_keys.pt"
    torch.save({"not_a_clip_weight": torch.zeros(3), "another": torch.ones(2, 2)}, bad)
    with pytest.raises(CheckpointError) as info:
        ClipEncoder(model_name=TINY_CLIP_NAME, checkpoint=bad)
    assert str(bad) in str(info.value)
    assert "missing keys" in str(info.value)
    assert info.value.path == bad

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00 definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        ClipEncoder(model_name=TINY_CLIP_NAME, checkpoint=garbage)


def test_checkpoint_round_trip_gives_the_same_embeddings(encoder, tmp_path):
    from irstd_lib.text.clip_encoder import TINY_CLIP_NAME, ClipEncoder

    path = tmp_path / "tiny.pt"
    torch.save(encoder.model.state_dict(), path)
    loaded = ClipEncoder(model_name=TINY_CLIP_NAME, checkpoint=path, seed=123)
    assert loaded.key.startswith(f"{TINY_CLIP_NAME}@sha256:")
    imgs = images(2)
    torch.testing.assert_close(loaded.encode_image(imgs), encoder.encode_image(imgs))


def test_missing_checkpoint_raises_naming_the_path(encoder, tmp_path):
    from irstd_lib.text.clip_encoder import TINY_CLIP_NAME, ClipEncoder

    missing = tmp_path / "nowhere" / "ViT-B-16.pt"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ClipEncoder(model_name=TINY_CLIP_NAME, checkpoint=missing)
    with pytest.raises(ValueError, match="unknown open_clip architecture"):
        ClipEncoder(model_name="no-such-clip")
