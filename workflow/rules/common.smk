# Config validation, wildcard constraints and the input/params functions of every rule.
import json
import os

from snakemake.utils import validate

from serbench.provenance import study_config_hash


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = "results"
VARIANTS = ["fp32", *(f"fixed{b}" for b in sorted(config["quantization"]["fixed_bits"], reverse=True)), "adaptive"]
# Cross-corpus experiments are datasets named after their corpora: emodb_to_ravdess.
CROSS = {f"{'_'.join(e['train'])}_to_{e['test']}": e for e in config.get("cross_corpus", [])}
# (dataset, protocol) pairs of the study.
EXPERIMENTS = [(c, p) for c in config["corpora"] for p in config["protocols"]] + [(n, "cross_corpus") for n in CROSS]
FRAME_MODELS = {"lstm", "attention_gru", "cnn1d"}


wildcard_constraints:
    corpus="[a-z0-9]+",
    dataset="[a-z0-9_]+",
    protocol="random|speaker_independent|cross_corpus",
    fold=r"\d+",
    seed=r"\d+",
    model="[a-z0-9_]+",
    variant=r"(conv|lstm|gru)-[a-z0-9+]+|baseline-\d+",


def as_json(settings):
    """Settings dict as one JSON argument for the serbench CLI."""
    return json.dumps(settings, sort_keys=True)


def section_json(study, key):
    """Params function giving config[study][key] as JSON, read when a job needs it (studies off leave it unset)."""

    def settings(wildcards):
        return as_json(config[study][key])

    return settings


def corpus_folder(wildcards):
    """The corpus copy under data_root (downloaded there if absent)."""
    return f"{config['data_root']}/{wildcards.corpus}"


def corpus_sha256(wildcards):
    """Pinned checksum of a corpus archive, or an empty string."""
    return config.get("download_sha256", {}).get(wildcards.corpus) or ""


def dataset_corpora(dataset):
    """Corpora a dataset reads: itself, or a cross-corpus experiment's training corpora then its test corpus."""
    return [*CROSS[dataset]["train"], CROSS[dataset]["test"]] if dataset in CROSS else [dataset]


def dataset_folds(dataset, protocol):
    if protocol == "speaker_independent":
        return [str(k) for k in range(config["speaker_independent"]["n_folds"][dataset])]
    return ["0"]


def split_manifests(wildcards):
    return [f"{RESULTS}/manifests/{c}.csv" for c in dataset_corpora(wildcards.dataset)]


def split_args(wildcards, input):
    """--manifest NAME PATH per corpus (the test corpus last for cross_corpus)."""
    names = dataset_corpora(wildcards.dataset)
    return " ".join(f"--manifest {n} {p}" for n, p in zip(names, input.manifests))


def split_settings(wildcards):
    """Keyword arguments of the protocol's split function."""
    if wildcards.protocol == "random":
        return as_json(config["random"])
    settings = {k: v for k, v in config["speaker_independent"].items() if k != "n_folds"}
    if wildcards.protocol == "speaker_independent":
        settings["n_folds"] = config["speaker_independent"]["n_folds"][wildcards.dataset]
    return as_json(settings)


def feature_file(model):
    return "frames" if model in FRAME_MODELS else "utterance"


def model_features(wildcards):
    """The feature cache a model family reads, for every corpus of the dataset."""
    return [f"{RESULTS}/features/{c}/{feature_file(wildcards.model)}.npz" for c in dataset_corpora(wildcards.dataset)]


def corpus_args(wildcards, input):
    """--corpus NAME MANIFEST FEATURES per corpus of the dataset."""
    names = dataset_corpora(wildcards.dataset)
    return " ".join(f"--corpus {n} {m} {f}" for n, m, f in zip(names, input.manifests, input.features))


def feature_settings(wildcards):
    return as_json(config["features"])


def train_settings(wildcards):
    return as_json(config["train"])


def model_settings(wildcards):
    return as_json(config.get(wildcards.model, {}))


def adaptive_settings(wildcards):
    return as_json(config["quantization"]["adaptive"])


def run_fields(wildcards):
    """Identifying fields copied into every metrics file."""
    return as_json(
        {
            "corpus": wildcards.dataset,
            "protocol": wildcards.protocol,
            "fold": wildcards.fold,
            "seed": int(wildcards.seed),
            "model": wildcards.model,
        }
    )


def quantization_metrics(wildcards):
    """Metrics files of every dataset × protocol × fold × seed × model × variant."""
    return [
        f"{RESULTS}/quantized/{d}/{p}/fold{f}/seed{s}/{m}/{v}.json"
        for d, p in EXPERIMENTS
        for f in dataset_folds(d, p)
        for s in config["seeds"]
        for m in config["models"]
        for v in VARIANTS
    ]


def pareto_protocol(wildcards):
    """The Pareto plot shows the paper's protocol (random) where it runs."""
    return "random" if "random" in config["protocols"] else config["protocols"][0]


def final_outputs():
    return ssl_outputs() + sd_outputs() + quantization_outputs()


def quantization_outputs():
    if "quantization" not in config.get("studies", ["quantization"]):
        return []
    return [
        f"{RESULTS}/tables/quantization.csv",
        f"{RESULTS}/tables/quantization.md",
        f"{RESULTS}/tables/literature.md",
        *(f"{RESULTS}/plots/pareto_{c}.png" for c in config["corpora"]),
        *(f"{RESULTS}/plots/accuracy_vs_bits_{d}_{p}.png" for d, p in EXPERIMENTS),
    ]


# --- DistilHuBERT study (Ismail) ---
SSL = config.get("ssl", {})
DH = config.get("distilhubert", {})
SSL_SETTINGS = ["base", "extra"] if DH.get("extra_train") else ["base"]


def ssl_corpora(setting):
    """Corpora whose utterances a setting's folds name: the study corpus, plus the extra ones for 'extra'."""
    return [DH["corpus"], *(DH["extra_train"] if setting == "extra" else [])]


def ssl_split_manifests(wildcards):
    return [f"{RESULTS}/manifests/{c}.csv" for c in ssl_corpora(wildcards.setting)]


def ssl_split_args(wildcards, input):
    names = ssl_corpora(wildcards.setting)
    extra = " ".join(names[1:])
    return " ".join(f"--manifest {n} {p}" for n, p in zip(names, input.manifests)) + (f" --extra {extra}" if extra else "")


def ssl_split_settings(wildcards):
    keys = ("n_folds", "validation_speakers")
    return as_json({**{k: DH[k] for k in keys if k in DH}, "group_column": DH["group_by"]})


def ssl_head_inputs(wildcards):
    """Manifests and, per corpus, the embedding cache (frozen encoder) or the prepared waveforms (ssl.finetune)."""
    names = ssl_corpora(wildcards.setting)
    cross = [DH["cross_corpus_test"]] if DH.get("cross_corpus_test") else []
    cache = "waveforms" if SSL.get("finetune") else "embeddings"
    return {
        "manifests": [f"{RESULTS}/manifests/{c}.csv" for c in names + cross],
        "features": [f"{RESULTS}/ssl/{cache}/{c}.npz" for c in names + cross],
    }


def ssl_head_args(wildcards, input):
    """--corpus NAME MANIFEST FEATURES per fold corpus, then --cross for the cross-corpus test corpus."""
    names = ssl_corpora(wildcards.setting)
    parts = [f"--corpus {n} {m} {f}" for n, m, f in zip(names, input.manifests, input.features)]
    if DH.get("cross_corpus_test"):
        parts.append(f"--cross {DH['cross_corpus_test']} {input.manifests[-1]} {input.features[-1]}")
    return " ".join(parts)


def ssl_finetune(wildcards):
    """--finetune JSON: the encoder and on-the-fly augmentation when ssl.finetune is set, else {} (frozen)."""
    if not SSL.get("finetune"):
        return as_json({})
    return as_json({"pretrained": SSL["pretrained"], "augment": SSL["augment"] if SSL["views"] > 0 else None})


def ssl_head_runtime(wildcards):
    """Minutes for one fold and seed: a head on cached states, or encoder fine-tuning."""
    return 600 if SSL.get("finetune") else 30


def ssl_gpus(wildcards):
    """One GPU for the head rule when the encoder is fine-tuned."""
    return 1 if SSL.get("finetune") else 0


def ssl_run_fields(wildcards):
    return as_json({"dataset": DH["corpus"], "setting": wildcards.setting, "fold": wildcards.fold, "seed": int(wildcards.seed)})


def ssl_head_paths(setting):
    return [
        f"{RESULTS}/ssl/heads/{DH['corpus']}/{setting}/fold{f}/seed{s}/{name}"
        for f in range(DH["n_folds"])
        for s in DH["seeds"]
        for name in ("head.pt", "metrics.json")
    ]


def ssl_all_metrics(wildcards):
    return [p for setting in SSL_SETTINGS for p in ssl_head_paths(setting) if p.endswith(".json")]


def ssl_int8_inputs(wildcards):
    corpus = DH["corpus"]
    return {
        "heads": [p for p in ssl_head_paths("base") if p.endswith(".pt")],
        "splits": [f"{RESULTS}/ssl/splits/{corpus}/base/seed{s}.csv" for s in DH["seeds"]],
        "manifest": f"{RESULTS}/manifests/{corpus}.csv",
        "waveforms": f"{RESULTS}/ssl/waveforms/{corpus}.npz",
    }


def ssl_int8_args(wildcards, input):
    corpus = DH["corpus"]
    split_of = {s: f"{RESULTS}/ssl/splits/{corpus}/base/seed{s}.csv" for s in DH["seeds"]}
    heads = [
        f"--head {RESULTS}/ssl/heads/{corpus}/base/fold{f}/seed{s}/head.pt {split_of[s]} {f}"
        for f in range(DH["n_folds"])
        for s in DH["seeds"]
    ]
    return " ".join(heads) + f" --corpus {corpus} {input.manifest} {input.waveforms}"


def output_folder(wildcards, output):
    """Folder of a rule's first output, for steps that write several files beside it."""
    return os.path.dirname(output[0])


def ssl_outputs():
    if "distilhubert" not in config.get("studies", []):
        return []
    return [
        f"{RESULTS}/tables/ssl_table1.md",
        f"{RESULTS}/plots/ssl_confusion.png",
        f"{RESULTS}/tables/ssl_int8.md",
    ]


# --- Self-distillation study (Ren et al.) ---
SD = config.get("selfdistill", {})


def sd_variants():
    baselines = [f"baseline-{d}" for d in [*SD["exit_layers"], SD["encoder_layers"]]] if SD.get("baselines") else []
    return list(SD["variants"]) + baselines


def sd_corpus_inputs(wildcards):
    return {
        "manifest": f"{RESULTS}/manifests/{SD['corpus']}.csv",
        "waveforms": f"{RESULTS}/ssl/waveforms/{SD['corpus']}.npz",
    }


def sd_corpus_args(wildcards, input):
    return f"--corpus {SD['corpus']} {input.manifest} {input.waveforms}"


def sd_split_settings(wildcards):
    """Settings of the study's split: fixed speaker lists (DEMoS) or speaker folds, minus excluded emotions."""
    excluded = {"exclude_emotions": SD.get("exclude_emotions", [])}
    if sd_protocol() == "fixed_speakers":
        return as_json({"speakers": SD["speakers"], **excluded})
    return as_json({"n_folds": SD["n_folds"], "validation_speakers": SD.get("validation_speakers", 1), **excluded})


def sd_protocol():
    return SD.get("protocol", "speaker_independent")


def sd_folds():
    """Fold indices: one fold for fixed speaker lists, else n_folds speaker folds."""
    return range(1 if sd_protocol() == "fixed_speakers" else SD["n_folds"])


def sd_run_fields(wildcards):
    return as_json({"dataset": wildcards.dataset, "fold": wildcards.fold, "seed": int(wildcards.seed)})


def sd_run_path(variant, fold, seed, name):
    return f"{RESULTS}/selfdistill/runs/{SD['corpus']}/{variant}/fold{fold}/seed{seed}/{name}"


def sd_all_metrics(wildcards):
    return [sd_run_path(v, f, s, "metrics.json") for v in sd_variants() for f in sd_folds() for s in SD["seeds"]]


def sd_int8_inputs(wildcards):
    return {
        **sd_corpus_inputs(wildcards),
        "model": sd_run_path(wildcards.variant, 0, SD["seeds"][0], "model.pt"),
        "split": f"{RESULTS}/selfdistill/splits/{SD['corpus']}/seed{SD['seeds'][0]}.csv",
    }


def sd_outputs():
    if "selfdistill" not in config.get("studies", []):
        return []
    return [f"{RESULTS}/tables/selfdistill.md"]
