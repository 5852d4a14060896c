"""The OpenAI-compatible VLM client against a chat-completions server on loopback.

The server is ``http.server`` in a thread on 127.0.0.1 (port 0); each test scripts its answers.
Every request loop is bounded (max_retries), sleeps are recorded instead of slept where the
delay itself is under test, and the one real timeout is 0.3 s.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from PIL import Image

from conftest import local_chat_server

from irstd_lib.text.descriptions import WORD_LIMIT, count_words, describe_dataset, get_source
from irstd_lib.text.descriptions.vlm import VLMSource
from irstd_lib.text.vlm_client import (
    ENV_API_KEY,
    ENV_ENDPOINT,
    ENV_MODEL,
    LGNET_SYSTEM_PROMPT,
    LGNET_TASK_PROMPT,
    VLMClient,
    VLMConfigError,
    VLMError,
    normalize_endpoint,
    public_endpoint,
)

ANSWER = "The small target is in the upper-left region, above the cloud edge."


def chat_answer(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}).encode()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


class ChatState:
    def __init__(self):
        self.script: list[Reply] = []
        self.default = Reply(body=chat_answer(ANSWER))
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0


class ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server naming)
        state: ChatState = self.server.state  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with state.lock:
            state.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
            reply = state.script.pop(0) if state.script else state.default
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for k, v in reply.headers:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)
        finally:
            with state.lock:
                state.in_flight -= 1

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    with local_chat_server(ChatHandler, ChatState()) as served:
        yield served


@pytest.fixture(autouse=True)
def no_vlm_env(monkeypatch):
    for var in (ENV_ENDPOINT, ENV_MODEL, ENV_API_KEY):
        monkeypatch.delenv(var, raising=False)


def make_client(url, tmp_path, **kw):
    sleeps: list[float] = []
    kw.setdefault("cache_dir", tmp_path / "cache")
    kw.setdefault("max_retries", 2)
    kw.setdefault("backoff", 0.5)
    kw.setdefault("timeout", 5.0)
    client = VLMClient(url, "test-vlm", sleep=sleeps.append, **kw)
    return client, sleeps


def gradient_image(h=12, w=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((h, w)).astype(np.float32)


@dataclass
class FakeSample:
    name: str
    image: np.ndarray
    mask: np.ndarray | None = None
    description: str | None = None


# ---------------------------------------------------------------------------------------------


def test_success_sends_lgnet_prompt_and_png_data_url(chat_server, tmp_path):
    url, state = chat_server
    client, sleeps = make_client(url, tmp_path, api_key="sk-secret")
    image = gradient_image()
    answer = client.describe_image(image, "Misc_1")
    assert answer.text == ANSWER and not answer.truncated and not answer.from_cache
    assert len(state.requests) == 1 and sleeps == []
    req = state.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-secret"
    body = req["json"]
    assert body["model"] == "test-vlm" and body["temperature"] == 0.0
    assert body["messages"][0] == {"role": "system", "content": LGNET_SYSTEM_PROMPT}
    text_part, image_part = body["messages"][1]["content"]
    assert text_part == {"type": "text", "text": LGNET_TASK_PROMPT}
    data_url = image_part["image_url"]["url"]
    assert image_part["type"] == "image_url" and data_url.startswith("data:image/png;base64,")
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))
    assert sent.shape == (12, 16) and np.array_equal(sent, np.round(image * 255).astype(np.uint8))
    # The cache file records the answer but never the key.
    cached = list((tmp_path / "cache").rglob("*.json"))
    assert len(cached) == 1 and "sk-secret" not in cached[0].read_text()


def test_429_is_retried_after_retry_after(chat_server, tmp_path):
    url, state = chat_server
    state.script = [Reply(429, b'{"error": "rate limited"}', (("Retry-After", "2"),))]
    client, sleeps = make_client(url, tmp_path)
    assert client.describe_image(gradient_image(), "Misc_2").text == ANSWER
    assert len(state.requests) == 2 and sleeps == [2.0]  # Retry-After honoured, not the 0.5 s backoff


def test_5xx_uses_exponential_backoff_then_gives_up(chat_server, tmp_path):
    url, state = chat_server
    state.script = [Reply(503, b"busy"), Reply(502, b"bad gateway")]
    client, sleeps = make_client(url, tmp_path)
    assert client.describe_image(gradient_image(), "Misc_3").text == ANSWER
    assert sleeps == [0.5, 1.0] and len(state.requests) == 3
    state.script = [Reply(500, b"down")] * 3
    client2, sleeps2 = make_client(url, tmp_path, cache_dir=False)
    with pytest.raises(VLMError, match=r"image Misc_4: could not get an answer .* after 3 attempt\(s\); last error: HTTP 500: down"):
        client2.describe_image(gradient_image(), "Misc_4")
    assert sleeps2 == [0.5, 1.0]


def test_malformed_answer_is_a_clear_error_naming_the_image(chat_server, tmp_path):
    url, state = chat_server
    state.script = [Reply(200, b"<html>not json</html>")]
    client, _ = make_client(url, tmp_path)
    with pytest.raises(VLMError, match=r"image Misc_5: malformed answer from .*not JSON"):
        client.describe_image(gradient_image(), "Misc_5")
    state.script = [Reply(200, b'{"choices": []}')]
    with pytest.raises(VLMError, match=r"image Misc_6: malformed answer .*choices\[0\]\.message\.content"):
        client.describe_image(gradient_image(), "Misc_6")
    state.script = [Reply(200, chat_answer("   "))]
    with pytest.raises(VLMError, match=r"image Misc_7: .*empty"):
        client.describe_image(gradient_image(), "Misc_7")
    assert len(state.requests) == 3  # not retried


def test_client_error_is_not_retried_and_hints_at_the_key(chat_server, tmp_path):
    url, state = chat_server
    state.script = [Reply(401, b'{"error": "invalid api key"}')]
    client, sleeps = make_client(url, tmp_path)
    with pytest.raises(VLMError, match=rf"image Misc_8: .* HTTP 401 \(check {ENV_API_KEY}\)"):
        client.describe_image(gradient_image(), "Misc_8")
    assert len(state.requests) == 1 and sleeps == []


def test_timeout_is_retried_then_fails_clearly(chat_server, tmp_path):
    url, state = chat_server
    state.script = [Reply(200, chat_answer(ANSWER), delay=1.0)] * 2
    client, sleeps = make_client(url, tmp_path, timeout=0.3, max_retries=1)
    with pytest.raises(VLMError, match=r"image Misc_9: could not get an answer .* 2 attempt\(s\); last error: no answer within 0.3 s \(timeout\)"):
        client.describe_image(gradient_image(), "Misc_9")
    assert len(state.requests) == 2 and sleeps == [0.5]


def test_unreachable_host_fails_after_retries(tmp_path):
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client, sleeps = make_client(f"http://127.0.0.1:{port}/v1", tmp_path, max_retries=2, timeout=1.0)
    with pytest.raises(VLMError, match=rf"image Misc_10: could not get an answer from http://127.0.0.1:{port}/v1/chat/completions after 3 attempt.*{ENV_ENDPOINT}"):
        client.describe_image(gradient_image(), "Misc_10")
    assert sleeps == [0.5, 1.0]


def test_no_endpoint_configured_fails_at_once_naming_what_to_set():
    with pytest.raises(VLMConfigError, match=rf"no VLM endpoint configured: pass endpoint=.* {ENV_ENDPOINT}"):
        VLMClient(model="m")
    with pytest.raises(VLMConfigError, match=ENV_ENDPOINT):
        get_source("vlm")
    with pytest.raises(VLMConfigError, match=rf"no VLM model configured.*{ENV_MODEL}"):
        VLMClient(endpoint="http://127.0.0.1:9/v1")


def test_environment_configuration(chat_server, tmp_path, monkeypatch):
    url, state = chat_server
    monkeypatch.setenv(ENV_ENDPOINT, url)
    monkeypatch.setenv(ENV_MODEL, "env-model")
    monkeypatch.setenv(ENV_API_KEY, "env-key")
    src = get_source("vlm", cache_dir=tmp_path)
    desc = src.describe(FakeSample("Misc_11", gradient_image()))
    assert desc.text == ANSWER and desc.source == "vlm"
    assert state.requests[0]["json"]["model"] == "env-model"
    assert state.requests[0]["headers"]["Authorization"] == "Bearer env-key"
    assert "env-key" not in json.dumps(desc.provenance)
    assert desc.provenance["parameters"]["model"] == "env-model" and desc.provenance["uses_ground_truth"] is False


def test_cache_hits_skip_the_server_and_keys_depend_on_model_and_prompt(chat_server, tmp_path):
    url, state = chat_server
    client, _ = make_client(url, tmp_path)
    image = gradient_image()
    first = client.describe_image(image, "a")
    second = client.describe_image(image, "a")
    assert second.from_cache and second.text == first.text and len(state.requests) == 1
    assert client.n_cache_hits == 1
    other_model = VLMClient(url, "other-model", cache_dir=tmp_path / "cache")
    other_prompt, _ = make_client(url, tmp_path, task_prompt="Where is the target?")
    keys = {first.cache_key, other_model.cache_key(np.round(image * 255).astype(np.uint8)),
            other_prompt.cache_key(np.round(image * 255).astype(np.uint8))}
    assert len(keys) == 3
    other_prompt.describe_image(image, "a")
    assert len(state.requests) == 2


def test_long_answer_is_cut_to_the_word_limit_and_recorded(chat_server, tmp_path):
    url, state = chat_server
    long = "The target is in the upper-left part of the frame. " + " ".join(["very"] * 70) + " far."
    state.default = Reply(body=chat_answer(long))
    src = VLMSource(client=make_client(url, tmp_path)[0])
    desc = src.describe(FakeSample("Misc_12", gradient_image()))
    assert desc.text == "The target is in the upper-left part of the frame."
    assert desc.provenance["truncated"] is True and desc.provenance["raw_text"] == long
    assert desc.provenance["n_words_raw"] == count_words(long) > WORD_LIMIT


def test_describe_many_runs_requests_concurrently(chat_server, tmp_path):
    url, state = chat_server
    state.default = Reply(body=chat_answer(ANSWER), delay=0.2)
    client, _ = make_client(url, tmp_path, concurrency=4)
    answers = client.describe_many([(f"img{i}", gradient_image(seed=i)) for i in range(4)])
    assert [a.name for a in answers] == ["img0", "img1", "img2", "img3"]
    assert len(state.requests) == 4 and state.max_in_flight >= 2


def test_endpoint_normalisation():
    assert normalize_endpoint("http://localhost:8000/v1") == "http://localhost:8000/v1/chat/completions"
    assert normalize_endpoint("http://localhost:11434/") == "http://localhost:11434/v1/chat/completions"
    assert normalize_endpoint("https://api.example.com/v1/chat/completions") == "https://api.example.com/v1/chat/completions"
    assert public_endpoint("https://user:pw@api.example.com:8443/v1/chat/completions?key=k") == "https://api.example.com:8443/v1/chat/completions"
    with pytest.raises(VLMConfigError, match=ENV_ENDPOINT):
        normalize_endpoint("localhost:8000")


class MemoryDataset:
    def __init__(self, n):
        self.names = [f"IMG{i}" for i in range(n)]
        self.images = [gradient_image(seed=i) for i in range(n)]

    def __getitem__(self, i):
        return FakeSample(self.names[i], self.images[i])


def test_interrupted_vlm_run_over_a_dataset_resumes(chat_server, tmp_path):
    url, state = chat_server
    ds = MemoryDataset(5)
    # Image 3 gets a non-retryable error: the run stops after two finished images.
    state.script = [Reply(body=chat_answer("First.")), Reply(body=chat_answer("Second.")), Reply(400, b"bad request")]
    src = VLMSource(client=make_client(url, tmp_path, concurrency=1)[0])
    with pytest.raises(VLMError, match="image IMG2: .*HTTP 400"):
        describe_dataset(ds, src, out_dir=tmp_path / "out", progress=False)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.txt")) == ["IMG0.description.txt", "IMG1.description.txt"]
    assert len(state.requests) == 3
    summary = describe_dataset(ds, src, out_dir=tmp_path / "out", progress=False)
    assert summary["n_written"] == 3 and summary["n_skipped"] == 2
    assert len(state.requests) == 6  # only IMG2..IMG4 were asked again
    assert (tmp_path / "out" / "IMG0.description.txt").read_text() == "First.\n"
    record = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert record["sources"]["vlm"]["parameters"]["model"] == "test-vlm" and len(record["images"]) == 5
    # Lost output files but a warm cache: a rerun asks the server nothing.
    for p in (tmp_path / "out").glob("IMG[234].description.txt"):
        p.unlink()
    again = describe_dataset(ds, src, out_dir=tmp_path / "out", progress=False, workers=3)
    assert again["n_written"] == 3 and len(state.requests) == 6
