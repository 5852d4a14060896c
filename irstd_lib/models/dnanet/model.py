"""DNA-Net (Li, Xiao, Wang, Wang, Lin, Li, An & Guo, "Dense Nested Attention Network for Infrared
Small Target Detection", IEEE TIP 2022), configured as the BasicIRSTD toolbox builds it
(``DNANet(mode=...)`` in its ``net.py``).

Dense nested interactive module (DNIM), a UNet++ grid of nodes L(i, j), level ``i`` (resolution
1/2^i, width ``nb_filter[i]``), column ``j``::

    L(i, 0) = stack_i( maxpool2( L(i-1, 0) ) )                  L(0, 0) = stack_0(image)
    L(i, j) = stack_i( cat[ L(i, 0), ..., L(i, j-1),            same level, all earlier columns
                            up2( L(i+1, j-1) ),                 the level below
                            down2( L(i-1, j) ) ] )              the level above (i > 0 only)

for ``i + j <= 4``, every stack made of residual CBAM blocks (``res_cbam.py``: two 3x3 convolutions,
channel then spatial attention, ``attention.py``), one block at level 0 and ``num_blocks[i-1]``
at level ``i``; ``up2``/``down2`` are bilinear resizes by 2 (``align_corners=True``). Unlike
UNet++, every intermediate node also receives the downsampled node above it: that is DNA-Net's
"interactive" part, which lets shallow detail reach the deep levels repeatedly.

Feature pyramid fusion (``feature_pyramid_fusion.py``): L(4,0), L(3,1), L(2,2), L(1,3) projected to
``nb_filter[0]`` channels, upsampled to full size, concatenated with L(0,4) and merged by one
residual CBAM block. Heads: 1x1 convolutions to one logit map. With deep supervision (default),
``logits`` comes from the fused map and ``aux_logits`` = [head(L(0,1)), head(L(0,2)), head(L(0,3))]
(four heads in all, each its own convolution, as in the paper's and the toolbox's code); without,
one head on the fused map and no side outputs.

Sizes, one 1x1x256x256 image, eval mode:

======================  ===========  ===================  ==============  ===================
                        parameters   FlopCounter GFLOPs   G multiply-     thop.profile
                                     (1 MAC = 2 FLOPs)    adds (= /2)     (BasicIRSTD's tool)
======================  ===========  ===================  ==============  ===================
published (BasicIRSTD)  4.697 M      --                   --              14.261 G
this module             4,696,568    27.818               13.909          14.062 G
toolbox's DNANet        4,696,568    27.818               13.909          14.261 G
======================  ===========  ===================  ==============  ===================

The published "14.261 GFLOPs" is ``thop.profile``'s count of multiply-accumulates (BasicIRSTD's
``cal_params.py``, thop 0.1.1.post2209072238 here, installed outside the project): on the
toolbox's module it gives exactly 14.261 G and 4,696,568 parameters. FlopCounterMode's MAC
reading, 13.909 G, is 2.5 % below (its FLOP reading, 27.8 G, twice the figure): thop also counts
BatchNorm (2 ops per element, about 0.15 G) and the toolbox's ``nn.Upsample`` modules (about
0.2 G), which FlopCounterMode does not; this module resizes with ``F.interpolate``, which thop
does not see either, hence its 14.062 G. The side heads count in both figures (the toolbox
computes all four maps in test mode too and returns the last; 0.003 GMACs).

Fidelity check: the toolbox's ``DNANet(mode='train')`` weights, renamed to this module's names
(``convI_J`` -> ``nodes.I_J``, ``ca.fc1``/``ca.fc2`` -> ``channel_attention.bottleneck.0``/``.2``,
``sa.conv1`` -> ``spatial_attention.conv``, ``conv0_4_final.0`` -> ``pyramid_fusion.merge``,
``conv0_K_1x1`` -> ``pyramid_fusion.projections.K-1``, ``final4`` -> ``head``, ``final1..3`` ->
``side_heads.0..2``), load strictly and give the toolbox's four outputs exactly (sigmoid of these
logits, eval mode, randomised BatchNorm statistics, a 2x1x64x96 batch).

Choices where the paper and toolbox leave freedom, or where they differ:

- Configuration: the toolbox's ``DNANet`` defaults, ``num_blocks=(2, 2, 2, 2)`` ("resnet_18"),
  ``nb_filter=(16, 32, 64, 128, 256)`` ("three"), ``deep_supervision=True``, ``input_channels=1``.
  The authors' own scripts feed 3 channels normalised with ImageNet statistics (4,696,888
  parameters with ``in_channels=3``); the toolbox feeds one, normalised per dataset (below).
- Input: one channel; ``(pixel - mean) / std`` with the toolbox's per-dataset statistics on the
  0-255 scale, default NUAA-SIRST's (mean 101.06385, std 34.61961), on the package's [0, 1]
  scale ``101.06385 / 255`` and ``34.61961 / 255``. Other datasets: ``input_mean``/``input_std``
  from :data:`irstd_lib.data.normalisation.BASICIRSTD_STATISTICS`.
- Size multiple 16 (four 2x2 max-pools, each undone by an exact x2 resize). Resizes are given the
  target size rather than a scale factor; with ``align_corners=True`` PyTorch computes the same
  sampling grid either way.
- Outputs are logits; the toolbox applies a sigmoid in the model. In test mode the toolbox returns
  only the fused map; here the side outputs are returned in both modes (the evaluator reads
  ``logits``; a validation loss can use all four).
- Loss (not in this module): the toolbox trains DNA-Net with SoftIoU averaged over the four
  outputs, ``(S(L01) + S(L02) + S(L03) + S(fused)) / 4``, each ``S`` over the whole batch.
- Initialisation: PyTorch's defaults (the toolbox applies none; the authors' scripts use Xavier).
- Channel attention's bottleneck: ``max(1, C // 16)`` channels (``C // 16`` in the toolbox, the
  same at the published widths).
- ``base_channels`` scales the widths, ``nb_filter = base_channels * (1, 2, 4, 8, 16)`` (16 =
  published); ``num_blocks`` sets the blocks per level; ``deep_supervision`` is the ablation switch.

A forward+backward pass (SoftIoU on all four outputs) of a 4x1x64x64 batch at the published width
takes about 0.3 s on a 2-core CPU (0.4 s on one thread); ``base_channels=4`` (298,584 parameters)
is the smoke-test width (the registry's ``tiny``).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.data.normalisation import BASICIRSTD_STATISTICS
from irstd_lib.models.base import InputSpec, IRSTDModel
from irstd_lib.models.dnanet.feature_pyramid_fusion import FeaturePyramidFusion
from irstd_lib.models.dnanet.res_cbam import ResCBAMStack

__all__ = ["DNANet", "build_dnanet", "NUAA_SIRST_MEAN", "NUAA_SIRST_STD"]

NUAA_SIRST_MEAN, NUAA_SIRST_STD = BASICIRSTD_STATISTICS["NUAA-SIRST"]


def _resize_like(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Bilinear resize to ``reference``'s spatial size with ``align_corners=True`` (DNA-Net's up/down)."""
    return F.interpolate(x, size=reference.shape[-2:], mode="bilinear", align_corners=True)


class DNANet(IRSTDModel):
    """Dense nested attention network (see the module docstring). Returns logits at the input size."""

    input_spec = InputSpec(channels=1, mean=(NUAA_SIRST_MEAN,), std=(NUAA_SIRST_STD,), size_multiple=16)

    def __init__(
        self,
        in_channels: int = 1,
        nb_filter: Sequence[int] = (16, 32, 64, 128, 256),
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        deep_supervision: bool = True,
        input_mean: float = NUAA_SIRST_MEAN,
        input_std: float = NUAA_SIRST_STD,
    ) -> None:
        super().__init__()
        widths = tuple(int(c) for c in nb_filter)
        if len(widths) < 2 or len(num_blocks) != len(widths) - 1:
            raise ValueError(f"need L >= 2 widths and L - 1 block counts, got {widths} and {tuple(num_blocks)}")
        self.in_channels = in_channels
        self.levels = len(widths)
        self.deep_supervision = bool(deep_supervision)
        self.input_spec = InputSpec(channels=in_channels, mean=(float(input_mean),), std=(float(input_std),),
                                    size_multiple=2 ** (self.levels - 1))

        blocks_at = [1, *(int(b) for b in num_blocks)]  # level 0 has a single block
        self.pool = nn.MaxPool2d(2, 2)
        self.nodes = nn.ModuleDict()
        for level in range(self.levels):
            for column in range(self.levels - level):
                if column == 0:
                    cin = in_channels if level == 0 else widths[level - 1]
                else:
                    cin = widths[level] * column + widths[level + 1] + (widths[level - 1] if level > 0 else 0)
                self.nodes[self._key(level, column)] = ResCBAMStack(cin, widths[level], blocks_at[level])

        self.pyramid_fusion = FeaturePyramidFusion(widths)
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)
        # Side heads on the top-level nodes L(0, 1) .. L(0, L-2); L(0, L-1) feeds the fusion.
        self.side_heads = nn.ModuleList(
            nn.Conv2d(widths[0], 1, kernel_size=1) for _ in range(self.levels - 2) if self.deep_supervision
        )

    @staticmethod
    def _key(level: int, column: int) -> str:
        return f"{level}_{column}"

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        if image.ndim != 4 or image.shape[1] != self.in_channels:
            raise ValueError(f"image must be (B, {self.in_channels}, H, W), got {tuple(image.shape)}")
        self.input_spec.check_size(image.shape[-2], image.shape[-1])
        node = {(0, 0): self.nodes[self._key(0, 0)](image)}
        # Anti-diagonal by anti-diagonal: each new encoder level, then the nodes it unlocks from
        # the bottom up, so that L(i+1, j-1) and L(i-1, j) are ready when L(i, j) is built.
        for depth in range(1, self.levels):
            node[depth, 0] = self.nodes[self._key(depth, 0)](self.pool(node[depth - 1, 0]))
            for level in range(depth - 1, -1, -1):
                column = depth - level
                same_level = node[level, 0]
                inputs = [node[level, k] for k in range(column)]
                inputs.append(_resize_like(node[level + 1, column - 1], same_level))
                if level > 0:
                    inputs.append(_resize_like(node[level - 1, column], same_level))
                node[level, column] = self.nodes[self._key(level, column)](torch.cat(inputs, dim=1))

        last = self.levels - 1
        fused = self.pyramid_fusion([node[level, last - level] for level in range(self.levels)])
        logits = self.head(fused)
        aux = [head(node[0, column + 1]) for column, head in enumerate(self.side_heads)]
        return {"logits": logits, "aux_logits": aux, "aux_losses": {}}


def build_dnanet(
    base_channels: int = 16,
    num_blocks: Sequence[int] = (2, 2, 2, 2),
    deep_supervision: bool = True,
    in_channels: int = 1,
    input_mean: float = NUAA_SIRST_MEAN,
    input_std: float = NUAA_SIRST_STD,
) -> DNANet:
    """DNA-Net as BasicIRSTD builds it; ``base_channels`` scales the widths
    (``nb_filter = base_channels * (1, 2, 4, 8, 16)``), ``deep_supervision=False`` drops the side outputs."""
    if base_channels < 1:
        raise ValueError(f"base_channels must be positive, got {base_channels}")
    nb_filter = tuple(base_channels * 2**k for k in range(len(num_blocks) + 1))
    return DNANet(in_channels=in_channels, nb_filter=nb_filter, num_blocks=tuple(num_blocks),
                  deep_supervision=deep_supervision, input_mean=input_mean, input_std=input_std)
