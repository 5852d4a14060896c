#!/usr/bin/env bash
# The paper profile's GPU check (irstd_lib/benchmarks/gpu_check.py) on a bare GPU machine: one with
# torch, timm, peft and transformers but no package registry. It installs the carried wheels and
# this package with --no-deps, prints the versions it found, and runs the check into $OUT.
#
# Prepare the wheels where a registry is reachable (the versions of uv.lock; about 2 MB):
#   python3 -m pip download --no-deps -d .gpu-wheels open_clip_torch==3.3.0 segment_anything==1.0 ftfy==6.3.1 wcwidth==0.9.4
# then, on the GPU machine, from the repository root:
#   OUT=results/gpu bash irstd_lib/benchmarks/gpu_check.sh .gpu-wheels [gpu_check options, e.g. --budget-s 420]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
wheels=${1:-.gpu-wheels}
shift || true
out=${OUT:-results/gpu}
mkdir -p "$out"

if compgen -G "$wheels/*.whl" > /dev/null; then
    python3 -m pip install --quiet --no-deps --no-index "$wheels"/*.whl
else
    echo "no wheels in $wheels: using what the machine has" >&2
fi
# The package itself, without its pins (they do not apply here); importable from the root if that fails.
if ! python3 -m pip install --quiet --no-deps --no-build-isolation --no-index -e . 2> "$out/pip_install_package.log"; then
    echo "pip could not install the package here (see $out/pip_install_package.log): running it from $(pwd)" >&2
    export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
fi

python3 - <<'EOF' | tee "$out/versions.txt"
import importlib, platform
print("python", platform.python_version())
for name in ("torch", "torchvision", "timm", "peft", "transformers", "open_clip", "segment_anything", "ftfy", "numpy", "scipy", "skimage", "pandas"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "(no version attribute)"))
    except Exception as error:  # a missing package is reported, the check says whether it mattered
        print(name, "MISSING:", type(error).__name__, error)
import torch
print("cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
EOF

python3 -m irstd_lib.benchmarks.gpu_check --out "$out" "$@"
