"""One table page of the report: Markdown tables rendered, CSV tables shown and downloadable, in one HTML file."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "table_page") as job:
    from serbench.html_page import write_table_page

    write_table_page(job.output[0], job.params.title, list(job.input.markdown), list(job.input.csv))
