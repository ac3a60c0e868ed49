"""Whether a study's upstream can be loaded, checked before any job runs without loading it (a hub query: 5 s at most).

A local folder must hold a ``config.json``; a hub id must be in the Hugging Face cache (``HF_HUB_CACHE``), or,
when the hub may be reached (``HF_HUB_OFFLINE`` unset), known to the hub. Loading itself
(:func:`serbench.ssl.upstream.load_upstream`) comes later, in the study's first step.
"""

from __future__ import annotations

from pathlib import Path

HINT = (
    "set {key} (--config or your --configfile) to a hub id in your HF_HUB_CACHE (HF_HUB_OFFLINE=1 offline) or a "
    "local folder saved with save_pretrained ('serbench init-encoder' writes a random one)"
)


def looks_local(pretrained: str) -> bool:
    """Whether ``pretrained`` names a folder rather than a hub id (``owner/name``).

    >>> looks_local("openai/whisper-tiny.en"), looks_local("/models/distilhubert-random")
    (False, True)
    """
    return pretrained.startswith((".", "/", "~")) or pretrained.count("/") > 1 or Path(pretrained).is_dir()


def upstream_problem(pretrained: str, key: str, timeout: float = 5.0) -> str | None:
    """Why ``pretrained`` (named by config ``key``) cannot be loaded, in one line, or ``None`` when it can.

    Online and not cached, the hub is asked whether the id exists (at most ``timeout`` seconds).
    """
    import huggingface_hub
    from huggingface_hub import constants

    hint = HINT.format(key=key)
    if looks_local(pretrained):
        folder = Path(pretrained).expanduser()
        if not (folder / "config.json").is_file():
            return f"{key}: speech encoder folder {pretrained!r} not found or without config.json; {hint}"
        return None
    if isinstance(huggingface_hub.try_to_load_from_cache(pretrained, "config.json"), str):
        return None
    if constants.HF_HUB_OFFLINE:
        return f"{key}: {pretrained!r} is not in the Hugging Face cache {constants.HF_HUB_CACHE} (offline); {hint}"
    try:
        huggingface_hub.model_info(pretrained, timeout=timeout)
    except Exception as err:  # httpx's, huggingface_hub's or the OS's: whichever it is, the message names it
        return f"{key}: cannot reach {pretrained!r} on the Hugging Face hub ({type(err).__name__}); {hint}"
    return None
