"""Canonical emotion labels shared by every corpus adapter.

Each corpus names its emotions in its own codes; adapters map those codes to
the canonical names below so that tables, cross-corpus protocols and plots
speak one vocabulary.
"""

CANONICAL_EMOTIONS: tuple[str, ...] = (
    "anger",
    "boredom",
    "calm",
    "disgust",
    "fear",
    "happiness",
    "neutral",
    "sadness",
    "surprise",
)
