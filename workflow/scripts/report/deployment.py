"""Which model to deploy: the models of every study that ran, with UA, bytes, parameters and latency, fronts marked."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "deployment") as job:
    from serbench.studies.deployment import (
        deployment_table,
        distilhubert_rows,
        quantization_rows,
        selfdistill_rows,
        write_deployment,
    )

    sources, corpora = job.params.sources, job.params.corpora
    parts = []
    if "quantization" in sources:
        parts.append(quantization_rows(sources["quantization"]["table"], sources["quantization"]["latency"]))
    for upstream in sources.get("distilhubert", []):
        parts.append(
            distilhubert_rows(upstream["int8"], upstream["latency"], upstream["deploy"], corpora["distilhubert"])
        )
    if "selfdistill" in sources:
        for upstream in sources["selfdistill"]["upstreams"]:
            parts.append(
                selfdistill_rows(
                    sources["selfdistill"]["runs"],
                    upstream["metrics"],
                    upstream["int8"],
                    upstream["latency"],
                    corpora["selfdistill"],
                )
            )
    write_deployment(deployment_table(parts), job.output.csv, job.output.md, job.output.plot)
