"""Our rows beside the published numbers, in the layout of Shinde et al. 2024, Table 3."""

from __future__ import annotations

import pandas as pd

from serbench.literature import shinde2024_table3

CORPUS_TITLES = {"tess": "TESS", "emodb": "EmoDB", "savee": "SAVEE"}


def _parameters(n_params: float, avg_bits: float) -> str:
    count = f"{n_params / 1000:.0f}K"
    return count if avg_bits == 32 else f"{count} × {avg_bits:.2f}"


def literature_markdown(table: pd.DataFrame) -> str:
    """One Markdown section per corpus: published systems, then ours (fp32 and adaptive of every family and protocol).

    Args:
        table: summary from :func:`serbench.studies.quantization.tables.summarize`.

    Returns:
        Markdown text; accuracy in percent (ours mean ± std), parameters as
        count × b̄ for quantized models, as the paper prints them.
    """
    published = shinde2024_table3()
    sections = ["# Comparison with published systems (layout of Shinde et al. 2024, Table 3)\n"]
    for corpus in sorted(set(table["dataset"]) | set(published["corpus"])):
        rows = [
            {
                "system": r.system,
                "year": r.year,
                "protocol": "as published",
                "accuracy %": f"{100 * r.accuracy:.2f}",
                "parameters": r.params or "–",
                "source": r.source,
            }
            for r in published[published["corpus"] == corpus].itertuples()
        ]
        ours = table[(table["dataset"] == corpus) & table["variant"].isin(["fp32", "adaptive"])]
        rows += [
            {
                "system": f"serbench {r.model} {r.variant}",
                "year": "",
                "protocol": r.protocol,
                "accuracy %": f"{100 * r.accuracy:.2f} ± {100 * r.accuracy_std:.2f}",
                "parameters": _parameters(r.n_params, r.avg_bits),
                "source": f"this run ({r.n_runs} runs)",
            }
            for r in ours.itertuples()
        ]
        sections.append(f"## {CORPUS_TITLES.get(corpus, corpus)}\n\n{pd.DataFrame(rows).to_markdown(index=False)}\n")
    return "\n".join(sections)
