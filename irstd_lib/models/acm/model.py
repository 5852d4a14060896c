"""ACM (Dai, Wu, Zhou & Barnard, "Asymmetric Contextual Modulation for Infrared Small Target
Detection", WACV 2021): the ASKCResUNet network with AsymBi fusion, configured as the BasicIRSTD
toolbox builds it (``ACM()`` in its ``net.py``).

Architecture (channels ``c = (8, 16, 32, 64)``, residual blocks per stage ``(3, 3, 3)``)::

    image (1 ch) -> BN -> stem: conv3x3/2 (c0) -> conv3x3 (c0) -> conv3x3 (2 c0) -> maxpool3x3/2   1/4
    e1 = stage(3 blocks, c1)          1/4       e2 = stage(3 blocks, c2, /2)   1/8
    e3 = stage(3 blocks, c3, /2)      1/16
    d2 = stage(3 blocks, c2)( AsymBi(deconv(e3) -> c2, e2) )                    1/8
    d1 = stage(3 blocks, c1)( AsymBi(deconv(d2) -> c1, e1) )                    1/4
    logits = bilinear x4 ( FCN head(d1): conv3x3 (c1/4), BN, ReLU, dropout 0.1, conv1x1 -> 1 )

- ``residual_stage.py``: the ResNet basic blocks of the five stages;
- ``asymmetric_fusion.py``: AsymBi (top-down global channel attention from the deep map on the
  shallow map, bottom-up point-wise attention from the shallow map on the deep map);
- this file: stem, transposed-convolution upsampling (4x4, stride 2), FCN head, the network.

Sizes, one 1x1x256x256 image, eval mode:

======================  ===========  ===================  ==============  ===================
                        parameters   FlopCounter GFLOPs   G multiply-     thop.profile
                                     (1 MAC = 2 FLOPs)    adds (= /2)     (BasicIRSTD's tool)
======================  ===========  ===================  ==============  ===================
published (BasicIRSTD)  0.398 M      --                   --              0.402 G
this module             397,823      0.6866               0.3433          0.4023 G
======================  ===========  ===================  ==============  ===================

The published "0.402 GFLOPs" is ``thop.profile``'s count of multiply-accumulates (BasicIRSTD's
``cal_params.py``), which this module reproduces: thop 0.1.1.post2209072238 (installed outside the
project) gives 0.4023 G and 397,823 parameters, on this module and on the toolbox's alike. The
FLOP reading of FlopCounterMode (0.687 G) is 71 % above it; its MAC reading (0.343 G) 15 % below,
for two reasons: thop counts each transposed convolution as if it were an ordinary convolution
at its *output* resolution, 4x (stride^2) its true cost (+0.050 G: counted that way, 0.394 G,
2 % below), and thop adds BatchNorm (2 ops per element), the final bilinear upsampling and the
average pooling (+0.009 G), which FlopCounterMode does not count. (Given the package's
:class:`ChannelBatchNorm`, thop needs ``custom_ops={ChannelBatchNorm: <its BatchNorm2d rule>}``;
without, it skips those 120 parameters.)

Fidelity check: the toolbox's ``ASKCResUNet()`` weights, renamed to this module's names
(``layerN``/``uplayerN`` -> ``encoderN``/``decoderN``, ``deconvN`` -> ``upsampleN``,
``downsample`` -> ``shortcut``, ``topdown``/``bottomup``/``post`` ->
``topdown_channel_weights``/``bottomup_pixel_weights``/``merge``, ``head.block`` -> ``head``), load
strictly and give the toolbox's output exactly (sigmoid of these logits, eval mode, randomised
BatchNorm statistics, a 2x1x64x96 batch).

Choices where the paper and toolbox leave freedom, or where they differ:

- Configuration: BasicIRSTD's ``ASKCResUNet`` defaults (``layers=[3, 3, 3]``,
  ``channels=[8, 16, 32, 64]``, ``in_channels=1``, ``fuse_mode='AsymBi'``, not ``tiny``), the
  network behind its published 0.398 M. (The authors' MXNet scripts train 4 blocks per stage.)
- Input: one channel, as the toolbox reads images (PIL ``convert('I')``, grayscale) and builds the
  model. Normalisation: ``(pixel - mean) / std`` with the toolbox's per-dataset statistics on the
  0-255 scale; the default is NUAA-SIRST's (mean 101.06385, std 34.61961), i.e. on the package's
  [0, 1] scale ``mean = 101.06385 / 255``, ``std = 34.61961 / 255``. Other datasets: pass
  ``input_mean``/``input_std`` from :data:`irstd_lib.data.normalisation.BASICIRSTD_STATISTICS`. The first layer is itself a BatchNorm of the input (with affine
  parameters, as in the toolbox; the authors' MXNet stem has none).
- Size multiple 16: four halvings (stride-2 stem conv, max-pool, two strided stages) must be
  undone exactly by the two transposed convolutions and the x4 upsampling.
- BatchNorm momentum (``bn_momentum``, default 0.9): the toolbox passes ``momentum=0.9`` to the
  stem, shortcut, fusion and head BatchNorms, a literal copy of MXNet's default. In PyTorch this
  means the running statistics are 90 % the last batch's (MXNet's 0.9 is PyTorch's 0.1). Kept as
  the toolbox has it, since its numbers were obtained that way; ``bn_momentum=0.1`` gives the
  authors' intended behaviour. The residual blocks' own BatchNorms use 0.1 in both.
- Output: logits (the toolbox applies a sigmoid inside the model; here the loss and evaluator
  do). The x4 bilinear upsampling uses ``align_corners=False`` (the toolbox's
  ``F.interpolate(scale_factor=4)``, here given the input size, which is the same grid for
  sizes that are multiples of 4; the MXNet original uses ``BilinearResize2D`` to the input
  size). No deep supervision: ``aux_logits`` is empty.
- Initialisation: PyTorch's defaults (the toolbox applies no custom initialisation).
- ``asymmetric_fusion=False`` (ablation switch) replaces AsymBi with the authors' "DirectAdd"
  fusion (plain sum, then the same 3x3 conv-BN-ReLU).
- ``base_channels`` scales the width: channels ``base * (1, 2, 4, 8)`` (8 = published).
  ``blocks`` sets the residual blocks per stage.

A forward+backward pass of a 4x1x64x64 batch at the published width takes about 25 ms on a
2-core CPU (one or two threads). ``base_channels=4`` (100,161 parameters) is the smoke-test width
(the registry's ``tiny``).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.models.acm.asymmetric_fusion import build_fusion
from irstd_lib.models.acm.residual_stage import ResidualStage
from irstd_lib.data.normalisation import BASICIRSTD_STATISTICS
from irstd_lib.models.base import InputSpec, IRSTDModel

__all__ = ["ACM", "build_acm", "NUAA_SIRST_MEAN", "NUAA_SIRST_STD"]

NUAA_SIRST_MEAN, NUAA_SIRST_STD = BASICIRSTD_STATISTICS["NUAA-SIRST"]


class ACMStem(nn.Sequential):
    """Input BatchNorm, three 3x3 convolutions (the first with stride 2) and a 3x3/2 max-pool: 1/4 size,
    ``2 * stem_channels`` out. A deep stem instead of one 7x7 convolution, as in the authors' code."""

    def __init__(self, in_channels: int, stem_channels: int, bn_momentum: float) -> None:
        def conv_bn_relu(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                    nn.BatchNorm2d(cout, momentum=bn_momentum), nn.ReLU(inplace=True)]

        super().__init__(
            nn.BatchNorm2d(in_channels, momentum=bn_momentum),
            *conv_bn_relu(in_channels, stem_channels, 2),
            *conv_bn_relu(stem_channels, stem_channels, 1),
            *conv_bn_relu(stem_channels, 2 * stem_channels, 1),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )


class FCNHead(nn.Sequential):
    """Segmentation head: 3x3 conv to a quarter of the channels, BN, ReLU, dropout 0.1, 1x1 conv to logits."""

    def __init__(self, in_channels: int, out_channels: int = 1, bn_momentum: float = 0.9) -> None:
        inner = max(1, in_channels // 4)
        super().__init__(
            nn.Conv2d(in_channels, inner, 3, padding=1, bias=False),
            nn.BatchNorm2d(inner, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv2d(inner, out_channels, 1),
        )


class ACM(IRSTDModel):
    """ASKCResUNet with AsymBi fusion (see the module docstring). Returns logits at the input size."""

    input_spec = InputSpec(channels=1, mean=(NUAA_SIRST_MEAN,), std=(NUAA_SIRST_STD,), size_multiple=16)

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (8, 16, 32, 64),
        blocks: Sequence[int] = (3, 3, 3),
        asymmetric_fusion: bool = True,
        bn_momentum: float = 0.9,
        input_mean: float = NUAA_SIRST_MEAN,
        input_std: float = NUAA_SIRST_STD,
    ) -> None:
        super().__init__()
        if len(channels) != 4 or len(blocks) != 3:
            raise ValueError(f"ACM needs 4 channel widths and 3 stage depths, got {tuple(channels)} and {tuple(blocks)}")
        c0, c1, c2, c3 = (int(c) for c in channels)
        if c1 != 2 * c0:
            raise ValueError(f"the stem outputs 2 x channels[0] = {2 * c0} channels, which must equal channels[1] = {c1}")
        self.in_channels = in_channels
        self.input_spec = InputSpec(channels=in_channels, mean=(float(input_mean),), std=(float(input_std),), size_multiple=16)
        fusion = "asymbi" if asymmetric_fusion else "add"

        self.stem = ACMStem(in_channels, c0, bn_momentum)
        self.encoder1 = ResidualStage(c1, c1, blocks[0], stride=1, bn_momentum=bn_momentum)
        self.encoder2 = ResidualStage(c1, c2, blocks[1], stride=2, bn_momentum=bn_momentum)
        self.encoder3 = ResidualStage(c2, c3, blocks[2], stride=2, bn_momentum=bn_momentum)

        self.upsample2 = nn.ConvTranspose2d(c3, c2, kernel_size=4, stride=2, padding=1)
        self.fuse2 = build_fusion(fusion, c2, bn_momentum)
        self.decoder2 = ResidualStage(c2, c2, blocks[1], stride=1, bn_momentum=bn_momentum)

        self.upsample1 = nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1)
        self.fuse1 = build_fusion(fusion, c1, bn_momentum)
        self.decoder1 = ResidualStage(c1, c1, blocks[0], stride=1, bn_momentum=bn_momentum)

        self.head = FCNHead(c1, 1, bn_momentum)

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        if image.ndim != 4 or image.shape[1] != self.in_channels:
            raise ValueError(f"image must be (B, {self.in_channels}, H, W), got {tuple(image.shape)}")
        self.input_spec.check_size(image.shape[-2], image.shape[-1])
        e1 = self.encoder1(self.stem(image))  # 1/4
        e2 = self.encoder2(e1)  # 1/8
        e3 = self.encoder3(e2)  # 1/16
        d2 = self.decoder2(self.fuse2(self.upsample2(e3), e2))  # 1/8
        d1 = self.decoder1(self.fuse1(self.upsample1(d2), e1))  # 1/4
        logits = F.interpolate(self.head(d1), size=image.shape[-2:], mode="bilinear", align_corners=False)
        return {"logits": logits, "aux_logits": [], "aux_losses": {}}


def build_acm(
    base_channels: int = 8,
    blocks: Sequence[int] = (3, 3, 3),
    asymmetric_fusion: bool = True,
    in_channels: int = 1,
    bn_momentum: float = 0.9,
    input_mean: float = NUAA_SIRST_MEAN,
    input_std: float = NUAA_SIRST_STD,
) -> ACM:
    """ACM as BasicIRSTD builds it by default; ``base_channels`` scales all widths (channels
    ``base_channels * (1, 2, 4, 8)``), ``asymmetric_fusion=False`` is the additive-fusion ablation."""
    if base_channels < 1:
        raise ValueError(f"base_channels must be positive, got {base_channels}")
    channels = tuple(base_channels * k for k in (1, 2, 4, 8))
    return ACM(in_channels=in_channels, channels=channels, blocks=tuple(blocks), asymmetric_fusion=asymmetric_fusion,
               bn_momentum=bn_momentum, input_mean=input_mean, input_std=input_std)
