"""serbench: a benchmark suite for efficient speech emotion recognition."""

__version__ = "0.1.0"
