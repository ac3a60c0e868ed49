# Settings and input functions of the report rules (report.smk).


def table_page_sources():
    """Page name -> TablePage (report category, title, Markdown and CSV tables) for the studies that run."""
    tables = f"{RESULTS}/tables"
    pages = {}
    if studies("quantization"):
        pages["quantization"] = TablePage(
            "Quantization",
            "Quantization study: Shinde et al. 2024, Table 2, beside ours, then every variant",
            [f"{tables}/quantization.md"],
            [f"{tables}/quantization.csv", f"{tables}/speaker_overlap.csv"],
        )
        pages["literature"] = TablePage(
            "Quantization",
            "Beside published systems (Shinde et al. 2024, Table 3 layout)",
            [f"{tables}/literature.md"],
            [],
        )
        if Q.curves.enabled:
            pages["allocators"] = TablePage(
                "Quantization",
                "Allocators traced as curves",
                [],
                [f"{tables}/allocators.csv"],
            )
    if studies("distilhubert"):
        pages["distilhubert_table1"] = TablePage(
            "DistilHuBERT",
            "DistilHuBERT study: Ismail's Table I layout",
            [f"{tables}/distilhubert_table1.md"],
            [f"{tables}/distilhubert_table1.csv"],
        )
        pages["distilhubert_int8"] = TablePage(
            "DistilHuBERT",
            "DistilHuBERT study: int8 models",
            [f"{tables}/distilhubert_int8.md"],
            [],
        )
    if studies("selfdistill"):
        pages["selfdistill"] = TablePage(
            "Self-distillation",
            "Self-distillation study: Ren et al. 2023, Tables 1 and 2",
            [f"{tables}/selfdistill.md"],
            [],
        )
    if not SETTINGS.studies:
        return pages
    pages["deployment"] = TablePage(
        "Deployment",
        "Which model to deploy: every study's models, each task's Pareto front",
        [f"{tables}/deployment.md"],
        [f"{tables}/deployment.csv"],
    )
    return pages


TABLE_PAGES = table_page_sources()


def table_pages():
    return [f"{RESULTS}/report/{page}.html" for page in TABLE_PAGES]


def deployment_sources():
    """What the deployment table reads, per study that runs: tables, latencies, int8 records per upstream."""
    sources = {}
    if studies("quantization"):
        sources["quantization"] = {
            "table": f"{RESULTS}/tables/quantization.csv",
            "latency": [
                f"{RESULTS}/quantization/latency/{f}.json" for f in FEATURE_SETS
            ],
        }
    if studies("distilhubert"):
        sources["distilhubert"] = [
            {
                "int8": f"{RESULTS}/distilhubert/{u}/onnx/int8.json",
                "latency": f"{RESULTS}/distilhubert/{u}/latency.json",
                "deploy": f"{RESULTS}/distilhubert/{u}/onnx/deploy.json",
            }
            for u in DH_UPSTREAMS
        ]
    if studies("selfdistill"):
        sources["selfdistill"] = {
            "runs": f"{RESULTS}/tables/selfdistill_runs.csv",
            "upstreams": [
                {
                    "metrics": selfdistill_runs(u, ".json")[0],
                    "int8": [
                        f"{RESULTS}/selfdistill/{u}/int8/{v}.json" for v in SD.variants
                    ],
                    "latency": f"{RESULTS}/selfdistill/{u}/latency.json",
                }
                for u in SD_UPSTREAMS
            ],
        }
    return sources


DEPLOYMENT = deployment_sources()


def paths_in(value):
    """Every string in nested dicts and lists, in order: the deployment rule's input files."""
    if isinstance(value, dict):
        return [p for v in value.values() for p in paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in paths_in(v)]
    return [value]


def deployment_outputs():
    return [f"{RESULTS}/plots/deployment_pareto.png"] if SETTINGS.studies else []
