"""Run records and their summary as the quantization study's tables read them, shared by the table and plot tests."""

from serbench.studies.quantization.pooling import utterance_results
from serbench.studies.quantization.tables import read_runs, summarize

BITS = {"fp32": 32, "fp32+ft": 32, "fixed2": 2, "adaptive": 1.5, "sensitivity": 1.4, "fixed2+qat": 2}


def run(variant, seed, correct, fold="0", n_test=50, quantizer="uniform", speakers=5):
    """A run record: its first ``correct`` of ``n_test`` utterances right, utterances spread over ``speakers``."""
    accuracy = correct / n_test
    utterances = [f"{fold}-{i}" for i in range(n_test)]
    return dict(
        dataset="emodb",
        features="mfcc_chroma_mel",
        protocol="random",
        model="mlp",
        quantizer="none" if variant.startswith("fp32") else quantizer,
        variant=variant,
        fold=fold,
        seed=seed,
        n_params=100,
        avg_bits=BITS[variant],
        size_kb=0.4,
        paper_count_kb=0.02,
        file_bytes=500 + seed,
        model_file=f"packed/fold{fold}/seed{seed}/{variant}.sbq",
        accuracy=accuracy,
        uar=accuracy - 0.1,
        macro_f1=accuracy - 0.2,
        n_test=n_test,
        n_correct=correct,
        n_search=25,
        chance_wa=0.3,
        chance_ua=0.25,
        classes="anger happiness neutral sadness",
        serbench_version="0.1.0",
        git_commit="abc123",
        test_utterances=utterances,
        test_speakers=[f"emodb/{i % speakers}" for i in range(n_test)],
        test_correct="1" * correct + "0" * (n_test - correct),
    )


def summary(records):
    return summarize(read_runs(records), utterance_results(records))
