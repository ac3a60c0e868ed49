"""The three studies the suite reproduces, each a package of its workflow steps, trainers and report.

- :mod:`~serbench.studies.quantization`: layer-importance adaptive quantization (Shinde et al. 2024);
- :mod:`~serbench.studies.distilhubert`: DistilHuBERT for mobile SER (Ismail);
- :mod:`~serbench.studies.selfdistill`: self-distillation with early exits (Ren et al. 2023).
"""
