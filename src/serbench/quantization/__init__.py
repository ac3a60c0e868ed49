"""Weight quantization: fixed bit-widths and layer-importance adaptive bit-widths."""
