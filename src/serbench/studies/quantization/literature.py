"""Our rows beside the published numbers, in the layout of Shinde et al. 2024, Table 3, with the paper's
inconsistencies footnoted where its rows print them."""

from __future__ import annotations

import pandas as pd

from serbench.emobox.references import upstream_parameters
from serbench.literature import emobox2024_table4, shinde2024_table3
from serbench.settings.quantization import PAPER_FEATURES

CORPUS_TITLES = {"tess": "TESS", "emodb": "EmoDB", "savee": "SAVEE"}
FOOTNOTES = {
    "a": "180 → 256 → 512 → 64 → 7 has 211,207 parameters (844.8 KB in float32), not the ~169K / 676 KB the "
    "paper states (Sec. 3, Tables 2-3); our rows count the architecture as described.",
    "b": "EmoDB's b̄ is 2.00 in Tables 2 and 3 but 4.06 in the text of Sec. 4; the tables' value is shown.",
    "c": "TESS is 99.29 % in Tables 2 and 3 but 99.6 % in the conclusion.",
    "d": 'Sec. 4\'s text gives TESS "97.86 % at 4-bit"; Table 2 prints 97.86 % in its 2-bit row and 99.29 % at 4 bits.',
}
PROPOSED_NOTES = {"tess": "a, c, d", "emodb": "a, b", "savee": "a"}
PUBLISHED_CLASSES = 7  # every system of Table 3 classifies each corpus's seven emotions


def _runs(n_seeds: int, n_folds: int) -> str:
    """``10 seeds × 1 fold``, plurals right.

    >>> _runs(1, 10), _runs(10, 1)
    ('1 seed × 10 folds', '10 seeds × 1 fold')
    """
    return f"{n_seeds} seed{'s' * (n_seeds != 1)} × {n_folds} fold{'s' * (n_folds != 1)}"


def literature_markdown(table: pd.DataFrame, quantizer: str = "uniform") -> str:
    """One Markdown section per corpus: published systems, then ours (fp32 and adaptive of every family and
    protocol, with ``quantizer``), then the footnotes on the paper's own figures.

    Args:
        table: summary from :func:`serbench.studies.quantization.tables.summarize`.
        quantizer: whose adaptive rows to show (the study's default).

    Returns:
        Markdown text; accuracy in percent (ours mean ± std), classes, parameters and b̄ in separate columns, and
        under a corpus's table a line for each of our class sets that differs from the published one.
    """
    published = shinde2024_table3()
    sections = ["# Comparison with published systems (layout of Shinde et al. 2024, Table 3)\n"]
    for corpus in sorted(set(table["dataset"]) | set(published["corpus"])):
        rows = [
            {
                "system": r.system + (f" [{PROPOSED_NOTES[corpus]}]" if r.system.startswith("Proposed") else ""),
                "year": r.year,
                "protocol": "as published",
                "classes": PUBLISHED_CLASSES,
                "accuracy %": f"{100 * r.accuracy:.2f}",
                "parameters": (r.params or "–").split(" × ")[0],
                "b̄": r.params.split(" × ")[1] if " × " in r.params else "",
                "source": r.source,
            }
            for r in published[published["corpus"] == corpus].itertuples()
        ]
        ours = table[
            (table["dataset"] == corpus)
            & ((table["variant"] == "fp32") | ((table["variant"] == "adaptive") & (table["quantizer"] == quantizer)))
        ]
        rows += [
            {
                "system": f"serbench {r.model} {r.variant}"
                + (f" ({r.quantizer})" if r.variant != "fp32" else "")
                + ("" if r.features == PAPER_FEATURES else f", {r.features}"),
                "year": "",
                "protocol": r.protocol,
                "classes": len(r.classes.split()),
                "accuracy %": f"{100 * r.accuracy:.2f} ± {100 * r.accuracy_seed_std:.2f}",
                "parameters": f"{r.n_params / 1000:.0f}K",
                "b̄": "32" if r.variant == "fp32" else f"{r.avg_bits:.2f}",
                "source": f"this run ({_runs(r.n_seeds, r.n_folds)})",
            }
            for r in ours.itertuples()
        ]
        sections.append(f"## {CORPUS_TITLES.get(corpus, corpus)}\n\n{pd.DataFrame(rows).to_markdown(index=False)}\n")
        other = sorted({(len(c.split()), c) for c in ours["classes"] if len(c.split()) != PUBLISHED_CLASSES})
        sections += [
            f"This run's rows with {n} classes ({', '.join(c.split())}) are not comparable one to one with the "
            f"published {PUBLISHED_CLASSES}-class figures: fewer classes make chance and accuracy higher.\n"
            for n, c in other
        ]
    notes = "\n".join(f"- [{key}] {text}" for key, text in FOOTNOTES.items())
    return "\n".join(sections) + f"\nNotes on the paper's own figures:\n\n{notes}\n" + emobox_markdown(table)


def emobox_markdown(table: pd.DataFrame) -> str:
    """EmoBox's published upstreams (quoted) beside this run's float32 models on EmoBox's folds (measured), per
    corpus the run scored under the ``emobox`` protocol; ``""`` where it scored none.

    UA and WA in percent (ours: UA mean ± std over runs, WA pooled); EmoBox's rows are self-supervised
    upstreams, ours the quantization study's small families. EmoBox gives no parameter counts: an upstream's are
    counted on its architecture (:func:`serbench.emobox.references.upstream_parameters`), marked so.
    """
    ours = table[(table["protocol"] == "emobox") & (table["variant"] == "fp32")]
    published = emobox2024_table4()
    sections = []
    for corpus in sorted(set(ours["dataset"]) & set(published["corpus"])):
        rows = [
            {"system": r.upstream, "kind": "quoted", "UA %": f"{100 * r.ua:.2f}", "WA %": f"{100 * r.wa:.2f}",
             "parameters": f"{upstream_parameters(r.upstream) / 1e6:.1f}M (architecture)", "source": r.source}
            for r in published[published["corpus"] == corpus].itertuples()
        ] + [
            {"system": f"serbench {r.model}, {r.features}", "kind": "measured",
             "UA %": f"{100 * r.uar:.2f} ± {100 * r.uar_std:.2f}", "WA %": f"{100 * r.accuracy:.2f}",
             "parameters": f"{r.n_params / 1000:.0f}K", "source": f"this run ({_runs(r.n_seeds, r.n_folds)})"}
            for r in ours[ours["dataset"] == corpus].itertuples()
        ]  # fmt: skip
        title = CORPUS_TITLES.get(corpus, corpus)
        rendered = pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)
        sections.append(f"## {title} on EmoBox's folds\n\n{rendered}\n")
    return "\n" + "\n".join(sections) if sections else ""
