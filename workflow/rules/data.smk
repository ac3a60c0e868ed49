rule download_corpus:
    output:
        directory(f"{config['data_root']}/{{corpus}}"),
    params:
        sha256=corpus_sha256,
    log:
        f"{RESULTS}/logs/download/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download/{{corpus}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,
    shell:
        "serbench download --corpus {wildcards.corpus} --dest {output} --sha256 '{params.sha256}' 2> {log}"


rule manifest:
    input:
        corpus=corpus_folder,
    output:
        manifest=f"{RESULTS}/manifests/{{corpus}}.csv",
        skipped=f"{RESULTS}/manifests/{{corpus}}.skipped.csv",
    log:
        f"{RESULTS}/logs/manifest/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/manifest/{{corpus}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "serbench manifest --corpus {wildcards.corpus} --root {input.corpus}"
        " --out {output.manifest} --skipped {output.skipped} 2> {log}"


rule split:
    input:
        manifests=split_manifests,
    output:
        f"{RESULTS}/splits/{{dataset}}/{{protocol}}/seed{{seed}}.csv",
    params:
        manifests=split_args,
        settings=split_settings,
    log:
        f"{RESULTS}/logs/split/{{dataset}}/{{protocol}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/split/{{dataset}}/{{protocol}}/seed{{seed}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench split --protocol {wildcards.protocol} {params.manifests} --seed {wildcards.seed}"
        " --settings {params.settings:q} --out {output} 2> {log}"
