"""The quantization study's summary as Markdown: one line per variant, notes on what each column pools."""

from __future__ import annotations

import pandas as pd

from serbench.settings.quantization import PAPER_FEATURES
from serbench.studies.quantization.pooling import CELL, KEYS

INTERVAL = ["accuracy_ci95_seeds_units_low", "accuracy_ci95_seeds_units_high"]


def percent(value: float, digits: int = 2) -> str:
    """``value`` as a percentage string, rounded, never ``-0.00``; ``""`` for NaN.

    >>> percent(-5.55e-18), percent(0.1234), percent(float("nan"))
    ('0.00', '12.34', '')
    """
    return "" if pd.isna(value) else f"{round(100 * value, digits) + 0.0:.{digits}f}"


def with_interval(value: float, low: float, high: float) -> str:
    """``value [low, high]`` in percent, or ``""`` when ``value`` is NaN."""
    return "" if pd.isna(value) else f"{percent(value)} [{percent(low)}, {percent(high)}]"


PAPER_VARIANTS = ["fp32", *(f"fixed{b}" for b in range(8, 0, -1)), "adaptive"]  # Shinde et al. 2024, Table 2
PAPER_QUANTIZER = "uniform"  # the quantizer the paper's figures stand beside: the default, the paper names none


def paper_layout_markdown(table: pd.DataFrame, quantizer: str = PAPER_QUANTIZER) -> str:
    """Shinde et al. 2024, Table 2, beside ours: per corpus (random split, MLP, the paper's features) and variant
    (fp32, fixed 8 to 1 bits, adaptive) under ``quantizer``, our b̄, WA [seeds × units 95 % interval] and stored size
    beside the paper's; ``""`` when the table holds no such row.
    """
    rows = table[
        (table["protocol"] == "random")
        & (table["model"] == "mlp")
        & (table["features"] == PAPER_FEATURES)
        & table["quantizer"].isin(["none", quantizer])
        & table["variant"].isin(PAPER_VARIANTS)
    ]
    if rows.empty:
        return ""
    rows = rows.assign(order=rows["variant"].map(PAPER_VARIANTS.index)).sort_values(["dataset", "order"])
    shown = pd.DataFrame(
        {
            "corpus": rows["dataset"],
            "variant": rows["variant"],
            "b̄ (bits)": rows["avg_bits"].map("{:.2f}".format),
            "WA % [95% CI], ours": [with_interval(*v) for v in rows[["accuracy", *INTERVAL]].values],
            "WA %, paper": rows["paper_accuracy"].map(percent),
            "size (KB), ours": rows["size_kb"].map("{:.1f}".format),
            "size (KB), paper": rows["paper_size_kb"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
            "seeds × folds": [f"{s} × {f}" for s, f in zip(rows["n_seeds"], rows["n_folds"])],
        }
    )
    return (
        f"## Shinde et al. 2024, Table 2, beside ours ({quantizer} quantizer, random split, MLP)\n\n"
        + shown.to_markdown(index=False)
        + "\n\nOurs: WA pooled over seeds with a 95 % interval over seeds and test utterances; size = codes, scales "
        "and offsets stored / 1000. The paper's sizes count parameters × bits / 8 / 1000. The full table follows.\n\n"
    )


def to_markdown(table: pd.DataFrame) -> str:
    """The summary as a Markdown table: WA and Δ pooled with their seeds × test-units intervals, UA and macro-F1
    as ``mean ± std`` over runs, all in percent."""

    def intervals(name: str) -> list[str]:
        bounds = [f"{name}_ci95_seeds_units_low", f"{name}_ci95_seeds_units_high"]
        return [with_interval(*values) for values in table[[name, *bounds]].itertuples(index=False)]

    paper_rows = table["quantizer"].isin(["none", PAPER_QUANTIZER])  # the paper's figures once, beside our default
    shown = pd.DataFrame(
        {
            **{k: table[k] for k in KEYS},
            "b̄": table["avg_bits"].map("{:.2f}".format),
            "size (KB)": table["size_kb"].map("{:.1f}".format),
            "file (bytes)": table["file_bytes"],
            "WA % [95% CI]": intervals("accuracy"),
            **{
                label: [f"{percent(m)} ± {percent(s)}" for m, s in zip(table[score], table[f"{score}_std"])]
                for label, score in (("UA %", "uar"), ("macro-F1 %", "macro_f1"))
            },
            "Δ WA vs fp32, points [95% CI]": intervals("delta_vs_fp32"),
            "Δ WA vs fp32+ft, points [95% CI]": intervals("delta_vs_ft"),
            "chance WA / UA %": [
                f"{100 * w:.1f} / {100 * u:.1f}" for w, u in zip(table["chance_wa"], table["chance_ua"])
            ],
            "seeds × folds": [f"{s} × {f}" for s, f in zip(table["n_seeds"], table["n_folds"])],
            "test utterances / speakers": [f"{u} / {s}" for u, s in zip(table["n_test"], table["n_speakers_test"])],
            "paper WA %": table["paper_accuracy"].where(paper_rows).map(percent),
            "paper size (KB)": table["paper_size_kb"].where(paper_rows).map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
        }
    )
    note = (
        "\n\nWA = accuracy, pooled over the test utterances of every fold and seed; Δ = the difference of pooled "
        "WAs over the same runs and utterances, in points. Intervals: 95%, a bootstrap over seeds and test units "
        "(utterances for the random split, speakers for the speaker-independent and cross-corpus protocols), so "
        "they cover another seed and other test speakers or utterances; the CSV also holds the t interval over "
        "seeds alone (ci95_seeds: retraining on the same test set). UA = unweighted average recall, mean ± std over "
        "runs. Chance: the test set's majority-class share (WA) and 1/k (UA). "
        "Size = bytes of every code, scale and offset stored / 1000 (KB); file = the packed file on disk, header and "
        "standardisation buffers included; the SVM's file is scikit-learn's pickle, float64 arrays, so about twice "
        "its size (float32 parameters). Quantizers: uniform = 2^b levels, min-max per tensor (default; the paper "
        "names none); mse = per-channel, MSE-optimal clipping; ternary = TWN at 2 bits, XNOR at 1, uniform above "
        "(its rows at 3 bits and more repeat uniform's by construction); symmetric = 2^(b-1)-1 levels a side "
        "(earlier releases). Variants: adaptive = the paper's importance-guided search "
        "(eq. 4); sensitivity = measured loss increase at the adaptive b̄; +qat = quantization-aware fine-tuning; "
        "fp32+ft = QAT's control, the float32 model fine-tuned by the same loop (epochs, rate, validation-chosen "
        "epoch, epoch 0 a candidate) without a quantizer: Δ vs fp32+ft is what the quantizer itself adds. "
        "Bit searches score the search half of the validation split. Paper figures: Shinde et al. 2024, Table 2 "
        f"(random 80/10/10 split), beside the fp32 and {PAPER_QUANTIZER} rows only.\n"
    )
    return shown.to_markdown(index=False) + note + classes_note(table)


def classes_note(table: pd.DataFrame) -> str:
    """The emotions each cross-corpus dataset keeps (those every corpus of the pair holds), as a Markdown line."""
    cross = table[table["protocol"].str.startswith("cross_corpus")].drop_duplicates("dataset")
    if cross.empty:
        return ""
    kept = "; ".join(f"{d}: {len(c.split())} ({', '.join(c.split())})" for d, c in cross[["dataset", "classes"]].values)
    return f"\nCross-corpus rows keep the emotions both sides hold, the others are left out: {kept}.\n"


def allocators_markdown(comparison: pd.DataFrame) -> str:
    """The allocator comparison (:func:`~serbench.studies.quantization.tables.allocator_comparison`) as a
    Markdown section (empty without a sensitivity variant)."""
    if comparison.empty:
        return ""
    shown = comparison[[*CELL, "quantizer", "comparison"]].assign(
        **{
            "b̄ sensitivity / I(l)": [
                f"{s:.2f} / {i:.2f}" for s, i in zip(comparison.bits_sensitivity, comparison.bits_importance)
            ],
            "Δ WA, points [95% CI, seeds × units]": [
                with_interval(d, lo, hi) for d, lo, hi in zip(comparison.delta, comparison.low, comparison.high)
            ],
        }
    )
    return (
        f"\n## Allocators: sensitivity against the paper's I(l), paired on runs\n\n{shown.to_markdown(index=False)}\n"
    )
