# Settings, paths and input functions of the distilhubert rules (distilhubert.smk).

DH = SETTINGS.distilhubert
DH_UPSTREAMS = {upstream_name(u): u for u in DH.upstreams}
# Table I's settings (the {setting} wildcard): folds and training corpora of a head; not config settings
DH_SETUPS = (
    ["base"] + (["extra"] if DH.extra_train else []) + (["emobox"] if DH.emobox else [])
)
DH_CROSS = [DH.cross_corpus_test] if DH.cross_corpus_test else []
DH_RESULTS = f"{RESULTS}/distilhubert/{{upstream}}"


def distilhubert_corpora(setting):
    """Corpora a setting's folds name: the study corpus, plus the extra ones for 'extra'."""
    return [DH.corpus, *(DH.extra_train if setting == "extra" else [])]


def distilhubert_split_settings(wildcards):
    """What a setting's split reads: EmoBox's folds for 'emobox', else speaker folds."""
    emobox = wildcards.setting == "emobox"
    return {
        "corpus": DH.corpus,
        "n_folds": DH.n_folds,
        "group_by": DH.group_by,
        "validation_speakers": DH.validation_speakers,
        "label_map": DH.label_map,
        "production_validation": DH.production_validation,
        "protocol": "emobox" if emobox else "speaker_independent",
    }


def distilhubert_cache(upstream, corpus):
    """What the heads read per utterance: cached encoder states, or the waveforms when the encoder is fine-tuned."""
    if DH.finetune:
        return f"{RESULTS}/waveforms/ismail/{corpus}.npz"
    return f"{RESULTS}/distilhubert/{upstream}/embeddings/{corpus}.npz"


def distilhubert_train_inputs(wildcards):
    names = distilhubert_corpora(wildcards.setting) + DH_CROSS
    return {
        "split": f"{RESULTS}/distilhubert/splits/{wildcards.setting}.csv",
        "manifests": manifests(names),
        "caches": [distilhubert_cache(wildcards.upstream, c) for c in names],
    }


def distilhubert_heads(upstream, setting, name, production=True):
    """A setting's head folders (name "") or metrics files (".json"): every fold's, and the production model's."""
    return [
        f"{RESULTS}/distilhubert/{upstream}/heads/{setting}/{h}{name}"
        for h in DH.fold_names(setting, production)
    ]


def distilhubert_deployed(wildcards):
    """The deployed model's head folder: the production model of the corpus-only setting, else its first fold's."""
    return f"{RESULTS}/distilhubert/{wildcards.upstream}/heads/base/{DH.deployed_fold}"


def distilhubert_per_upstream(path):
    return [path.format(upstream=u) for u in DH_UPSTREAMS]


def distilhubert_outputs():
    if not studies("distilhubert"):
        return []
    return [
        f"{RESULTS}/tables/distilhubert_table1.md",
        f"{RESULTS}/plots/distilhubert_confusion.png",
        f"{RESULTS}/tables/distilhubert_int8.md",
    ]
