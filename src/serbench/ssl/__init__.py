"""Self-supervised speech encoders ("upstream") and the classifiers on top ("downstream")."""
