# Settings, paths and input functions of the selfdistill rules (selfdistill.smk).

SD = SETTINGS.selfdistill
SD_FOLDS = range(1 if SD.protocol == "fixed_speakers" else SD.n_folds)
SD_VARIANTS = list(SD.variants) + (
    [f"baseline-{d}" for d in [*SD.exit_layers, SD.encoder_layers]]
    if SD.baselines
    else []
)


def selfdistill_split_settings():
    """The split's settings: fixed speaker lists (DEMoS) or speaker folds, and the emotions left out."""
    excluded = {"exclude_emotions": SD.exclude_emotions}
    if SD.protocol == "fixed_speakers":
        return {"speakers": settings("selfdistill", "speakers"), **excluded}
    return {
        "n_folds": SD.n_folds,
        "validation_speakers": SD.validation_speakers,
        **excluded,
    }


def selfdistill_runs(variant, name):
    return [f"{RESULTS}/selfdistill/runs/{variant}/fold{f}{name}" for f in SD_FOLDS]


def selfdistill_outputs():
    if not studies("selfdistill"):
        return []
    return [f"{RESULTS}/tables/selfdistill.md"]
