"""The one CLIP factory (irstd_lib.text.clip_model) and the three wrappers built on it."""

import pytest
import torch


def test_every_clip_wrapper_gets_the_same_weights_from_the_same_seed():
    # ~18 s: importing open_clip dominates.
    from irstd_lib.models.frozen_clip import FrozenClip
    from irstd_lib.models.lgnet.text_encoder import ClipTextEncoder
    from irstd_lib.text.clip_encoder import ClipEncoder
    from irstd_lib.text.clip_model import TINY_CLIP_NAME, build_clip_model

    model, key = build_clip_model("tiny", seed=3)
    assert key == f"{TINY_CLIP_NAME}@random-seed3"
    reference = model.state_dict()
    encoder, frozen, text = ClipEncoder("tiny", seed=3), FrozenClip("tiny", seed=3), ClipTextEncoder("tiny", seed=3)
    assert encoder.key == frozen.key == text.key == key
    for state in (encoder.model.state_dict(), frozen.model.state_dict()):
        assert state.keys() == reference.keys()
        assert all(torch.equal(state[k], reference[k]) for k in reference)
    # The fine-tuned text tower drops the image tower and keeps the rest as built.
    text_state = text.clip.state_dict()
    assert text_state.keys() == {k for k in reference if not k.startswith("visual.")}
    assert all(torch.equal(text_state[k], reference[k]) for k in text_state)
    assert not torch.equal(build_clip_model("tiny", seed=4)[0].state_dict()["text_projection"], reference["text_projection"])


def test_the_factory_leaves_the_global_rng_alone_and_downloads_nothing(tmp_path):
    from irstd_lib.text.clip_model import CheckpointError, build_clip_model

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_clip_model("tiny", seed=11)
    assert torch.equal(torch.rand(3), expected)

    with pytest.raises(ValueError, match="schemas are not supported"):
        build_clip_model("hf-hub:laion/CLIP-ViT-B-16")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        build_clip_model("tiny", tmp_path / "nowhere.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"not_a_clip_weight": torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError, match="bad.pt"):
        build_clip_model("tiny", bad)


def test_the_factory_names_stay_importable_from_clip_encoder():
    import irstd_lib.text.clip_encoder as clip_encoder
    import irstd_lib.text.clip_model as clip_model

    for name in ("CheckpointError", "TINY_CLIP_NAME", "TINY_CLIP_CONFIG", "build_clip_model", "load_clip_weights",
                 "preprocess_gray_batch", "register_tiny_config"):
        assert getattr(clip_encoder, name) is getattr(clip_model, name)
    assert clip_model.TINY_CLIP_CONFIG.is_file()
