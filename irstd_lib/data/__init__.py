"""Dataset reading for IRSTD: the field's folder layouts, image/mask/description readers.

``irstd_lib.data`` stays free of torch so that reading and validating a dataset is cheap; the
torch side (eval preparation, training augmentation, ``TorchIRSTDDataset``) lives in
:mod:`irstd_lib.data.transforms`, the synthetic generator in :mod:`irstd_lib.data.synthetic`.
"""

from __future__ import annotations

from irstd_lib.data.check import DatasetReport, check_dataset
from irstd_lib.data.dataset import (
    DatasetValidationError,
    DatasetWarning,
    IRSTDDataset,
    Sample,
    resize_mask_nearest,
)
from irstd_lib.data.errors import DatasetError
from irstd_lib.data.layout import LAYOUTS, SPLIT_NAMES, read_split_list
from irstd_lib.data.readers import (
    IMAGE_EXTENSIONS,
    image_size,
    read_description,
    read_image,
    read_mask,
)

__all__ = [
    "DatasetError",
    "DatasetReport",
    "check_dataset",
    "DatasetValidationError",
    "DatasetWarning",
    "IRSTDDataset",
    "Sample",
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "SPLIT_NAMES",
    "image_size",
    "read_description",
    "read_image",
    "read_mask",
    "read_split_list",
    "resize_mask_nearest",
]
