"""Self-supervised speech encoders ("upstream") shared by the two SSL studies: loading, waveforms, ONNX export."""
