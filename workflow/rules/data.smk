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


rule split_random:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        f"{RESULTS}/splits/{{corpus}}/random/seed{{seed}}.csv",
    params:
        validation_fraction=config["protocol"]["validation_fraction"],
        test_fraction=config["protocol"]["test_fraction"],
    log:
        f"{RESULTS}/logs/split/{{corpus}}/random/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/split/{{corpus}}/random/seed{{seed}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench split --manifest {input.manifest} --seed {wildcards.seed}"
        " --validation-fraction {params.validation_fraction} --test-fraction {params.test_fraction}"
        " --out {output} 2> {log}"
