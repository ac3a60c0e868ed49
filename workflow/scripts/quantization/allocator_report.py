"""The allocator curves' table (results/tables/allocators.csv) and a plot per dataset and protocol."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_allocator_report") as job:
    from serbench.studies.quantization.allocator_report import write_allocator_report

    write_allocator_report(
        list(job.input.curves),
        job.input.summary,
        job.output.csv,
        dict(zip(map(tuple, job.params.cells), job.output.plots)),
    )
