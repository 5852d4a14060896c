"""Positional word counts of a description set, as in LangIR's Table 1.

LangIR (Chib & Singh) reports, for its GPT-4V descriptions, how often the positional words
Left, Right, Center, Lower and Upper occur in the NUAA-SIRST and IRSTD-1k train and test
descriptions. The paper does not say how it counted. This module fixes a definition:

* **Tokens.** A description is lower-cased and split into maximal runs of ASCII letters, so
  punctuation and hyphens separate words: "upper-left" contains both "upper" and "left", "left,"
  is "left". Whole words only: "bright" does not contain "right", "leftover" is not "left".
* **Forms.** ``forms="exact"`` (default) counts only the word itself, plus the British spelling
  "centre" for Center. ``forms="extended"`` also counts derived forms (central, centered,
  centred, centrally, leftmost, rightmost, uppermost, lowermost). Or pass your own mapping
  ``{column: [forms...]}``. "top", "bottom" and "middle" are never counted: Table 1 lists
  Upper/Lower/Center, not them.
* **Mode.** ``mode="occurrences"`` (default) counts every occurrence ("left ... left" counts
  2), reading Table 1's "word counts" literally; ``mode="descriptions"`` counts the descriptions
  that contain the word at least once. For our templates (one position per target) the two
  differ only for multi-target images.

Word senses are not disambiguated ("right next to" counts as Right), which is what a plain word
count does and presumably what the paper did.

:data:`LANGIR_TABLE1_REPORTED` holds the paper's own numbers (reported values, to compare
against, never computed here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

#: Table 1's columns, in the paper's order.
POSITION_WORDS: tuple[str, ...] = ("Left", "Right", "Center", "Lower", "Upper")

POSITION_WORD_FORMS: dict[str, tuple[str, ...]] = {
    "Left": ("left",),
    "Right": ("right",),
    "Center": ("center", "centre"),
    "Lower": ("lower",),
    "Upper": ("upper",),
}

EXTENDED_POSITION_WORD_FORMS: dict[str, tuple[str, ...]] = {
    "Left": ("left", "leftmost"),
    "Right": ("right", "rightmost"),
    "Center": ("center", "centre", "central", "centered", "centred", "centrally"),
    "Lower": ("lower", "lowermost"),
    "Upper": ("upper", "uppermost"),
}

#: LangIR, Table 1: positional word counts of the GPT-4V descriptions, as reported in the paper
#: (Chib & Singh, LGNet / LangIR; transcribed in the project's reference/paper_settings.md).
#: Keys: (dataset, split); values in POSITION_WORDS order. These are the paper's reported
#: values, not computed by this package.
LANGIR_TABLE1_REPORTED: dict[tuple[str, str], dict[str, int]] = {
    ("NUAA-SIRST", "train"): {"Left": 157, "Right": 87, "Center": 102, "Lower": 64, "Upper": 111},
    ("NUAA-SIRST", "test"): {"Left": 37, "Right": 30, "Center": 24, "Lower": 12, "Upper": 28},
    ("IRSTD-1k", "train"): {"Left": 340, "Right": 193, "Center": 229, "Lower": 146, "Upper": 247},
    ("IRSTD-1k", "test"): {"Left": 81, "Right": 61, "Center": 53, "Lower": 41, "Upper": 61},
}
LANGIR_TABLE1_SOURCE = "LangIR (Chib & Singh), Table 1, positional word counts of the GPT-4V descriptions (reported)"

_TOKEN = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    """Lower-case whole-word tokens (ASCII letter runs; hyphens and punctuation split words)."""
    return _TOKEN.findall(text.lower())


def _forms(forms: str | Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    if isinstance(forms, str):
        if forms == "exact":
            return dict(POSITION_WORD_FORMS)
        if forms == "extended":
            return dict(EXTENDED_POSITION_WORD_FORMS)
        raise ValueError(f"forms must be 'exact', 'extended' or a mapping, got {forms!r}")
    return {col: tuple(f.lower() for f in fs) for col, fs in forms.items()}


def _as_texts(descriptions: Any) -> dict[str, str]:
    """``{name: text}`` from a mapping name -> text, Description objects or plain strings."""
    if isinstance(descriptions, str):
        raise TypeError("pass a collection of descriptions, not a single string")
    if isinstance(descriptions, Mapping):
        return {str(k): (v.text if hasattr(v, "text") else str(v)) for k, v in descriptions.items()}
    out: dict[str, str] = {}
    for i, item in enumerate(descriptions):
        if hasattr(item, "text"):
            out[getattr(item, "name", str(i))] = item.text
        else:
            out[str(i)] = str(item)
    return out


def count_in_text(text: str, mode: str = "occurrences", forms: str | Mapping[str, Iterable[str]] = "exact") -> dict[str, int]:
    """Counts for one text: occurrences, or 0/1 presence with ``mode="descriptions"``."""
    if mode not in ("occurrences", "descriptions"):
        raise ValueError(f"mode must be 'occurrences' or 'descriptions', got {mode!r}")
    table = _forms(forms)
    tokens = tokenize(text)
    counts = {}
    for col, fs in table.items():
        n = sum(1 for t in tokens if t in fs)
        counts[col] = min(n, 1) if mode == "descriptions" else n
    return counts


def position_word_counts(
    descriptions: Any,
    mode: str = "occurrences",
    forms: str | Mapping[str, Iterable[str]] = "exact",
    per_description: bool = False,
) -> pd.DataFrame:
    """Positional word counts of a description set.

    ``descriptions``: ``{name: text}``, an iterable of ``Description`` objects, or of strings.
    Returns one row ("total") with a column per word (Table 1's order) and ``n_descriptions``;
    with ``per_description=True``, one row per description (index: names) instead.
    """
    texts = _as_texts(descriptions)
    columns = list(_forms(forms))
    rows = {name: count_in_text(text, mode, forms) for name, text in texts.items()}
    per = pd.DataFrame.from_dict(rows, orient="index", columns=columns).fillna(0).astype(int)
    per.index.name = "name"
    if per_description:
        return per
    total = pd.DataFrame([per.sum(axis=0).reindex(columns).astype(int).to_dict()], index=["total"])
    total["n_descriptions"] = len(texts)
    return total


def position_word_table(
    sets: Mapping[str, Any], mode: str = "occurrences", forms: str | Mapping[str, Iterable[str]] = "exact"
) -> pd.DataFrame:
    """One row per named description set (e.g. ``{"train": ..., "test": ...}``)."""
    frames = [position_word_counts(d, mode, forms).rename(index={"total": label}) for label, d in sets.items()]
    out = pd.concat(frames) if frames else pd.DataFrame(columns=[*_forms(forms), "n_descriptions"])
    out.index.name = "set"
    return out


def langir_table1_reported() -> pd.DataFrame:
    """LangIR's Table 1 as reported: index (dataset, split), columns Left..Upper."""
    df = pd.DataFrame.from_dict(LANGIR_TABLE1_REPORTED, orient="index")[list(POSITION_WORDS)]
    df.index = pd.MultiIndex.from_tuples(df.index, names=["dataset", "split"])
    df.attrs["source"] = LANGIR_TABLE1_SOURCE
    return df


def compare_with_langir(
    ours: Mapping[str, Any],
    dataset: str = "NUAA-SIRST",
    langir_split: Mapping[str, str] | None = None,
    mode: str = "occurrences",
    forms: str | Mapping[str, Iterable[str]] = "exact",
) -> pd.DataFrame:
    """Our counts beside LangIR's reported ones.

    ``ours``: ``{label: descriptions}``; ``langir_split`` maps each label to the LangIR split to
    compare with (default: the label itself, e.g. "train", "test"; map "trainval" to "train",
    since LangIR's train lists are the trainval lists). Rows: (label, "ours") and (label,
    "LangIR reported ..."); columns Left..Upper and ``n_descriptions`` (not reported by LangIR:
    NaN). Raw counts only, so that a reader can normalise by the set sizes as they see fit.
    """
    reported = langir_table1_reported()
    rows = []
    index = []
    for label, descs in ours.items():
        ours_row = position_word_counts(descs, mode, forms).iloc[0]
        rows.append(ours_row.to_dict())
        index.append((label, "ours"))
        split = (langir_split or {}).get(label, label)
        key = (dataset, split)
        if key in reported.index:
            rows.append({**reported.loc[key].to_dict(), "n_descriptions": float("nan")})
            index.append((label, f"LangIR reported ({dataset} {split})"))
    df = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["set", "counts"]))
    return df[[*POSITION_WORDS, "n_descriptions"]]
