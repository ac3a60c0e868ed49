"""Self-distillation of wav2vec2 with student exits and dynamic-depth inference (Ren et al. 2023)."""
