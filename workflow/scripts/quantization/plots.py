"""The quantization study's plots of one dataset and protocol: accuracy against stored size and against b̄."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_plots") as job:
    from serbench.studies.quantization.plots import write_plots

    write_plots(job.input.table, job.wildcards.dataset, job.wildcards.protocol, job.output.pareto, job.output.bits)
