"""LGNet's VLM experiments (sections 5.3.2, 5.3.3 / Table 3, 5.6.2, 5.6.5, 5.6.6), measured.

The paper shows each of these as example answers of GPT-4V (Figs 6, 8, 9, 10). Here each is a
set of prompt conditions sent, through :class:`irstd_lib.text.vlm_client.VLMClient`, to any
OpenAI-compatible chat endpoint (a hosted API, vLLM, Ollama) for every image of a dataset's test
split, and the answers are measured against the test masks
(:mod:`irstd_lib.text.vlm_responses`): refusal rate, agreement of the position words with the
target's quadrant and centre, words per answer, targets named against the targets in the mask
(hallucination) and, for 5.6.2, the IoU of the VLM's box with the target's box.

The conditions, with the paper's words where it gives them:

* **Prompt style** (5.3.2, Fig. 6), :func:`prompt_style_conditions`: *zero-shot*: "The
  zero-shot chat template contains only the question without any task description or additional
  role definition. ... we ask GPT-4 Vision to 'Detect the small target in the infrared image.'"
  (no system message, that question); *few-shot*: "we provide some examples in the prompt where
  we describe the small target in the text along with the infrared image" (the paper gives neither
  the examples nor their number: ours are the first ``n_few_shot`` training images, 2 by default,
  each a user turn with the zero-shot question and the image and an assistant turn with its
  description: the dataset's description files when it has them, else the ``semantic`` template
  from the *training* masks; no system message, so that the examples are the only difference from
  zero-shot); *system prompt*: "we define the system role of GPT-4 as an 'expert who can locate
  the small target in the infrared image.' ... including a well-defined task description:
  'Locate the small target within the infrared image and respond succinctly within 50 words,
  detailing the region where the target is situated'" (:data:`LGNET_SYSTEM_PROMPT`,
  :data:`LGNET_TASK_PROMPT`).
* **Word limit** (5.6.5, Fig. 9), :func:`word_limit_conditions`: "We compared the generated text
  by imposing a 50-word limit versus allowing responses with no word limit ... we kept the maximum
  token size the same and only changed the response limit in the prompt." The limited task is
  LGNet's with ``{n}`` words; the unlimited one is LGNet's task with "and respond succinctly
  within 50 words" removed (our reading: the paper does not print it). ``max_tokens`` is the same
  for every condition, and no answer is cut (``max_words=None``): what is measured is what the
  VLM wrote.
* **"target" vs "targets"** (5.6.6, Fig. 10), :func:`target_word_conditions`: "if the word
  'target' is changed to 'targets' in the system prompt template, the VLM often generates
  hallucinated descriptions". The plural condition changes the system role's "the small target"
  to "the small targets"; ``plural_in_task=True`` also pluralises the task description (the
  paper's "system prompt template" may mean both: a switch).
* **Box annotation** (5.6.2, Fig. 8): "when we asked the VLM to exactly annotate the infrared
  image by creating a bounding box, it failed to do so". The paper gives no prompt; ours
  (:data:`BOX_TASK_PROMPT`) asks for ``[x_min, y_min, x_max, y_max]`` as fractions of the width
  and height (a VLM does not see the image's pixel size) and one sentence on the region, with
  LGNet's system role; the box is scored by IoU with the target's box, the sentence by the same
  position measures ("the generated text description is correct").
* **Two VLMs** (5.3.3, Table 3), :func:`model_comparison`: LGNet's prompt to two endpoints or
  models. The paper's Table 3 gives LGNet's IoU and nIoU trained on each VLM's descriptions
  (73.3 / 69.0 with GPT-4V, 73.2 / 68.7 with Claude 3.5 Sonnet); here the descriptions
  themselves are measured (training LGNet on them: ``python -m irstd_lib describe --source vlm``,
  then descriptions from the files).

Records: every (endpoint, model, condition, split) is one record folder
``<results>/vlm_runs/<hash>/`` (beside, not inside, the trained runs' ``runs/``), the hash being
:func:`irstd_lib.runs.identity.run_hash` over the client's request settings (endpoint without
credentials, model, prompts, few-shot examples by pixel hash and text, temperature, max_tokens,
image encoding) and the SHA-256 of the split's images (names and pixels): content, not paths::

    config.json     the identity, the condition, the dataset and split, what read a mask
    responses.json  per image: name, the client's cache key (endpoint + model + prompt + image),
                    the raw answer
    metrics.json    written last: per-image measures and their summary, the measuring rules'
                    version and box units

All three are written atomically; a finished record is read instead of asking again (tables
render from records), and each answer is also in the client's answer cache
(``$IRSTD_CACHE/vlm``), so an interrupted run resumes. The VLM sees only the images (and, for
few-shot, training images and descriptions): no record's input read a test mask. The
measures read the test masks to score, as every evaluation does; records and captions say so.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from irstd_lib.io import atomic_write_json
from irstd_lib.text.vlm_client import (
    ENV_API_KEY,
    LGNET_SYSTEM_PROMPT,
    LGNET_TASK_PROMPT,
    FewShotExample,
    VLMClient,
    image_to_uint8,
    pixel_sha256,
)

if TYPE_CHECKING:
    import pandas as pd

# pandas, the runs layer and the answer measures are imported where they are used: a notebook
# without an endpoint imports this module only to say that it skips, and does so at once.

__all__ = [
    "BOX_TASK_PROMPT", "Condition", "Endpoint", "VLMRecord", "ZERO_SHOT_QUESTION", "box_conditions", "box_figure",
    "endpoint_from_parameters", "measure", "measures_figure", "model_comparison", "paper_table3",
    "prompt_style_conditions", "summary_table", "target_word_conditions", "word_limit_conditions",
]

#: 5.3.2: "we ask GPT-4 Vision to 'Detect the small target in the infrared image.'"
ZERO_SHOT_QUESTION = "Detect the small target in the infrared image."
#: 5.6.6: LGNet's system role with "target" changed to "targets"
PLURAL_SYSTEM_PROMPT = LGNET_SYSTEM_PROMPT.replace("the small target", "the small targets")
PLURAL_TASK_PROMPT = ("Locate the small targets within the infrared image and respond succinctly within 50 words, "
                      "detailing the regions where the targets are situated.")
#: 5.6.2, in our words (the paper does not print its box prompt)
BOX_TASK_PROMPT = (
    "Locate the small target within the infrared image and annotate it with a bounding box. Give the box as "
    "[x_min, y_min, x_max, y_max] in fractions of the image width and height (0 to 1, origin at the top-left "
    "corner), then describe in one sentence the region where the target is situated."
)

RECORDS_FOLDER = "vlm_runs"
RECORD_KIND = "lgnet_vlm_responses"
RECORD_FORMAT = 1
#: bumped when a rule of irstd_lib.text.vlm_responses changes: the measures are then recomputed
#: from the recorded answers (nothing is asked again)
MEASURES_VERSION = 1
CONFIG_FILE, RESPONSES_FILE, METRICS_FILE = "config.json", "responses.json", "metrics.json"

SCORING_NOTE = ("The VLM saw only the test images (few-shot: also training images and their descriptions); "
                "its answers are scored against the test masks (the measures read the test ground truth, "
                "as any evaluation does).")


def word_limit_task(n_words: int | None) -> str:
    """LGNet's task description with an ``n_words`` limit (50: LGNet's own, verbatim), or with
    the limit removed (None; our wording of 5.6.5's "no word limit")."""
    if n_words is None:
        return "Locate the small target within the infrared image, detailing the region where the target is situated."
    return (f"Locate the small target within the infrared image and respond succinctly within {int(n_words)} words, "
            "detailing the region where the target is situated.")


if word_limit_task(50) != LGNET_TASK_PROMPT:  # the 50-word condition is LGNet's prompt itself
    raise AssertionError("word_limit_task(50) must be LGNet's task description")


@dataclass(frozen=True)
class Condition:
    """One prompt condition: its label, the system message (None: none), the task text, the
    number of few-shot examples, and whether the answer holds a box to score."""

    label: str
    system_prompt: str | None
    task_prompt: str
    few_shot: int = 0
    boxes: bool = False


def prompt_style_conditions(n_few_shot: int = 2) -> list[Condition]:
    """5.3.2 / Fig. 6: zero-shot, few-shot, system prompt (see the module docstring)."""
    if n_few_shot < 1:
        raise ValueError(f"n_few_shot must be >= 1, got {n_few_shot}")
    return [Condition("zero-shot", None, ZERO_SHOT_QUESTION),
            Condition(f"few-shot ({n_few_shot} examples)", None, ZERO_SHOT_QUESTION, few_shot=n_few_shot),
            Condition("system prompt (LGNet's)", LGNET_SYSTEM_PROMPT, LGNET_TASK_PROMPT)]


def word_limit_conditions(word_limits: Sequence[int | None] = (50, None)) -> list[Condition]:
    """5.6.5 / Fig. 9: LGNet's prompt with each word limit (None: no limit in the prompt)."""
    return [Condition("no word limit" if n is None else f"{int(n)}-word limit", LGNET_SYSTEM_PROMPT, word_limit_task(n))
            for n in word_limits]


def target_word_conditions(plural_in_task: bool = False) -> list[Condition]:
    """5.6.6 / Fig. 10: "target" (LGNet's) vs "targets" in the system prompt (and, with
    ``plural_in_task``, in the task description too)."""
    return [Condition('"target" (LGNet\'s)', LGNET_SYSTEM_PROMPT, LGNET_TASK_PROMPT),
            Condition('"targets"' + (" (system and task)" if plural_in_task else " (system prompt)"), PLURAL_SYSTEM_PROMPT,
                      PLURAL_TASK_PROMPT if plural_in_task else LGNET_TASK_PROMPT)]


def box_conditions() -> list[Condition]:
    """5.6.2 / Fig. 8: LGNet's system role, a box asked for (:data:`BOX_TASK_PROMPT`)."""
    return [Condition("bounding box asked for", LGNET_SYSTEM_PROMPT, BOX_TASK_PROMPT, boxes=True)]


# ---------------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat endpoint: base URL, model, and the name of the environment
    variable holding its API key (the key itself is never a parameter, never written)."""

    base_url: str
    model: str
    api_key_env: str = ENV_API_KEY

    @property
    def label(self) -> str:
        return self.model

    def client(self, condition: Condition, few_shot: Sequence[FewShotExample] = (), **settings: Any) -> VLMClient:
        if condition.few_shot and len(few_shot) < condition.few_shot:
            raise ValueError(f"condition {condition.label!r} needs {condition.few_shot} few-shot examples, got {len(few_shot)}")
        return VLMClient(self.base_url, self.model, api_key_env=self.api_key_env or "", system_prompt=condition.system_prompt,
                         task_prompt=condition.task_prompt, few_shot=tuple(few_shot[:condition.few_shot]), max_words=None,
                         **settings)


def endpoint_from_parameters(base_url: str | None, model: str | None, api_key_env: str | None = ENV_API_KEY,
                             what: str = "this notebook", names: tuple[str, str] = ("vlm_base_url", "vlm_model")
                             ) -> Endpoint | None:
    """The endpoint a notebook's parameters name, or None (printing why ``what`` is skipped and
    what it needs: the parameters ``names``) when the base URL or the model is missing."""
    missing = [name for name, value in zip(names, (base_url, model)) if not value]
    if missing:
        print(f"Skipped: {what} measures a VLM's answers and needs an OpenAI-compatible chat endpoint: set the "
              f"parameter(s) {', '.join(missing)} (papermill -p {names[0]} http://localhost:8000/v1 -p {names[1]} NAME; "
              f"an API key is read from the environment variable named by vlm_api_key_env, default {ENV_API_KEY}). "
              "Nothing was measured or written.")
        return None
    return Endpoint(str(base_url), str(model), api_key_env if api_key_env is not None else ENV_API_KEY)


# ---------------------------------------------------------------------------------------------
# Data


def _split(profile: str, data_root, split: str, with_descriptions: bool = False):
    """A split of the profile's dataset (its synthetic set, or ``data_root``) as the runs open it
    (:func:`irstd_lib.runs.open_split` of the profile's data settings)."""
    from irstd_lib.profiles import get_profile
    from irstd_lib.runs.data import open_split, resolve_data_root

    chosen = get_profile(profile)
    data = chosen.data_config(chosen.dataset_for(data_root))
    root = resolve_data_root(data, data_root)
    has_files = with_descriptions and (Path(root) / "descriptions").is_dir()
    return open_split(data, root, split, with_descriptions=has_files), root


def few_shot_examples(profile: str, data_root, n: int, split: str = "trainval") -> tuple[list[FewShotExample], str]:
    """The first ``n`` training images with their descriptions (the dataset's files, else the
    ``semantic`` template from the training masks), and where the texts came from."""
    dataset, root = _split(profile, data_root, split, with_descriptions=True)
    if len(dataset) < n:
        raise ValueError(f"{root}: split {split!r} has {len(dataset)} images, fewer than the {n} few-shot examples asked for")
    samples = [dataset[i] for i in range(n)]
    if all(s.description for s in samples):
        return [FewShotExample(s.image, s.description.strip()) for s in samples], f"description files of {split}"
    from irstd_lib.text.descriptions import get_source

    semantic = get_source("semantic")
    return ([FewShotExample(s.image, semantic.describe(s).text) for s in samples],
            f"semantic template from the {split} masks (training ground truth)")


# ---------------------------------------------------------------------------------------------
# Records


@dataclass
class VLMRecord:
    """One measured condition: its hash and folder, what it was, the answers and their measures."""

    hash: str
    folder: Path
    condition: str
    model: str
    experiment: str
    per_image: pd.DataFrame
    summary: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)


def records_root(results_dir=None) -> Path:
    """``<results>/vlm_runs``."""
    from irstd_lib.results import results_root

    return results_root(results_dir) / RECORDS_FOLDER


def _summary(per_image: list[dict], boxes: bool) -> dict[str, Any]:
    import pandas as pd

    frame = pd.DataFrame(per_image)
    n = len(frame)
    pct = lambda series: float(100.0 * series.fillna(False).astype(bool).sum() / n) if n else float("nan")  # noqa: E731
    named = frame["targets_named"]
    known = named.notna()
    out = {
        "images": n,
        "refusals %": pct(frame["refused"]),
        "position agrees %": pct(frame["position_agrees"]),
        "quadrant agrees %": pct(frame["quadrant_agrees"]),
        "centre agrees %": pct(frame["centre_agrees"]),
        "words per answer": float(frame["words"].mean()) if n else float("nan"),
        "targets named = in mask %": pct(known & (named == frame["targets_in_mask"])),
        "more named than in mask % (hallucination)": pct(known & (named > frame["targets_in_mask"])),
        "targets in mask (mean)": float(frame["targets_in_mask"].mean()) if n else float("nan"),
        "targets named (mean)": float(named[known].mean()) if known.any() else float("nan"),
    }
    if boxes:
        out.update({"box given %": pct(frame["box"].notna()), "box IoU (mean)": float(frame["box_iou"].mean()),
                    "box IoU >= 0.5 %": pct(frame["box_iou"] >= 0.5), "box covers target %": pct(frame["box_covers_target"])})
    return out


def _measures(responses: list[dict], masks: dict[str, np.ndarray], boxes: bool, box_units: str) -> list[dict]:
    from irstd_lib.text.vlm_responses import measure_response

    rows = []
    for response in responses:
        name = response["name"]
        if name not in masks:
            raise ValueError(f"recorded answer for {name!r} has no image of that name in the split")
        rows.append({"image": name, **measure_response(response["raw_text"], masks[name], box_units if boxes else None)})
    return rows


def measure(
    endpoint: Endpoint, conditions: Sequence[Condition], *, experiment: str, profile: str = "smoke", data_root=None,
    results_dir=None, split: str = "test", max_images: int | None = None, max_tokens: int = 300,
    temperature: float = 0.0, timeout: float = 60.0, concurrency: int = 4, max_retries: int = 3, cache_dir=None,
    box_units: str = "auto",
) -> list[VLMRecord]:
    """Ask ``endpoint`` about every image of ``split`` under each condition, write (or read) one
    record per condition and return them (see the module docstring). ``max_images``: the first
    images only (None: the whole split). The settings (max_tokens, temperature) are the same for
    every condition: 5.6.5 kept the token limit fixed."""
    import pandas as pd

    from irstd_lib.runs.identity import run_hash
    from irstd_lib.text.vlm_responses import BOX_UNITS

    if box_units not in BOX_UNITS:
        raise ValueError(f"box_units must be one of {', '.join(BOX_UNITS)}, got {box_units!r}")
    dataset, root = _split(profile, data_root, split)
    n = len(dataset) if max_images is None else min(int(max_images), len(dataset))
    if n == 0:
        raise ValueError(f"{root}: split {split!r} has no images to ask about")
    samples = [dataset[i] for i in range(n)]
    pixels = {s.name: image_to_uint8(s.image) for s in samples}
    masks = {s.name: np.asarray(s.mask, dtype=bool) for s in samples}
    images_sha = hashlib.sha256(json.dumps([[name, pixel_sha256(p)] for name, p in pixels.items()]).encode()).hexdigest()
    few_shot: list[FewShotExample] = []
    few_shot_source = None
    if any(c.few_shot for c in conditions):
        few_shot, few_shot_source = few_shot_examples(profile, data_root, max(c.few_shot for c in conditions))
    settings = {"max_tokens": max_tokens, "temperature": temperature, "timeout": timeout, "concurrency": concurrency,
                "max_retries": max_retries, **({"cache_dir": cache_dir} if cache_dir is not None else {})}
    records = []
    for condition in conditions:
        client = endpoint.client(condition, few_shot, **settings)
        identity = {"kind": RECORD_KIND, "format": RECORD_FORMAT, "request": client.config.record(),
                    "images": {"split": split, "n": n, "sha256": images_sha}}
        digest = run_hash(identity)
        folder = records_root(results_dir) / digest
        config = {"hash": digest, "identity": identity, "experiment": experiment, "condition": condition.label,
                  "boxes": condition.boxes, "model": endpoint.model,
                  "dataset": {"folder": Path(root).name, "split": split, "fingerprint": dataset.fingerprint(), "images": n},
                  "vlm_input_reads_test_ground_truth": False,
                  "few_shot_source": few_shot_source if condition.few_shot else None}
        responses = _read_responses(folder, digest)
        if responses is None:
            answers = client.describe_many((name, pixels[name]) for name in pixels)
            responses = [{"name": a.name, "cache_key": a.cache_key, "raw_text": a.raw_text} for a in answers]
            atomic_write_json(folder / CONFIG_FILE, config)
            atomic_write_json(folder / RESPONSES_FILE, {"hash": digest, "responses": responses})
        metrics = _read_json(folder / METRICS_FILE)
        if not metrics or metrics.get("measures_version") != MEASURES_VERSION or metrics.get("box_units") != box_units:
            per_image = _measures(responses, masks, condition.boxes, box_units)
            metrics = {"hash": digest, "measures_version": MEASURES_VERSION, "box_units": box_units,
                       "scoring_reads_test_ground_truth": True, "note": SCORING_NOTE,
                       "summary": _summary(per_image, condition.boxes), "per_image": per_image}
            atomic_write_json(folder / METRICS_FILE, metrics)
        records.append(VLMRecord(digest, folder, condition.label, endpoint.model, experiment,
                                 pd.DataFrame(metrics["per_image"]).assign(answer=[r["raw_text"] for r in responses]),
                                 metrics["summary"], config))
    return records


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not a readable VLM record ({exc}); delete the folder to ask again") from None


def _read_responses(folder: Path, digest: str) -> list[dict] | None:
    data = _read_json(folder / RESPONSES_FILE)
    if data is None:
        return None
    if data.get("hash") != digest or not isinstance(data.get("responses"), list):
        raise ValueError(f"{folder / RESPONSES_FILE}: record of another identity or without responses; delete the folder")
    return data["responses"]


def model_comparison(endpoints: Sequence[Endpoint], **kwargs: Any) -> list[VLMRecord]:
    """5.3.3 / Table 3: LGNet's prompt to each endpoint (arguments of :func:`measure`)."""
    if len(endpoints) < 2:
        raise ValueError("model_comparison needs two endpoints (or two models)")
    condition = Condition("system prompt (LGNet's)", LGNET_SYSTEM_PROMPT, LGNET_TASK_PROMPT)
    return [record for endpoint in endpoints for record in measure(endpoint, [condition], **kwargs)]


# ---------------------------------------------------------------------------------------------
# Tables and figures


def summary_table(records: Sequence[VLMRecord]) -> pd.DataFrame:
    """One row per record: condition, VLM, the measures (percentages of all answers; a refusal
    agrees with nothing and names no target), the record's hash."""
    import pandas as pd

    table = pd.DataFrame([{"condition": r.condition, "VLM": r.model, **r.summary, "record": r.hash} for r in records])
    table.attrs["note"] = SCORING_NOTE
    return table


def caption(what: str) -> str:
    return (f"LGNet {what}, measured over the test split. Percentages are of all answers (a refusal agrees with nothing). "
            "Rules: irstd_lib.text.vlm_responses.")


def paper_table3() -> pd.DataFrame:
    """LGNet's Table 3 as the paper reports it (LGNet's IoU and nIoU trained on each VLM's descriptions)."""
    from irstd_lib.paper_reference import reported

    return reported("LGNet", "3")[["dataset", "setting", "IoU", "nIoU"]].rename(
        columns={"IoU": "IoU (paper)", "nIoU": "nIoU (paper)"})


_FIGURE_MEASURES = ("refusals %", "position agrees %", "more named than in mask % (hallucination)", "box IoU >= 0.5 %")


def measures_figure(records: Sequence[VLMRecord], title: str = ""):
    """Left: refusals, position agreement, hallucination (and box IoU >= 0.5) per condition;
    right: words per answer per condition."""
    import matplotlib.pyplot as plt

    table = summary_table(records)
    labels = [f"{c}\n{m}" if table["VLM"].nunique() > 1 else c for c, m in zip(table["condition"], table["VLM"])]
    measures = [m for m in _FIGURE_MEASURES if m in table]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(measures)
    x = np.arange(len(table))
    for i, measure_name in enumerate(measures):
        left.bar(x + (i - (len(measures) - 1) / 2) * width, table[measure_name].to_numpy(dtype=float), width, label=measure_name)
    left.set_xticks(x, labels, fontsize=7)
    left.set_ylabel("% of answers")
    left.set_ylim(0, 100)
    left.legend(fontsize=6)
    right.boxplot([r.per_image["words"].to_numpy() for r in records], showmeans=True)
    right.set_xticks(np.arange(1, len(records) + 1), labels, fontsize=7)
    right.set_ylabel("words per answer")
    fig.suptitle((title + ": " if title else "") + "scored against the test masks (the VLM saw only the images)", fontsize=9)
    fig.tight_layout()
    return fig


def box_figure(record: VLMRecord, profile: str = "smoke", data_root=None, split: str = "test", n_images: int = 4):
    """The first test images with the target's box (green, from the test mask) and the VLM's box
    (red, when it gave one), the IoU in each title."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from irstd_lib.text.vlm_responses import mask_truth

    dataset, _ = _split(profile, data_root, split)
    rows = record.per_image.head(n_images)
    fig, axes = plt.subplots(1, max(len(rows), 1), figsize=(3 * max(len(rows), 1), 3.2), squeeze=False)
    for ax, (_, row) in zip(axes[0], rows.iterrows()):
        sample = dataset[dataset.index_of(row["image"])]
        ax.imshow(sample.image, cmap="gray", vmin=0, vmax=1)
        for x0, y0, x1, y1 in mask_truth(sample.mask).boxes:
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="lime", linewidth=1.2))
        box = row.get("box")
        if isinstance(box, (list, tuple)) and len(box) == 4:
            ax.add_patch(Rectangle((box[0] - 0.5, box[1] - 0.5), box[2] - box[0], box[3] - box[1], fill=False,
                                   edgecolor="red", linewidth=1.2))
        ax.set_title(f"{row['image']}: IoU {row['box_iou']:.2f}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{record.model}: VLM box (red) and the target's box from the test mask (green)", fontsize=9)
    fig.tight_layout()
    return fig


def example_answers(records: Sequence[VLMRecord], n: int = 3) -> pd.DataFrame:
    """The first ``n`` answers of each record beside their measures, to read with the table."""
    import pandas as pd

    columns = ["image", "answer", "refused", "position_agrees", "targets_named", "targets_in_mask", "words"]
    frames = []
    for record in records:
        frame = record.per_image.head(n)
        frames.append(frame[[c for c in columns + ["box_iou"] if c in frame]].assign(condition=record.condition, VLM=record.model))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def env_endpoint() -> tuple[str | None, str | None]:
    """``(IRSTD_VLM_ENDPOINT, IRSTD_VLM_MODEL)`` from the environment (what ``reproduce`` passes on)."""
    from irstd_lib.text.vlm_client import ENV_ENDPOINT, ENV_MODEL

    return os.environ.get(ENV_ENDPOINT) or None, os.environ.get(ENV_MODEL) or None


# ---------------------------------------------------------------------------------------------
# What ``reproduce`` passes on

#: notebook parameter -> the environment variable ``reproduce`` reads it from when not given
REPRODUCE_PARAMETERS: dict[str, str] = {"vlm_base_url": "IRSTD_VLM_ENDPOINT", "vlm_model": "IRSTD_VLM_MODEL",
                                        "second_vlm_model": "IRSTD_VLM_SECOND_MODEL"}
_OTHER_PARAMETERS = ("vlm_api_key_env", "second_vlm_base_url", "second_vlm_api_key_env")
VLM_PARAMETER_NAMES = tuple(REPRODUCE_PARAMETERS) + _OTHER_PARAMETERS


def reproduce_parameters(extra_parameters: dict | None = None) -> dict[str, Any]:
    """The VLM notebooks' endpoint parameters: the given ones, else from the environment
    (:data:`REPRODUCE_PARAMETERS`)."""
    given = dict(extra_parameters or {})
    out = {key: given[key] for key in VLM_PARAMETER_NAMES if given.get(key)}
    for key, variable in REPRODUCE_PARAMETERS.items():
        if key not in out and os.environ.get(variable):
            out[key] = os.environ[variable]
    return out


def skip_reason(notebook: str, parameters: dict[str, Any]) -> str:
    """Why ``reproduce`` skips a VLM notebook with these parameters ("" when it runs)."""
    if not (parameters.get("vlm_base_url") and parameters.get("vlm_model")):
        return ("no VLM endpoint: set IRSTD_VLM_ENDPOINT (an OpenAI-compatible chat URL such as http://localhost:8000/v1) "
                "and IRSTD_VLM_MODEL (and IRSTD_VLM_API_KEY if it needs a key)")
    if notebook == "lgnet_vlm_table3_models" and not parameters.get("second_vlm_model"):
        return "needs a second VLM: set IRSTD_VLM_SECOND_MODEL (served by the same endpoint)"
    return ""
