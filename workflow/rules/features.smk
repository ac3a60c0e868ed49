rule features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        utterance=f"{RESULTS}/features/{{corpus}}/utterance.npz",
        frames=f"{RESULTS}/features/{{corpus}}/frames.npz",
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
        "serbench features --manifest {input.manifest} --settings {params.settings:q}"
        " --utterance-out {output.utterance} --frames-out {output.frames} 2> {log}"
