"""Layer-importance adaptive quantization study (Shinde et al., NeurIPS ENLSP 2024)."""
