"""Low-bit weights, for any model: quantizers, bit-packed files, and the bit allocators (layer importance and its
search, measured sensitivity, HAWQ-V2 Hessian traces, FIT Fisher traces). The quantization study composes them
(:mod:`serbench.studies.quantization`)."""
