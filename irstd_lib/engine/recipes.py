"""Named training recipes: the settings a paper (or a toolbox) trains its models with.

Every registered learned model names its default recipe (``ModelVariant.recipe``); a run's
training settings are that recipe with the run's overrides on top (``RunConfig.train``), so a
profile can give every model of a comparison the same budget while each keeps its own loss.

- ``lgnet_paper``: LGNet's text: Adan, lr 1e-3, weight decay 1e-4, "10 warm-up epochs" (linear: our choice),
  600 epochs, batch 8, BCE at every decoder output (summed, as U2-Net), 512x512 train and test.
- ``saist_paper``: SAIST's text: Adam, lr 1e-4, cosine decay, 400 epochs, batch 4, 1024x1024
  (no weight decay is given: 0). Its segmentation loss is not stated: BCE + SoftIoU on the
  recovered J is chosen (SAM fine-tuning usually pairs a pixel loss with a region loss); the
  model adds its weighted MMD term itself.
- ``basicirstd``: the BasicIRSTD toolbox's defaults, under which ACM and DNA-Net are usually
  reported: Adam 5e-4, 400 epochs, batch 16, SoftIoU averaged over the final and the
  deep-supervision outputs, random 256x256 crops, test images padded to a multiple of 32 at
  native size, the lr divided by 10 at epochs 200 and 300.
- ``basicirstd_toolbox``: the toolbox's training exactly as its code runs it (HEAD 95650c3),
  the recipe of the protocol ``data.train_policy="basicirstd_toolbox"``
  (:mod:`irstd_lib.runs.toolbox_protocol`, which selects it): ``basicirstd`` with
  ``drop_last=False``, since the toolbox's ``DataLoader(..., shuffle=True)`` keeps the last
  incomplete batch (213 NUAA-SIRST images: 14 steps per epoch, the last of 5). Adam
  (``torch.optim.Adam(net.parameters(), lr=5e-4)``, ``utils.py:139-140``: default betas, no
  weight decay); MultiStepLR ``gamma`` 0.1, not the ``--gamma`` default 0.5 of ``train.py:35``,
  which ``train.py:78-82`` overrides for Adam::

      if opt.optimizer_name == 'Adam':
          opt.optimizer_settings = {'lr': 5e-4}
          opt.scheduler_name = 'MultiStepLR'
          opt.scheduler_settings = {'epochs':400, 'step': [200, 300], 'gamma': 0.1}

  so the lr is 5e-4 for epochs 1-200, 5e-5 for 201-300, 5e-6 for 301-400 (the toolbox steps
  once per epoch; this engine's per-step schedule at ``milestone x steps_per_epoch`` gives the
  same lr to every step of an epoch). SoftIoU over the whole batch with smooth 1 (``loss.py:21-26``,
  :class:`~irstd_lib.engine.losses.SoftIoULoss`) on the sigmoid of the model's logits (ACM's
  logits are already upsampled x4 bilinearly, as the toolbox's ``out.sigmoid()`` follows its
  ``F.interpolate``); test on whole images padded to a multiple of 32, threshold ``> 0.5``, the
  final weights (the toolbox reports ``ACM_400.pth.tar``).
- ``ggl_net_paper``: GGL-Net's authors' training script: Adam, lr 1e-4 held constant (no
  schedule), 500 epochs, batch 4, SoftIoU averaged per image (``softiou_per_image``), images
  resized to 512 for training and testing (256 for NUDT-SIRST). Their random flips, rotations and brightness changes are not reproduced.
- ``dgspnet_default``: DGSPNet's abstract gives no training settings; the BasicIRSTD defaults
  above (Adam 5e-4, SoftIoU) on whole images resized to 512, chosen as the field's most common
  protocol for a CNN of this size.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RECIPES", "recipe"]

RECIPES: dict[str, dict[str, Any]] = {
    "lgnet_paper": {
        "epochs": 600, "batch_size": 8, "optimizer": "adan", "lr": 1e-3, "weight_decay": 1e-4,
        "scheduler": "warmup_linear", "warmup_epochs": 10, "loss": "bce", "aux_weight": 1.0, "aux_reduction": "sum",
        "val_size": 512, "eval_policy": "resize", "train_size": 512,
    },
    "saist_paper": {
        "epochs": 400, "batch_size": 4, "optimizer": "adam", "lr": 1e-4, "weight_decay": 0.0,
        "scheduler": "cosine", "warmup_epochs": 0, "loss": "bce+softiou", "aux_weight": 1.0, "aux_reduction": "sum",
        "val_size": 1024, "eval_policy": "resize", "train_size": 1024,
    },
    "basicirstd": {
        "epochs": 400, "batch_size": 16, "optimizer": "adam", "lr": 5e-4, "weight_decay": 0.0,
        "scheduler": "multistep", "lr_milestones": [200, 300], "lr_gamma": 0.1, "warmup_epochs": 0,
        "loss": "softiou", "aux_weight": 1.0, "aux_reduction": "mean_all",
        "val_size": None, "eval_policy": "pad", "train_size": 256,
    },
    "basicirstd_toolbox": {
        "epochs": 400, "batch_size": 16, "optimizer": "adam", "lr": 5e-4, "weight_decay": 0.0,
        "scheduler": "multistep", "lr_milestones": [200, 300], "lr_gamma": 0.1, "warmup_epochs": 0,
        "loss": "softiou", "aux_weight": 1.0, "aux_reduction": "mean_all", "drop_last": False, "threshold": 0.5,
        "val_size": None, "eval_policy": "pad", "train_size": 256,
    },
    "ggl_net_paper": {
        "epochs": 500, "batch_size": 4, "optimizer": "adam", "lr": 1e-4, "weight_decay": 0.0,
        "scheduler": "constant", "warmup_epochs": 0, "loss": "softiou_per_image", "aux_weight": 1.0, "aux_reduction": "sum",
        "val_size": 512, "eval_policy": "resize", "train_size": 512,
    },
    "dgspnet_default": {
        "epochs": 400, "batch_size": 16, "optimizer": "adam", "lr": 5e-4, "weight_decay": 0.0,
        "scheduler": "multistep", "lr_milestones": [200, 300], "lr_gamma": 0.1, "warmup_epochs": 0,
        "loss": "softiou", "aux_weight": 1.0, "aux_reduction": "sum",
        "val_size": 512, "eval_policy": "resize", "train_size": 512,
    },
}


def recipe(name: str) -> dict[str, Any]:
    """A copy of the recipe's settings (``TrainConfig`` fields)."""
    try:
        return dict(RECIPES[name])
    except KeyError:
        raise KeyError(f"unknown training recipe {name!r}; known: {', '.join(RECIPES)}") from None
