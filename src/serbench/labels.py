"""Canonical emotion labels shared by every corpus adapter.

Each corpus names its emotions in its own codes; adapters map those codes to
the canonical names below so that tables, cross-corpus protocols and plots
speak one vocabulary.
"""

from serbench.errors import InputError

CANONICAL_EMOTIONS: tuple[str, ...] = (
    "anger",
    "boredom",
    "calm",
    "disgust",
    "excitement",
    "fear",
    "frustration",
    "guilt",
    "happiness",
    "neutral",
    "sadness",
    "surprise",
)


def shared_emotions(emotion_sets: list[set[str]]) -> list[str]:
    """Canonical emotions present in every corpus of a cross-corpus experiment, sorted.

    Corpus codes are mapped to canonical names by the adapters; this is the one
    place that decides which classes two corpora have in common.

    >>> shared_emotions([{"anger", "boredom", "neutral"}, {"anger", "calm", "neutral"}])
    ['anger', 'neutral']

    Raises:
        ValueError: no emotion is shared.
    """
    shared = set.intersection(*emotion_sets)
    if not shared:
        raise InputError(f"the corpora share no emotion: {[sorted(s) for s in emotion_sets]}")
    return sorted(shared)


# Ismail's four classes: anger, happiness (with excitement), neutral, sadness.
FOUR_CLASS: dict[str, str] = {
    "anger": "anger",
    "happiness": "happiness",
    "excitement": "happiness",
    "neutral": "neutral",
    "sadness": "sadness",
}

LABEL_MAPS: dict[str, dict[str, str] | None] = {"all": None, "four_class": FOUR_CLASS}
