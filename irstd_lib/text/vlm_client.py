"""Descriptions from any OpenAI-compatible vision chat model (hosted, vLLM, Ollama).

LGNet wrote its descriptions with GPT-4V, system role "You are an expert who can locate the
small target in the infrared image." and task "Locate the small target within the infrared
image and respond succinctly within 50 words, detailing the region where the target is
situated." This client sends exactly that to any server speaking the chat-completions protocol:

* ``POST <endpoint>/chat/completions`` with ``{"model", "messages": [system, user], "temperature",
  "max_tokens"}``; the user message has two content parts, the task text and the image as an
  ``image_url`` part holding a ``data:image/png;base64,...`` URL. The image is the sample's
  grayscale array quantised to 8 bits (``round(x * 255)``) and PNG-encoded ("L" mode), so the
  model sees what the detector sees.
* Endpoint: a base URL such as ``http://localhost:8000/v1`` (vLLM), ``http://localhost:11434/v1``
  (Ollama) or ``https://api.openai.com/v1``; "/chat/completions" is appended unless the URL
  already ends with it, and a URL with no path gets "/v1/chat/completions".
* Configuration: arguments, else the environment: ``IRSTD_VLM_ENDPOINT``, ``IRSTD_VLM_MODEL``,
  ``IRSTD_VLM_API_KEY`` (sent as "Authorization: Bearer ..."; never written to disk or to a
  provenance record). With no endpoint or no model the client fails at construction, saying
  which argument or variable to set.
* Robustness: HTTP 408, 429 and 5xx, timeouts and connection errors are retried ``max_retries``
  times with exponential backoff (``backoff * 2**attempt`` seconds, capped at ``max_backoff``);
  a ``Retry-After`` header (seconds or an HTTP date) replaces the backoff, capped at
  ``max_retry_after``. Short default timeout (20 s per request): nothing hangs. Other HTTP errors
  (400, 401, 404...) fail at once. A malformed answer (not JSON, no ``choices[0].message.content``,
  empty text) is an error naming the image. Loopback endpoints bypass any proxy configured in
  the environment.
* Cache: one JSON file per answer under ``cache_dir`` (default ``irstd_lib.paths.cache_dir("vlm")``),
  named by the SHA-256 of endpoint + model + prompts + sampling settings + image pixels, written
  atomically. An interrupted run over 1,000 images resumes where it stopped; a changed prompt
  or model is a different key.
* Word limit: the answer is cut to ``max_words`` (50, LGNet's limit) at a sentence or word
  boundary (``word_limit.enforce_word_limit``); the provenance records whether it was cut and
  keeps the raw answer when it was. ``max_words=None`` keeps the answer as written (what the
  VLM experiments of :mod:`irstd_lib.reproductions.lgnet_vlm` measure).
* Prompt styles (LGNet 5.3.2): ``system_prompt=None`` (or "") sends no system message (the
  zero-shot template "contains only the question without any task description or additional role
  definition"); ``few_shot`` is a sequence of :class:`FewShotExample` (an image and its
  description) sent before the query as user/assistant turns, each user turn holding the task
  text and the example's image ("we provide some examples in the prompt where we describe the
  small target in the text along with the infrared image"). Both enter the cache key only when
  used, so the default keys are unchanged.
* API key from a named variable: ``api_key_env`` (default ``IRSTD_VLM_API_KEY``) names the
  environment variable the key is read from when ``api_key`` is not given, so that two endpoints
  with two keys can be configured side by side.
* Concurrency: ``describe_many`` and ``describe_dataset`` run up to ``concurrency`` requests at
  once in a thread pool.

Only the standard library is used for HTTP (``urllib.request``). This module is the client
only: the ``vlm`` description source that uses it is
:class:`irstd_lib.text.descriptions.vlm.VLMSource`, and nothing here imports the descriptions
package.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import io
import ipaddress
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from irstd_lib.io import atomic_write_json
from irstd_lib.text.word_limit import WORD_LIMIT, count_words, enforce_word_limit

LGNET_SYSTEM_PROMPT = "You are an expert who can locate the small target in the infrared image."
LGNET_TASK_PROMPT = (
    "Locate the small target within the infrared image and respond succinctly within 50 words, "
    "detailing the region where the target is situated."
)

ENV_ENDPOINT = "IRSTD_VLM_ENDPOINT"
ENV_MODEL = "IRSTD_VLM_MODEL"
ENV_API_KEY = "IRSTD_VLM_API_KEY"

RETRYABLE_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


class VLMError(RuntimeError):
    """A VLM request failed (unreachable server, HTTP error, malformed answer)."""


class VLMConfigError(VLMError, ValueError):
    """The client is not configured (no endpoint, no model)."""


def normalize_endpoint(endpoint: str) -> str:
    """The full chat-completions URL for a base URL (see the module docstring)."""
    endpoint = endpoint.strip()
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise VLMConfigError(
            f"VLM endpoint {endpoint!r} is not an http(s) URL; set {ENV_ENDPOINT} or endpoint= to e.g. http://localhost:8000/v1"
        )
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path = (path or "/v1") + "/chat/completions"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def public_endpoint(url: str) -> str:
    """``url`` without user-info and query (which may carry credentials): what provenance and
    cache keys record."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def image_to_png(image: np.ndarray) -> bytes:
    """8-bit grayscale PNG of a float image in [0, 1] (``round(x * 255)``, clipped)."""
    return _png_from_uint8(image_to_uint8(image))


def image_to_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be a 2-D (H, W) array, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def _png_from_uint8(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def image_data_url(image: np.ndarray) -> str:
    """``data:image/png;base64,...`` for the image."""
    return "data:image/png;base64," + base64.b64encode(image_to_png(image)).decode("ascii")


@dataclass(frozen=True)
class FewShotExample:
    """One example of a few-shot prompt: an image (2-D float in [0, 1] or uint8) and the
    description the model is shown for it."""

    image: np.ndarray
    text: str

    def pixels(self) -> np.ndarray:
        return image_to_uint8(self.image)

    def record(self) -> dict[str, Any]:
        """What identifies the example (its pixels by SHA-256, its text)."""
        return {"image_sha256": pixel_sha256(self.pixels()), "text": self.text}


def pixel_sha256(pixels: np.ndarray) -> str:
    """SHA-256 of an 8-bit image's shape and pixels (the image part of a cache key)."""
    return hashlib.sha256(f"{pixels.shape[0]}x{pixels.shape[1]}:".encode() + np.ascontiguousarray(pixels).tobytes()).hexdigest()


@dataclass
class VLMConfig:
    """Everything that determines a request. ``api_key`` is excluded from repr and records."""

    endpoint: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 20.0
    max_retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 16.0
    max_retry_after: float = 60.0
    temperature: float = 0.0
    max_tokens: int = 200
    system_prompt: str | None = LGNET_SYSTEM_PROMPT
    task_prompt: str = LGNET_TASK_PROMPT
    max_words: int | None = WORD_LIMIT
    few_shot: tuple[FewShotExample, ...] = ()

    @classmethod
    def resolve(
        cls, endpoint: str | None = None, model: str | None = None, api_key: str | None = None,
        api_key_env: str = ENV_API_KEY, **kwargs: Any
    ) -> "VLMConfig":
        """Arguments first, then ``IRSTD_VLM_ENDPOINT`` / ``IRSTD_VLM_MODEL`` / the variable
        ``api_key_env`` names (``IRSTD_VLM_API_KEY`` by default)."""
        endpoint = endpoint or os.environ.get(ENV_ENDPOINT) or None
        model = model or os.environ.get(ENV_MODEL) or None
        api_key = api_key or (os.environ.get(api_key_env) if api_key_env else None) or None
        if not endpoint:
            raise VLMConfigError(
                f"no VLM endpoint configured: pass endpoint=... (CLI: --vlm-endpoint) or set the environment variable "
                f"{ENV_ENDPOINT}, e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama) or "
                f"https://api.openai.com/v1 (then also set {ENV_API_KEY})"
            )
        if not model:
            raise VLMConfigError(
                f"no VLM model configured: pass model=... (CLI: --vlm-model) or set the environment variable {ENV_MODEL} "
                f"to the model name the server at {public_endpoint(normalize_endpoint(endpoint))} serves"
            )
        if "few_shot" in kwargs:
            kwargs["few_shot"] = tuple(kwargs["few_shot"] or ())
        cfg = cls(endpoint=normalize_endpoint(endpoint), model=model, api_key=api_key, **kwargs)
        if cfg.timeout <= 0 or cfg.max_retries < 0 or (cfg.max_words is not None and cfg.max_words < 1):
            raise VLMConfigError("timeout must be > 0, max_retries >= 0 and max_words >= 1 (or None: no cut)")
        return cfg

    def record(self) -> dict[str, Any]:
        """What identifies the answers (no API key): provenance parameters and cache key input."""
        return {
            "endpoint": public_endpoint(self.endpoint),
            "model": self.model,
            "system_prompt": self.system_prompt,
            "task_prompt": self.task_prompt,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "image_encoding": "png-L8-base64-data-url",
            # Only when used, so that the keys of every answer cached before them stay as they were.
            **({"few_shot": [example.record() for example in self.few_shot]} if self.few_shot else {}),
        }


@dataclass
class VLMAnswer:
    name: str
    text: str
    raw_text: str
    truncated: bool
    n_words_raw: int
    cache_key: str
    from_cache: bool


class VLMClient:
    """Chat-completions client with retries, a per-image answer cache and a word limit.

    ``cache_dir=None`` uses the package cache (``$IRSTD_CACHE/vlm``), ``cache_dir=False``
    disables caching. ``sleep`` is injectable so tests can record backoff delays. Counters
    ``n_requests`` (HTTP attempts) and ``n_cache_hits`` are kept for reporting.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        cache_dir: str | os.PathLike | bool | None = None,
        concurrency: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        **config: Any,
    ):
        self.config = VLMConfig.resolve(endpoint, model, api_key, **config)
        if cache_dir is False:
            self.cache_dir: Path | None = None
        elif cache_dir is None or cache_dir is True:
            from irstd_lib.paths import cache_dir as package_cache_dir

            self.cache_dir = package_cache_dir("vlm")
        else:
            self.cache_dir = Path(cache_dir)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        if concurrency < 1:
            raise VLMConfigError(f"concurrency must be >= 1, got {concurrency}")
        self.concurrency = concurrency
        self._sleep = sleep
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(self.config.endpoint) else []
        self._opener = urllib.request.build_opener(*handlers)
        self.n_requests = 0
        self.n_cache_hits = 0
        self._lock = threading.Lock()

    # -- keys and cache ------------------------------------------------------------------

    def cache_key(self, pixels: np.ndarray) -> str:
        image_hash = pixel_sha256(pixels)
        payload = json.dumps({**self.config.record(), "image_sha256": image_hash}, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _cache_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> str | None:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            text = entry["raw_text"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable entry: ask again and overwrite it
        return text if isinstance(text, str) and text.strip() else None

    def _cache_put(self, key: str, name: str, raw_text: str) -> None:
        path = self._cache_path(key)
        if path is not None:
            atomic_write_json(path, {"key": key, "name": name, **self.config.record(), "raw_text": raw_text})

    # -- HTTP ----------------------------------------------------------------------------

    def _user_turn(self, pixels: np.ndarray) -> dict[str, Any]:
        url = "data:image/png;base64," + base64.b64encode(_png_from_uint8(pixels)).decode("ascii")
        return {
            "role": "user",
            "content": [
                {"type": "text", "text": self.config.task_prompt},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }

    def request_body(self, pixels: np.ndarray) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if self.config.system_prompt:
            messages.append({"role": "system", "content": self.config.system_prompt})
        for example in self.config.few_shot:
            messages += [self._user_turn(example.pixels()), {"role": "assistant", "content": example.text}]
        messages.append(self._user_turn(pixels))
        return {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }

    def _backoff(self, attempt: int) -> float:
        return min(self.config.max_backoff, self.config.backoff * (2.0**attempt))

    def _retry_after(self, headers: Any) -> float | None:
        value = headers.get("Retry-After") if headers is not None else None
        if not value:
            return None
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - time.time()
        return float(min(max(seconds, 0.0), self.config.max_retry_after))

    def _post(self, body: bytes, name: str) -> bytes:
        cfg = self.config
        url = cfg.endpoint
        shown = public_endpoint(url)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        attempts = cfg.max_retries + 1
        last_error = "no attempt made"
        for attempt in range(attempts):
            delay = self._backoff(attempt)
            try:
                with self._lock:
                    self.n_requests += 1
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with self._opener.open(request, timeout=cfg.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code not in RETRYABLE_STATUS:
                    hint = f" (check {ENV_API_KEY})" if exc.code in (401, 403) else ""
                    hint = hint or (f" (check {ENV_MODEL} and {ENV_ENDPOINT})" if exc.code == 404 else "")
                    raise VLMError(f"image {name}: {shown} answered HTTP {exc.code}{hint}: {detail}") from None
                last_error = f"HTTP {exc.code}: {detail}"
                retry_after = self._retry_after(exc.headers)
                if retry_after is not None:
                    delay = retry_after
            except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    last_error = f"no answer within {cfg.timeout:g} s (timeout)"
                else:
                    last_error = f"{type(reason).__name__}: {reason}"
            if attempt < attempts - 1:
                self._sleep(delay)
        raise VLMError(
            f"image {name}: could not get an answer from {shown} after {attempts} attempt(s); last error: {last_error}. "
            f"Check that the server is running and reachable and that {ENV_ENDPOINT} / endpoint= is right."
        )

    def _parse(self, payload: bytes, name: str) -> str:
        shown = public_endpoint(self.config.endpoint)
        excerpt = payload[:200].decode("utf-8", errors="replace")
        try:
            data = json.loads(payload)
        except ValueError:
            raise VLMError(f"image {name}: malformed answer from {shown}: not JSON: {excerpt!r}") from None
        if isinstance(data, dict) and "error" in data and "choices" not in data:
            raise VLMError(f"image {name}: {shown} returned an error: {json.dumps(data['error'])[:300]}")
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise VLMError(
                f"image {name}: malformed answer from {shown}: no choices[0].message.content in {excerpt!r}"
            ) from None
        if isinstance(content, list):  # some servers return content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str) or not content.strip():
            raise VLMError(f"image {name}: malformed answer from {shown}: empty message content")
        return content.strip()

    # -- public --------------------------------------------------------------------------

    def describe_image(self, image: np.ndarray, name: str = "<image>") -> VLMAnswer:
        """One description for one image (cached)."""
        pixels = image_to_uint8(image)
        key = self.cache_key(pixels)
        raw = self._cache_get(key)
        from_cache = raw is not None
        if raw is None:
            body = json.dumps(self.request_body(pixels)).encode("utf-8")
            raw = self._parse(self._post(body, name), name)
            self._cache_put(key, name, raw)
        else:
            with self._lock:
                self.n_cache_hits += 1
        if self.config.max_words is None:
            text, truncated = raw, False
        else:
            text, truncated = enforce_word_limit(raw, self.config.max_words)
        return VLMAnswer(name, text, raw, truncated, count_words(raw), key, from_cache)

    def describe_many(self, items: Iterable[tuple[str, np.ndarray]]) -> list[VLMAnswer]:
        """Describe ``(name, image)`` pairs with up to ``concurrency`` requests at once; answers
        in input order. The first failure is raised after the running requests finish (answers
        that completed are cached, so a rerun does not repeat them)."""
        items = list(items)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self.describe_image, image, name) for name, image in items]
            return [f.result() for f in futures]


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(300)
    except Exception:
        body = b""
    text = body.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text or (exc.reason if isinstance(exc.reason, str) else "no detail")

