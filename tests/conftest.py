"""Shared fixtures: the real NUAA-SIRST copy (skipped cleanly when absent) and a tiny synthetic
dataset written once per test session."""

from __future__ import annotations

import contextlib
import json

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NUAA = REPO.parent / "shared" / "data" / "NUAA-SIRST"


def nuaa_sirst_path() -> Path:
    """Where the real NUAA-SIRST copy is: $IRSTD_NUAA_SIRST, else ../shared/data/NUAA-SIRST."""
    return Path(os.environ.get("IRSTD_NUAA_SIRST", DEFAULT_NUAA))


@pytest.fixture(scope="session")
def nuaa_root() -> Path:
    root = nuaa_sirst_path()
    if not (root / "images").is_dir() or not (root / "masks").is_dir():
        pytest.skip(f"NUAA-SIRST not found at {root} (set IRSTD_NUAA_SIRST to its folder)")
    return root


@pytest.fixture(scope="session")
def tiny_synthetic_root(tmp_path_factory) -> Path:
    """12 synthetic 64x64 infrared scenes in the standard folder layout (seed 0)."""
    from irstd_lib.data.synthetic import write_synthetic_dataset

    out = tmp_path_factory.mktemp("synthetic") / "tiny"
    write_synthetic_dataset(out, n=12, seed=0, size=64)
    return out


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of small tensors: as fast as two, and immune to the slowdown
    that two spinning threads suffer on a loaded 2-core machine. The previous setting is restored."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def adam_losses_on_tiny_targets(model, steps: int = 15, lr: float = 1e-2) -> list[float]:
    """BCE losses of ``steps`` Adam steps of ``model`` on four 32x32 images with a bright 3x3
    target each, given as the model's input spec asks (BCE: SoftIoU from a model at p = 0.5
    everywhere falls too slowly for a few steps)."""
    import torch

    from irstd_lib.engine.losses import bce_with_logits

    generator = torch.Generator().manual_seed(0)
    mask = torch.zeros(4, 1, 32, 32)
    for i in range(4):
        mask[i, 0, 6 + 5 * i: 9 + 5 * i, 10:13] = 1
    image = model.input_spec.prepare(0.3 + 0.05 * torch.rand(4, 1, 32, 32, generator=generator) + 0.5 * mask)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = bce_with_logits(model(image)["logits"], mask)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def same_values(a, b) -> bool:
    """``a == b`` for JSON-like values, NaN equal to NaN (a metric with nothing to divide, e.g.
    hIoU's error shares on an image set without matches, is NaN in every record that has it)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


def send_chat_answer(handler, text: str, index: bool = False) -> None:
    """Write one chat-completions response whose single choice says ``text`` (with ``"index": 0``
    when asked) from ``handler``, a ``BaseHTTPRequestHandler`` answering a POST."""
    choice = {"index": 0} if index else {}
    payload = json.dumps({"choices": [{**choice, "message": {"role": "assistant", "content": text}}]}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


@contextlib.contextmanager
def local_chat_server(handler, state):
    """A chat-completions server on 127.0.0.1 (an ephemeral port) answering with ``handler``, its
    ``state`` on ``server.state``: yields ``(base URL, state)`` and shuts the server down after.
    Only this machine's loopback is ever contacted."""
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
