# Settings, paths and input functions of the selfdistill rules (selfdistill.smk).

SD = SETTINGS.selfdistill
SD_UPSTREAMS = {upstream_name(u.pretrained): u.pretrained for u in SD.upstreams}
SD_RESULTS = f"{RESULTS}/selfdistill/{{upstream}}"
SD_WAVEFORM_CACHE = SD.waveform_cache
SD_WAVEFORMS = f"{RESULTS}/waveforms/{SD_WAVEFORM_CACHE}/{SD.corpus}.npz"


def selfdistill_variants(upstream):
    """Table 1's variants and, with baselines, fine-tuned-only models at every exit depth and at full depth."""
    spec = SD.upstream(upstream)
    depths = [*spec.exit_layers, spec.layers] if SD.baselines else []
    return list(SD.variants) + [ExitVariant(None, (), d).name for d in depths]


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


def selfdistill_items(wildcards):
    """What training reads per utterance: the waveforms, or a frozen encoder's cached states."""
    if SD.finetune:
        return SD_WAVEFORMS
    return f"{RESULTS}/selfdistill/{wildcards.upstream}/states/{SD.corpus}.npz"


def selfdistill_runs(upstream, name):
    return [
        f"{RESULTS}/selfdistill/{upstream}/runs/{v}/{f}{name}"
        for v in selfdistill_variants(upstream)
        for f in SD.fold_names
    ]


def selfdistill_outputs():
    if not studies("selfdistill"):
        return []
    return [f"{RESULTS}/tables/selfdistill.md"]
