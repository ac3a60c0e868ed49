# Settings, paths and input functions of the quantization rules (quantization.smk).

Q = SETTINGS.quantization
CROSS = Q.cross_corpus_datasets()
# cross-corpus protocols by feature normalisation (the same split, features standardised differently)
CELLS = [(c, p) for c in Q.corpora for p in Q.protocols] + [
    (d, Protocol("cross_corpus", n).name)
    for d in CROSS
    for n in Q.cross_corpus_normalisation
]
FEATURE_SETS = list(Q.features.sets)


def dataset_corpora(dataset):
    """Corpora a dataset reads: itself, or a cross-corpus experiment's training corpora then its test corpus."""
    return (
        [*CROSS[dataset].train, CROSS[dataset].test] if dataset in CROSS else [dataset]
    )


def cell_inputs(wildcards):
    """The cell's fold table, and per corpus its manifest and the feature cache its model family reads (the
    utterance-level one where no model family is named, as for the SVM baseline)."""
    corpora = dataset_corpora(wildcards.dataset)
    level = INPUT_LEVELS.get(getattr(wildcards, "model", ""), "utterance")
    return {
        "split": f"{RESULTS}/quantization/splits/{wildcards.dataset}/{Protocol.parse(wildcards.protocol).split}.csv",
        "manifests": manifests(corpora),
        "features": [
            f"{RESULTS}/features/{wildcards.features}/{c}/{level}.npz" for c in corpora
        ],
    }


def normalisation(wildcards):
    """How a cell's features are standardised (the normalised cross-corpus protocols share one fold table)."""
    return Protocol.parse(wildcards.protocol).normalise


def split_settings(wildcards):
    """Keyword arguments of the protocol's split (n_folds of this dataset for speaker folds)."""
    if wildcards.protocol in ("random", "emobox"):
        return settings("quantization", wildcards.protocol)
    split = settings("quantization", "speaker_independent")
    n_folds = split.pop("n_folds")
    if wildcards.protocol == "speaker_independent":
        split["n_folds"] = n_folds[wildcards.dataset]
    return split


def cell_runs(wildcards):
    """Folds × seeds of a cell, for the cluster runtime request."""
    return Q.fold_count(wildcards.dataset, wildcards.protocol) * len(Q.seeds)


def quantization_metrics(wildcards):
    """Every cell's quantize records, and the SVM baseline's per feature set and dataset × protocol."""
    cells = [
        f"{RESULTS}/quantization/quantized/{f}/{d}/{p}/{m}/metrics.json"
        for f in FEATURE_SETS
        for d, p in CELLS
        for m in Q.models
    ]
    svm = [
        f"{RESULTS}/quantization/svm/{f}/{d}/{p}.json"
        for f in FEATURE_SETS
        for d, p in CELLS
    ]
    return cells + (svm if Q.svm.enabled else [])


def allocator_metrics(wildcards):
    return [
        f"{RESULTS}/quantization/allocators/{f}/{d}/{p}/{m}.json"
        for f in FEATURE_SETS
        for d, p in CELLS
        for m in Q.models
    ]


def quantization_outputs():
    if not studies("quantization"):
        return []
    curves = Q.curves.enabled
    return [
        f"{RESULTS}/tables/quantization.csv",
        f"{RESULTS}/tables/literature.md",
        *(
            f"{RESULTS}/plots/{plot}_{d}_{p}.png"
            for d, p in CELLS
            for plot in ("pareto", "accuracy_vs_bits")
        ),
        *([f"{RESULTS}/tables/allocators.csv"] if curves else []),
    ]
