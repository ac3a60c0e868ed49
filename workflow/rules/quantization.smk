# The quantization study (Shinde et al. 2024). A cell is (dataset, protocol, model family): one job trains
# every fold and seed of a cell, one job quantizes them; a dataset is a corpus or a cross-corpus experiment.

CROSS = SETTINGS.cross_corpus_datasets()
CELLS = [(c, p) for c in SETTINGS.corpora for p in SETTINGS.protocols] + [(d, "cross_corpus") for d in CROSS]
FRAME_LEVEL = {"lstm", "attention_gru", "cnn1d"}


def dataset_corpora(dataset):
    """Corpora a dataset reads: itself, or a cross-corpus experiment's training corpora then its test corpus."""
    return [*CROSS[dataset].train, CROSS[dataset].test] if dataset in CROSS else [dataset]


def cell_inputs(wildcards):
    """The cell's fold table, and per corpus its manifest and the feature cache its model family reads."""
    corpora = dataset_corpora(wildcards.dataset)
    level = "frames" if wildcards.model in FRAME_LEVEL else "utterance"
    return {
        "split": f"{RESULTS}/quantization/splits/{wildcards.dataset}/{wildcards.protocol}.csv",
        "manifests": manifests(corpora),
        "features": [f"{RESULTS}/features/{c}/{level}.npz" for c in corpora],
    }


def split_settings(wildcards):
    """Keyword arguments of the protocol's split (n_folds of this dataset for speaker folds)."""
    if wildcards.protocol == "random":
        return settings("random")
    split = settings("speaker_independent")
    n_folds = split.pop("n_folds")
    if wildcards.protocol == "speaker_independent":
        split["n_folds"] = n_folds[wildcards.dataset]
    return split


def cell_runs(wildcards):
    """Folds × seeds of a cell, for the cluster runtime request."""
    folds = SETTINGS.speaker_independent.n_folds[wildcards.dataset] if wildcards.protocol == "speaker_independent" else 1
    return folds * len(SETTINGS.seeds)


def quantization_metrics(wildcards):
    return [
        f"{RESULTS}/quantization/quantized/{d}/{p}/{m}/metrics.json" for d, p in CELLS for m in SETTINGS.models
    ]


def quantization_outputs():
    if not studies("quantization"):
        return []
    return [
        f"{RESULTS}/tables/quantization.csv",
        f"{RESULTS}/tables/literature.md",
        *(f"{RESULTS}/plots/pareto_{c}.png" for c in SETTINGS.corpora),
        *(f"{RESULTS}/plots/accuracy_vs_bits_{d}_{p}.png" for d, p in CELLS),
    ]


rule features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        utterance=f"{RESULTS}/features/{{corpus}}/utterance.npz",
        frames=f"{RESULTS}/features/{{corpus}}/frames.npz",
    params:
        features=settings("features"),
    log:
        logs("features/{corpus}"),
    benchmark:
        benchmarks("features/{corpus}")
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/quantization/features.py"


rule split:
    input:
        manifests=lambda w: manifests(dataset_corpora(w.dataset)),
    output:
        f"{RESULTS}/quantization/splits/{{dataset}}/{{protocol}}.csv",
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        split=split_settings,
        seeds=SETTINGS.seeds,
    log:
        logs("quantization/split/{dataset}/{protocol}"),
    benchmark:
        benchmarks("quantization/split/{dataset}/{protocol}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/quantization/split.py"


rule train:
    input:
        unpack(cell_inputs),
    output:
        directory(f"{RESULTS}/quantization/models/{{dataset}}/{{protocol}}/{{model}}"),
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        model=lambda w: settings(w.model),
        train=settings("train"),
        max_frames=SETTINGS.sequences.max_frames,
    log:
        logs("quantization/train/{dataset}/{protocol}/{model}"),
    benchmark:
        benchmarks("quantization/train/{dataset}/{protocol}/{model}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda w: 10 + 2 * cell_runs(w),
    script:
        "../scripts/quantization/train.py"


rule quantize:
    input:
        unpack(cell_inputs),
        models=rules.train.output[0],
    output:
        packed=directory(f"{RESULTS}/quantization/quantized/{{dataset}}/{{protocol}}/{{model}}/packed"),
        metrics=f"{RESULTS}/quantization/quantized/{{dataset}}/{{protocol}}/{{model}}/metrics.json",
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        quantization=settings("quantization"),
        variants=SETTINGS.quantization.variants(),
        max_frames=SETTINGS.sequences.max_frames,
    log:
        logs("quantization/quantize/{dataset}/{protocol}/{model}"),
    benchmark:
        benchmarks("quantization/quantize/{dataset}/{protocol}/{model}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda w: 10 + cell_runs(w),
    script:
        "../scripts/quantization/quantize.py"


rule quantization_table:
    input:
        quantization_metrics,
    output:
        runs=report(f"{RESULTS}/tables/quantization_runs.csv", category="Tables", caption="../report/runs.rst"),
        csv=report(f"{RESULTS}/tables/quantization.csv", category="Tables", caption="../report/quantization.rst"),
        md=f"{RESULTS}/tables/quantization.md",
        literature=report(f"{RESULTS}/tables/literature.md", category="Tables", caption="../report/literature.rst"),
    params:
        config_hash=study_config_hash(SETTINGS.model_dump(mode="json"), "quantization"),
    log:
        logs("quantization/table"),
    benchmark:
        benchmarks("quantization/table")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/quantization/table.py"


rule quantization_plots:
    input:
        table=rules.quantization_table.output.csv,
    output:
        pareto=[
            report(
                f"{RESULTS}/plots/pareto_{c}.png",
                category="Quantization",
                subcategory="Pareto",
                caption="../report/pareto.rst",
            )
            for c in SETTINGS.corpora
        ],
        bits=[
            report(
                f"{RESULTS}/plots/accuracy_vs_bits_{d}_{p}.png",
                category="Quantization",
                subcategory="Accuracy vs bit-width (Figure 2)",
                caption="../report/accuracy_vs_bits.rst",
            )
            for d, p in CELLS
        ],
    params:
        corpora=SETTINGS.corpora,
        cells=CELLS,
        pareto_protocol="random" if "random" in SETTINGS.protocols else SETTINGS.protocols[0],
    log:
        logs("quantization/plots"),
    benchmark:
        benchmarks("quantization/plots")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/quantization/plots.py"
