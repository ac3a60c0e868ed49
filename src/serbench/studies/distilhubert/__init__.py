"""DistilHuBERT for mobile SER (Ismail): cross-corpus folds, focal-loss head or fine-tuning, int8 ONNX, voice notes."""
