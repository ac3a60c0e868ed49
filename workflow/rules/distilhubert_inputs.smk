# Settings, paths and input functions of the distilhubert rules (distilhubert.smk).

DH = SETTINGS.distilhubert
DH_SETTINGS = ["base", "extra"] if DH.extra_train else ["base"]
DH_CROSS = [DH.cross_corpus_test] if DH.cross_corpus_test else []


def distilhubert_corpora(setting):
    """Corpora a setting's folds name: the study corpus, plus the extra ones for 'extra'."""
    return [DH.corpus, *(DH.extra_train if setting == "extra" else [])]


def distilhubert_cache(corpus):
    """What the heads read per utterance: cached encoder states, or the waveforms when the encoder is fine-tuned."""
    return (
        f"{RESULTS}/waveforms/{corpus}.npz"
        if DH.finetune
        else f"{RESULTS}/distilhubert/embeddings/{corpus}.npz"
    )


def distilhubert_train_inputs(wildcards):
    names = distilhubert_corpora(wildcards.setting) + DH_CROSS
    return {
        "split": f"{RESULTS}/distilhubert/splits/{wildcards.setting}.csv",
        "manifests": manifests(names),
        "caches": [distilhubert_cache(c) for c in names],
    }


def distilhubert_heads(setting, name, production=True):
    """A setting's head folders (name "") or metrics files (".json"): every fold's, and the production model's."""
    heads = [f"fold{f}" for f in range(DH.n_folds)]
    if production and DH.production_validation is not None:
        heads.append("production")
    return [f"{RESULTS}/distilhubert/heads/{setting}/{h}{name}" for h in heads]


def distilhubert_production(setting):
    """The production model's head folder, as input "production", when the study trains one; else nothing."""
    if DH.production_validation is None:
        return {}
    return {"production": f"{RESULTS}/distilhubert/heads/{setting}/production"}


def distilhubert_outputs():
    if not studies("distilhubert"):
        return []
    return [
        f"{RESULTS}/tables/distilhubert_table1.md",
        f"{RESULTS}/plots/distilhubert_confusion.png",
        f"{RESULTS}/tables/distilhubert_int8.md",
    ]
