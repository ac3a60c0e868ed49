"""The float SVM baseline of one feature set, dataset and protocol: kernel and C chosen on validation, scored on
test, on the families' own splits."""

from serbench.workflow import snakemake_job

with snakemake_job(
    globals(), "quantization_svm", features="mfcc_chroma_mel", dataset="emodb", protocol="random"
) as job:
    from serbench.dataset import CorpusFiles
    from serbench.settings import SVMSettings
    from serbench.studies.quantization.svm import svm_cell

    corpora = {c: CorpusFiles(m, f) for c, m, f in zip(job.params.corpora, job.input.manifests, job.input.features)}
    run = {k: getattr(job.wildcards, k) for k in ("dataset", "features", "protocol")}
    svm_cell(
        job.input.split, corpora, SVMSettings.from_params(job.params.svm), run, job.output[0], job.params.normalise
    )
