"""Package layout for setuptools (the project's metadata is in pyproject.toml).

The notebooks stay at the top of the repository (``notebooks/``) and ship inside the wheel as
``irstd_lib/notebooks/``, so that ``python -m irstd_lib reproduce`` works after a non-editable
install (``pip install .``) as well as from a checkout.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["irstd_lib*"]) + ["irstd_lib.notebooks"],
    package_dir={"irstd_lib.notebooks": "notebooks"},
    package_data={
        "irstd_lib": ["reference/*.csv", "reference/*.md", "text/configs/*.json"],
        "irstd_lib.notebooks": ["*.ipynb", "*.cfg", "configs/*.json"],
    },
)
