"""The one exception type for malformed datasets and inputs."""

from __future__ import annotations

import os


class DatasetError(ValueError):
    """A dataset file is missing or malformed.

    The message always starts with the offending path, then says what is wrong, so that a user
    with hundreds of files knows which one to look at::

        DatasetError: /data/NUAA-SIRST/masks/Misc_111_pixels0.png: mask is 592x400 but image
        /data/NUAA-SIRST/images/Misc_111.png is 325x220
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
