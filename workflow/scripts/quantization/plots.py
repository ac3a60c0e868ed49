"""Every plot of the quantization study: Pareto per corpus, accuracy against b̄ per dataset and protocol."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_plots") as job:
    from serbench.studies.quantization.plots import write_plots

    write_plots(
        job.input.table,
        dict(zip(job.params.corpora, job.output.pareto)),
        dict(zip(map(tuple, job.params.cells), job.output.bits)),
        job.params.pareto_protocol,
    )
