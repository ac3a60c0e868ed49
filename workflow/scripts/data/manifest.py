"""Scan a corpus copy into its manifest and the table of files left out (serbench.corpora.build_manifest)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "manifest", corpus="emodb") as job:
    from serbench.atomic import write_csv, write_json
    from serbench.corpora import build_manifest, get_adapter
    from serbench.integrity import listing

    files = listing(job.input.corpus)  # before the scan: a file changed during it shows at the next run
    manifest, skipped = build_manifest(get_adapter(job.wildcards.corpus), job.input.corpus)
    write_csv(job.output.skipped, skipped)
    write_csv(job.output.manifest, manifest)
    write_json(job.output.listing, files)
    counts = skipped["action"].value_counts()
    print(
        f"{job.wildcards.corpus}: kept {len(manifest)}, skipped {counts.get('skipped', 0)}, "
        f"flagged {counts.get('flagged', 0)}: see {job.output.skipped}"
    )
