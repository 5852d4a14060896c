"""Positional word counts (LangIR Table 1 definition) and the paper's reported numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from irstd_lib.text.descriptions import Description
from irstd_lib.text.word_stats import (
    LANGIR_TABLE1_REPORTED,
    POSITION_WORDS,
    compare_with_langir,
    count_in_text,
    langir_table1_reported,
    position_word_counts,
    position_word_table,
    tokenize,
)

TEXTS = {
    "a": "The target is in the Upper-left corner, left of the bright cloud.",
    "b": "A small target near the centre; the right side is bright.",
    "c": "Target at the lower right, slightly central and to the right.",
    "d": "Nothing positional here: leftover upright brightness.",
}


def test_tokenize_splits_hyphens_and_punctuation_and_lowercases():
    assert tokenize("Upper-left, CENTER; bright-right.") == ["upper", "left", "center", "bright", "right"]


def test_whole_words_only_and_compounds_count_both_words():
    # "bright", "upright", "leftover" are not position words; "upper-left" is both Upper and Left.
    assert count_in_text(TEXTS["d"]) == dict.fromkeys(POSITION_WORDS, 0)
    assert count_in_text(TEXTS["a"]) == {"Left": 2, "Right": 0, "Center": 0, "Lower": 0, "Upper": 1}


def test_occurrences_versus_descriptions_mode():
    occ = position_word_counts(TEXTS, mode="occurrences")
    pres = position_word_counts(TEXTS, mode="descriptions")
    # Hand counts: Left a:2; Right b:1 c:2; Center b:1 ("centre"; "central" is not exact);
    # Lower c:1; Upper a:1.
    assert occ.loc["total", list(POSITION_WORDS)].tolist() == [2, 3, 1, 1, 1]
    assert pres.loc["total", list(POSITION_WORDS)].tolist() == [1, 2, 1, 1, 1]
    assert occ.loc["total", "n_descriptions"] == 4


def test_extended_forms_count_derived_words():
    assert count_in_text(TEXTS["c"], forms="extended")["Center"] == 1
    assert count_in_text(TEXTS["c"], forms="exact")["Center"] == 0
    custom = count_in_text("top middle top", forms={"Top": ["top"], "Middle": ["middle"]})
    assert custom == {"Top": 2, "Middle": 1}


def test_inputs_mapping_descriptions_and_strings_agree():
    descs = [Description(name=k, text=v, source="test") for k, v in TEXTS.items()]
    a = position_word_counts(TEXTS)
    b = position_word_counts(descs)
    c = position_word_counts(list(TEXTS.values()))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    per = position_word_counts(descs, per_description=True)
    assert list(per.index) == list(TEXTS)
    assert per.loc["c", "Right"] == 2
    with pytest.raises(TypeError):
        position_word_counts("a single string")
    with pytest.raises(ValueError):
        position_word_counts(TEXTS, mode="sometimes")


def test_position_word_table_rows_per_set():
    table = position_word_table({"train": {k: TEXTS[k] for k in "ab"}, "test": {k: TEXTS[k] for k in "cd"}})
    assert list(table.index) == ["train", "test"]
    assert table.loc["train", "Left"] == 2 and table.loc["test", "Right"] == 2
    assert table["n_descriptions"].tolist() == [2, 2]


def test_langir_reported_table_matches_paper_settings():
    df = langir_table1_reported()
    assert list(df.columns) == list(POSITION_WORDS)
    assert df.loc[("NUAA-SIRST", "train")].tolist() == [157, 87, 102, 64, 111]
    assert df.loc[("NUAA-SIRST", "test")].tolist() == [37, 30, 24, 12, 28]
    assert df.loc[("IRSTD-1k", "train")].tolist() == [340, 193, 229, 146, 247]
    assert df.loc[("IRSTD-1k", "test")].tolist() == [81, 61, 53, 41, 61]
    assert len(LANGIR_TABLE1_REPORTED) == 4 and "LangIR" in df.attrs["source"]


def test_compare_with_langir_puts_ours_beside_reported():
    cmp = compare_with_langir({"trainval": TEXTS, "test": TEXTS}, langir_split={"trainval": "train"})
    assert cmp.loc[("trainval", "ours"), "Left"] == 2
    assert cmp.loc[("trainval", "LangIR reported (NUAA-SIRST train)"), "Left"] == 157
    assert cmp.loc[("test", "LangIR reported (NUAA-SIRST test)"), "Upper"] == 28
    assert pd.isna(cmp.loc[("test", "LangIR reported (NUAA-SIRST test)"), "n_descriptions"])
