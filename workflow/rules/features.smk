rule utterance_features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        f"{RESULTS}/features/{{corpus}}/utterance.npz",
    params:
        settings=feature_settings,
    log:
        f"{RESULTS}/logs/features/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/features/{{corpus}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "serbench features --manifest {input.manifest} --settings {params.settings:q} --out {output} 2> {log}"
