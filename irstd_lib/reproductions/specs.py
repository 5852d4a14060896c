"""Every reproduced table and figure as data: one :class:`TableSpec` per notebook.

A spec names its notebook, its rows (the registered variant, the label saying what was measured,
the paper row it stands beside, the evaluation it reads, the row's run options), its reference
row, the paper table it stands beside, and whether the reference system's seed spread is stated
under it. Everything else is derived from :data:`SPECS`: the notebooks ``reproduce`` executes
(:data:`NOTEBOOKS`), the runs and scorings ``reproduce --plan`` lists
(:mod:`~irstd_lib.reproductions.plan`), and the tables themselves
(:func:`~irstd_lib.reproductions.tables.build_table`), so a new table is one spec.

A row whose variant is a classical method (Top-Hat, IPI) is scored, not trained: on the data of
the spec's first learned row (``scoring_size``: ``"native"`` or the run's ``"eval"`` size and
policy), or, in a spec without learned rows, on the profile's synthetic set and the given
dataset folder at native size.

This module imports nothing of the package: specs are data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["NOTEBOOKS", "Row", "SPECS", "TEACHING_NOTEBOOKS", "TableSpec", "VLM_NOTEBOOKS", "spec"]


@dataclass(frozen=True)
class Row:
    """One row of a table: ``variant`` (registered) trained with ``options``
    (:func:`~irstd_lib.reproductions.configs.run_config`), read at ``evaluation`` (None: the
    run's primary one)."""

    variant: str
    label: str = ""
    paper_row: str | None = None
    evaluation: str | None = None
    options: Mapping = field(default_factory=dict)
    #: the label on the synthetic set, where it says something else (its own description files)
    synthetic_label: str | None = None
    #: ``"descriptions"``: the row exists only where the dataset has description files
    needs: str | None = None
    #: the row's names in the papers' tables (the comparison stands beside several): paper -> name
    paper_names: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    notebook: str
    paper: str
    rows: tuple[Row, ...] = ()
    #: position of the reference row the differences are taken against (None: no differences)
    reference: int | None = None
    #: the reference's name in the difference columns (None: its row's label)
    reference_label: str | None = None
    #: the paper tables the rows stand beside, as ``(paper, table)`` of ``paper_tables.csv``
    paper_tables: tuple[tuple[str, str], ...] = ()
    #: the paper table's column the rows' ``paper_row`` matches
    paper_key: str = "setting"
    #: state the seed spread of the reference row's system under the table (trains its reference at the spread seeds)
    seed_spread: bool = False
    #: bootstrap intervals over test images beside every measured cell
    intervals: bool = True
    #: one table per dataset: the profile's synthetic set and every given folder
    per_dataset: bool = False
    scoring_size: str = "native"
    kind: str = "table"

    def __post_init__(self) -> None:
        if self.reference is not None and not 0 <= self.reference < len(self.rows):
            raise ValueError(f"{self.notebook}: reference row {self.reference} is not one of its {len(self.rows)} rows")
        if self.scoring_size not in ("native", "eval"):
            raise ValueError(f"{self.notebook}: scoring_size must be 'native' or 'eval', got {self.scoring_size!r}")


def _rows(*rows: tuple) -> tuple[Row, ...]:
    """Rows from ``(variant, label[, paper row])`` tuples."""
    return tuple(Row(*row) for row in rows)


_CLASSICAL = (Row("tophat", "Top-Hat", "Top-Hat", paper_names={"SAIST": "Top-Hat"}),
              Row("ipi", "IPI", "IPI", paper_names={"SAIST": "IPI"}))

# SAIST's tables: (registered variant, what SAIST's table calls it).
# Table 1 (and Figures 4-5): every learned method the package has, all on SAIST's partition (4.1:
# "For each dataset, we split the images into three disjoint subsets"), so that every row is tested
# on one test set. Rows, not a reuse of the comparison's runs: the comparison tests on each
# dataset's own lists (one run per (model, protocol) either way). On the synthetic set the
# partition is its own lists, so at smoke these rows are the comparison's committed runs (SAM,
# SAM-HQ and SAIST: this table's own, as before).
_SAIST_PARTITION = {"split_scheme": "saist_50_30_20"}
_SAIST_TABLE1 = tuple(Row(variant, label, paper_row, options=_SAIST_PARTITION) for variant, label, paper_row in (
    ("sam", "SAM", "SAM"), ("sam_hq", "SAM-HQ", "SAM-HQ"), ("acm", "ACM", "ACM"), ("dnanet", "DNA-Net", "DNA-Net"),
    ("lgnet", "LGNet", None), ("dgspnet", "DGSPNet", None), ("ggl_net", "GGL-Net", None), ("saist", "SAIST", "SAIST")))
_SAIST_TABLE2 = _rows(("saist", "full", "full"), ("saist_wo_srclip", "w/o SR-CLIP", "w/o SR-CLIP"),
                      ("saist_wo_cgsam", "w/o CG-SAM", "w/o CG-SAM"),
                      ("clip_sam", "w/o CG-SAM and SR-CLIP", "w/o CG-SAM and SR-CLIP"))
_SAIST_TABLE3 = _rows(("clip_sam", "SAM+CLIP", "SAM+CLIP"), ("saist", "SAIST", "SAIST"))
_SAIST_TABLE4 = _rows(("saist_wo_srclip", "CLIP + CG-SAM", "CLIP + CG-SAM"), ("coop_cgsam", "CoOp + CG-SAM", "CoOp + CG-SAM"),
                      ("saist", "SR-CLIP + CG-SAM", "SR-CLIP + CG-SAM"))
_SAIST_TABLE5 = _rows(("saist_wo_cgsam", "SAM + SR-CLIP", "SAM + SR-CLIP"), ("hqsam_srclip", "HQ-SAM + SR-CLIP", "HQ-SAM + SR-CLIP"),
                      ("saist", "CG-SAM + SR-CLIP", "CG-SAM + SR-CLIP"))

_LGNET_TEXT_TRAIN = {"language": "train"}

SPECS: tuple[TableSpec, ...] = (
    TableSpec(
        "lgnet_table2_language_availability", "LGNet",
        rows=(Row("lgnet_baseline", "baseline (no language fusion block), no text", "language never (baseline)"),
              Row("lgnet", "full model, image-only descriptor, no text in training or test", options={"language": "never"}),
              Row("lgnet", "full model, text in training, image only at test", "language in training only",
                  evaluation="test_without_text", options=_LGNET_TEXT_TRAIN),
              Row("lgnet", "full model, text in training and test", "language in training and test",
                  evaluation="test_with_text", options=_LGNET_TEXT_TRAIN),
              # The test text side by side, one writer (semantic), one training: written from the test
              # masks (reads the test ground truth: an upper bound) or from the model's own image-only
              # prediction (reads none; irstd_lib.models.lgnet.first_pass).
              Row("lgnet", "full model, semantic text in training; at test, semantic text from the test masks "
                  "(reads the test ground truth: an upper bound)", evaluation="test_with_text",
                  options={**_LGNET_TEXT_TRAIN, "descriptions": "semantic", "test_descriptions": "training_source"}),
              Row("lgnet", "full model, semantic text in training; at test, semantic text from its own image-only "
                  "prediction (no ground truth)", evaluation="test_with_text",
                  options={**_LGNET_TEXT_TRAIN, "descriptions": "semantic", "test_descriptions": "first_pass"})),
        # Against the full model with the image-only descriptor: the row that differs from the
        # language rows in language alone (the baseline also lacks the blocks).
        reference=1, reference_label="image-only full model", paper_tables=(("LGNet", "2"),), seed_spread=True),
    TableSpec(
        "lgnet_table6_components", "LGNet",
        rows=(Row("lgnet_baseline", "baseline", "baseline"), Row("lgnet_fusion", "+fusion block", "+fusion block"),
              Row("lgnet", "+language fusion block (text in training, image only at test)", "+language fusion block",
                  options=_LGNET_TEXT_TRAIN)),
        reference=0, paper_tables=(("LGNet", "6"),), seed_spread=True),
    TableSpec(
        "lgnet_description_sources", "LGNet",
        rows=(Row("lgnet", "the dataset's description files", "descriptions by GPT-4V", "test_without_text",
                  {"language": "train", "descriptions": "files"}, synthetic_label="the synthetic generator's own descriptions",
                  needs="descriptions"),
              Row("lgnet", "semantic template (from the masks)", "semantic descriptions", "test_without_text",
                  {"language": "train", "descriptions": "semantic"}),
              Row("lgnet", "quadrant-only template (from the masks)", "quadrant-only descriptions", "test_without_text",
                  {"language": "train", "descriptions": "quadrant"})),
        # The spread of LGNet's baseline stands in for the full model's (irstd_lib.reproductions.seeds).
        reference=0, paper_tables=(("LGNet", "3"), ("LGNet", "5.6.4")), seed_spread=True),
    TableSpec("lgnet_table1_word_counts", "LGNet"),
    TableSpec("lgnet_figure7_qualitative", "LGNet", rows=(Row("lgnet", "full model", options=_LGNET_TEXT_TRAIN),), kind="figure"),
    TableSpec("saist_table1_classical", "SAIST", rows=_CLASSICAL, paper_tables=(("SAIST", "1"),), paper_key="method",
              intervals=False),
    TableSpec("saist_table1_learned", "SAIST", rows=_SAIST_TABLE1, reference=7, reference_label="saist",
              paper_tables=(("SAIST", "1"),), paper_key="method", seed_spread=True, per_dataset=True),
    TableSpec("saist_table2_components", "SAIST", rows=_SAIST_TABLE2, reference=0, reference_label="saist",
              paper_tables=(("SAIST", "2"),), paper_key="setting", seed_spread=True),
    TableSpec("saist_table3_size_speed", "SAIST", rows=_SAIST_TABLE3, paper_tables=(("SAIST", "3"),), paper_key="method",
              intervals=False),
    TableSpec("saist_table4_prompt_learners", "SAIST", rows=_SAIST_TABLE4, reference=2, reference_label="saist",
              paper_tables=(("SAIST", "4"),), paper_key="method", seed_spread=True),
    TableSpec("saist_table5_decoders", "SAIST", rows=_SAIST_TABLE5, reference=2, reference_label="saist",
              paper_tables=(("SAIST", "5"),), paper_key="method", seed_spread=True),
    TableSpec("saist_figure4_detections", "SAIST", rows=_SAIST_TABLE1, kind="figure", per_dataset=True),
    TableSpec("saist_figure5_roc", "SAIST", rows=_SAIST_TABLE1 + _CLASSICAL, kind="figure", per_dataset=True),
    TableSpec("saist_figure6_guidance", "SAIST", rows=_SAIST_TABLE4, kind="figure"),
    TableSpec("saist_figure7_decoders", "SAIST", rows=_SAIST_TABLE5, kind="figure"),
    TableSpec(
        "dgspnet_ablation", "DGSPNet",
        rows=_rows(("dgspnet", "coarse + fine prompts, TGCA + TGSA (full)"), ("dgspnet_coarse_only", "coarse prompts only"),
                   ("dgspnet_fine_only", "fine-grained prompts only"), ("dgspnet_wo_tgca", "without TGCA"),
                   ("dgspnet_wo_tgsa", "without TGSA"),
                   # The number of fine tokens (the full model: 4), the ablation a third-party summary of the
                   # full text reports (unverified; FIDELITY.md).
                   ("dgspnet_fine_tokens_1", "1 fine token"), ("dgspnet_fine_tokens_2", "2 fine tokens"),
                   ("dgspnet_fine_tokens_8", "8 fine tokens"),
                   ("dgspnet_full_text_reading", "the full text's third-party reading (unverified)")),
        reference=0, reference_label="dgspnet", seed_spread=True),
    TableSpec(
        "ggl_net_ablation", "GGL-Net",
        rows=_rows(("ggl_net", "gradient branch + GSM, TGFM (full)"), ("ggl_net_wo_gradient", "without the gradient branch"),
                   ("ggl_net_wo_gsm", "without GSM (gradient at the input only)"), ("ggl_net_wo_tgfm", "without TGFM (addition)")),
        reference=0, reference_label="ggl_net", seed_spread=True),
    TableSpec(
        "comparison_all_methods", "comparison",
        rows=_CLASSICAL + (
            Row("acm", "ACM", paper_names={"LGNet": "ACM", "SAIST": "ACM"}),
            Row("dnanet", "DNA-Net", paper_names={"LGNet": "DNANet", "SAIST": "DNA-Net"}),
            Row("lgnet", "LGNet", paper_names={"LGNet": "LGNet"}),
            # SAIST as its own tables train it, on the comparison's splits (irstd_lib.reproductions.comparison).
            Row("saist", "SAIST", options={"split_scheme": "standard"}, paper_names={"LGNet": "SAIST"}),
            Row("dgspnet", "DGSPNet"),
            Row("ggl_net", "GGL-Net"),
            # LGNet 5.6.3's baseline (IoU 66.2, nIoU 65.4 on IRSTD-1k: paper_tables.csv, table "5.6.3").
            Row("grounding_sam", "GroundingDINO + SAM", paper_names={"LGNet": "GroundingDINO+SAM"})),
        per_dataset=True, scoring_size="eval"),
)

#: notebooks that teach from data alone: no runs, no paper table
TEACHING_NOTEBOOKS: tuple[str, ...] = ("tour_of_irstd_data", "metrics_explained")

#: LGNet's VLM experiments (irstd_lib.reproductions.lgnet_vlm: 5.3.2, 5.6.2, 5.6.5, 5.6.6, Table 3):
#: they ask a VLM, so ``reproduce`` runs them only when an endpoint is given (IRSTD_VLM_ENDPOINT,
#: IRSTD_VLM_MODEL; Table 3 also IRSTD_VLM_SECOND_MODEL) and otherwise lists them as skipped.
#: Not in NOTEBOOKS: no spec, no run of the plan.
VLM_NOTEBOOKS: tuple[str, ...] = ("lgnet_vlm_prompt_styles", "lgnet_vlm_word_limit", "lgnet_vlm_target_word",
                                  "lgnet_vlm_box_annotation", "lgnet_vlm_table3_models")

#: every notebook ``reproduce`` executes, in the report's order (the teaching notebooks last)
NOTEBOOKS: tuple[str, ...] = tuple(s.notebook for s in SPECS) + TEACHING_NOTEBOOKS

_BY_NAME = {s.notebook: s for s in SPECS}
if len(_BY_NAME) != len(SPECS):
    raise ValueError("two table specs name the same notebook")


def spec(notebook: str) -> TableSpec:
    """The spec of ``notebook``."""
    try:
        return _BY_NAME[notebook]
    except KeyError:
        raise KeyError(f"no table spec for notebook {notebook!r}; known: {', '.join(_BY_NAME)}") from None
