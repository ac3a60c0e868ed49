# Settings and input functions of the report rules (report.smk).


def table_page_sources():
    """Page name -> (report category, title, Markdown tables, CSV tables) for the studies that run."""
    tables = f"{RESULTS}/tables"
    pages = {}
    if studies("quantization"):
        pages["quantization"] = (
            "Quantization",
            "Quantization study: Shinde et al. 2024, Table 2, beside ours, then every variant",
            [f"{tables}/quantization.md"],
            [f"{tables}/quantization.csv"],
        )
        pages["literature"] = (
            "Quantization",
            "Beside published systems (Shinde et al. 2024, Table 3 layout)",
            [f"{tables}/literature.md"],
            [],
        )
        if SETTINGS.quantization.curves.enabled:
            pages["allocators"] = (
                "Quantization",
                "Allocators traced as curves",
                [],
                [f"{tables}/allocators.csv"],
            )
    if studies("distilhubert"):
        pages["distilhubert_table1"] = (
            "DistilHuBERT",
            "DistilHuBERT study: Ismail's Table I layout",
            [f"{tables}/distilhubert_table1.md"],
            [f"{tables}/distilhubert_table1.csv"],
        )
        pages["distilhubert_int8"] = (
            "DistilHuBERT",
            "DistilHuBERT study: int8 models",
            [f"{tables}/distilhubert_int8.md"],
            [],
        )
    if studies("selfdistill"):
        pages["selfdistill"] = (
            "Self-distillation",
            "Self-distillation study: Ren et al. 2023, Tables 1 and 2",
            [f"{tables}/selfdistill.md"],
            [],
        )
    return pages


TABLE_PAGES = table_page_sources()


def table_pages():
    return [f"{RESULTS}/report/{page}.html" for page in TABLE_PAGES]
