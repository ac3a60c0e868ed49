"""The float SVM baseline of one feature set, dataset and protocol: kernel and C chosen on validation, scored on
test, on the families' own splits."""

from serbench.workflow import job_corpora, job_run, snakemake_job

with snakemake_job(
    globals(), "quantization_svm", features="mfcc_chroma_mel", dataset="emodb", protocol="random"
) as job:
    from serbench.settings import SVMSettings
    from serbench.studies.quantization.svm import svm_cell

    svm_cell(
        job.input.split,
        job_corpora(job),
        SVMSettings.from_params(job.params.svm),
        job_run(job, ("dataset", "features", "protocol")),
        job.output[0],
        job.params.normalise,
    )
