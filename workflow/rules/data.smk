# What the studies read: corpus copies, manifests; for the SSL studies, waveforms (prepared as Ismail's paper or raw
# as the self-distillation authors' code) and their upstreams.


rule download_corpus:
    output:
        directory(f"{SETTINGS.data_root}/{{corpus}}"),
    log:
        logs("download/{corpus}"),
    benchmark:
        benchmarks("download/{corpus}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,
    params:
        checksum=lambda w: SETTINGS.download_checksums.get(w.corpus) or "",
    run:
        # not a script rule: that reruns when its outputs are older than the script, and a user's corpus copy always is
        shell(
            download_command(wildcards.corpus, output[0], params.checksum, log[0])
        )


rule manifest:
    input:
        # the corpus's time moves with every fresh copy of the same files: its listing decides (serbench.integrity)
        corpus=ancient(f"{SETTINGS.data_root}/{{corpus}}"),
    output:
        manifest=f"{RESULTS}/manifests/{{corpus}}.csv",
        skipped=f"{RESULTS}/manifests/{{corpus}}.skipped.csv",
        listing=f"{RESULTS}/manifests/{{corpus}}.files.json",
    log:
        logs("manifest/{corpus}"),
    benchmark:
        benchmarks("manifest/{corpus}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/data/manifest.py"


rule waveforms:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        f"{RESULTS}/waveforms/{{preparation}}/{{corpus}}.npz",
    log:
        logs("waveforms/{preparation}/{corpus}"),
    benchmark:
        benchmarks("waveforms/{preparation}/{corpus}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        waveform=settings("waveform"),
    script:
        "../scripts/data/waveforms.py"


rule describe_encoder:
    output:
        f"{RESULTS}/{{study}}/{{upstream}}/encoder.json",
    log:
        logs("{study}/{upstream}/encoder"),
    benchmark:
        benchmarks("{study}/{upstream}/encoder")
    wildcard_constraints:
        study="distilhubert|selfdistill",
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        pretrained=lambda w: (
            DH_UPSTREAMS if w.study == "distilhubert" else SD_UPSTREAMS
        )[w.upstream],
        whisper_input=SETTINGS.waveform.whisper_input,
    script:
        "../scripts/data/encoder.py"
