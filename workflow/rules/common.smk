# Config validation, wildcard constraints and input/params functions of every rule.
import json

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = "results"
VARIANTS = ["fp32", *(f"fixed{b}" for b in sorted(config["quantization"]["fixed_bits"], reverse=True)), "adaptive"]
# The random protocol has one fold; speaker-independent protocols add more.
FOLDS = ["0"]


wildcard_constraints:
    corpus="[a-z0-9_]+",
    protocol="[a-z_]+",
    fold="[A-Za-z0-9_]+",
    seed=r"\d+",
    model="[a-z0-9_]+",
    variant="fp32|fixed[1-8]|adaptive",


def corpus_folder(wildcards):
    """The corpus copy under data_root (downloaded there if absent)."""
    return f"{config['data_root']}/{wildcards.corpus}"


def corpus_sha256(wildcards):
    """Pinned checksum of a corpus archive, or an empty string."""
    return config.get("download_sha256", {}).get(wildcards.corpus) or ""


def as_json(settings):
    """Settings dict as one JSON argument for the serbench CLI."""
    return json.dumps(settings, sort_keys=True)


def feature_settings(wildcards):
    return as_json(config["features"])


def train_settings(wildcards):
    return as_json(config["train"])


def model_settings(wildcards):
    return as_json(config.get(wildcards.model, {}))


def adaptive_settings(wildcards):
    """Adaptive settings for the adaptive variant only, so fixed variants ignore their changes."""
    return as_json(config["quantization"]["adaptive"] if wildcards.variant == "adaptive" else {})


def run_fields(wildcards):
    """Identifying fields copied into every metrics file."""
    return as_json(
        {
            "corpus": wildcards.corpus,
            "protocol": wildcards.protocol,
            "fold": wildcards.fold,
            "seed": int(wildcards.seed),
            "model": wildcards.model,
        }
    )


def quantization_metrics(wildcards):
    """Metrics files of every corpus × model × seed × variant of the configured protocol."""
    return expand(
        f"{RESULTS}/quantized/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/{{variant}}.json",
        corpus=config["corpora"],
        protocol=config["protocol"]["name"],
        fold=FOLDS,
        seed=config["seeds"],
        model=config["models"],
        variant=VARIANTS,
    )


def final_outputs():
    return [
        f"{RESULTS}/tables/quantization.csv",
        f"{RESULTS}/tables/quantization.md",
        *expand(f"{RESULTS}/plots/pareto_{{corpus}}.png", corpus=config["corpora"]),
    ]
