"""Self-supervised speech encoders ("upstream") shared by the two SSL studies: loading, waveforms, ONNX export."""

RANDOM_NOTE = "weights are random (a stand-in written offline): its scores measure the pipeline, not the encoder"
