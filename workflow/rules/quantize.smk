rule quantize:
    input:
        model=rules.train.output.model,
        features=rules.utterance_features.output[0],
        split=f"{RESULTS}/splits/{{corpus}}/{{protocol}}/seed{{seed}}.csv",
        manifest=rules.manifest.output.manifest,
    output:
        model=f"{RESULTS}/quantized/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/{{variant}}.sbq",
        metrics=f"{RESULTS}/quantized/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/{{variant}}.json",
    params:
        adaptive=adaptive_settings,
        run=run_fields,
    log:
        f"{RESULTS}/logs/quantize/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/quantize/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/{{variant}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "serbench quantize --model {input.model} --features {input.features} --split {input.split}"
        " --manifest {input.manifest} --fold {wildcards.fold} --variant {wildcards.variant}"
        " --adaptive {params.adaptive:q} --run {params.run:q}"
        " --out-model {output.model} --out-metrics {output.metrics} 2> {log}"
