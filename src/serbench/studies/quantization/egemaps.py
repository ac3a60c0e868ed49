"""eGeMAPS features through openSMILE: the field's standard hand-crafted parameter set for affect.

The extended Geneva Minimalistic Acoustic Parameter Set (Eyben et al. 2016,
IEEE Trans. Affective Computing 7(2)), version 02 as ``opensmile`` ships it:
25 low-level descriptors per 10-ms frame (pitch, jitter, shimmer, loudness,
HNR, formants, spectral slopes, MFCC 1-4, ...) and 88 functionals per
utterance (their means, deviations, percentiles, rates). The functionals are
the utterance-level features (the MLP's input), the descriptors the frame-level
ones (the sequence families').
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from serbench.audio import AudioError, load_audio
from serbench.progress import progress

log = logging.getLogger(__name__)
FUNCTIONALS, DESCRIPTORS = 88, 25  # values per utterance and per frame of eGeMAPSv02


_local = threading.local()  # one pair of extractors per thread


def _smiles() -> tuple:
    """This thread's openSMILE extractors: eGeMAPSv02 functionals and low-level descriptors."""
    if not hasattr(_local, "smiles"):
        import opensmile

        _local.smiles = tuple(
            opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=level)
            for level in (opensmile.FeatureLevel.Functionals, opensmile.FeatureLevel.LowLevelDescriptors)
        )
    return _local.smiles


def egemaps(waveform: np.ndarray, sample_rate: int, smiles: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """eGeMAPSv02 of one waveform ``(samples,)`` at ``sample_rate`` Hz.

    Returns:
        ``(functionals (88,), descriptors (frames, 25))``, float32; one frame per 10 ms (20-60 ms windows).
    """
    functionals, descriptors = smiles or _smiles()
    signal = np.asarray(waveform, dtype=np.float32)
    return (
        functionals.process_signal(signal, sample_rate).to_numpy(np.float32)[0],
        descriptors.process_signal(signal, sample_rate).to_numpy(np.float32),
    )


def extract_egemaps(
    manifest: pd.DataFrame, sample_rate: int, threads: int = 1
) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """eGeMAPSv02 of every manifest row, files decoded and resampled to ``sample_rate`` Hz on ``threads`` threads.

    A file that no longer decodes is logged by path and left out.

    Returns:
        ``(utterance_ids, functionals, descriptors)`` in manifest order: per kept utterance ``(88,)`` and
        ``(frames_i, 25)`` float32 arrays.
    """

    def one(path: str) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            waveform = load_audio(path, sample_rate)[0]
        except AudioError as err:
            log.warning("skipped %s", err)
            return None
        return egemaps(waveform, sample_rate)

    with ThreadPoolExecutor(threads) as pool:
        results = list(progress(pool.map(one, manifest["path"]), "eGeMAPS", "file", total=len(manifest)))
    kept = [i for i, result in enumerate(results) if result is not None]
    ids = manifest["utterance_id"].tolist()
    return [ids[i] for i in kept], [results[i][0] for i in kept], [results[i][1] for i in kept]
