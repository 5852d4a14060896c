"""Compatibility module: the public names of :mod:`irstd_lib.runs`, where experiment runs live now.

Kept for users' code and older notebooks that import ``irstd_lib.experiments``; the package
itself imports :mod:`irstd_lib.runs` (config schema in :mod:`irstd_lib.runs.config`, identity
and hashing in :mod:`irstd_lib.runs.identity`, the record layout in
:mod:`irstd_lib.runs.records`). Nothing is defined here.
"""

from irstd_lib.runs import *  # noqa: F401,F403 - the re-export is this module's whole purpose
from irstd_lib.runs import __all__  # noqa: F401
