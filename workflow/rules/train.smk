rule train:
    input:
        features=rules.utterance_features.output[0],
        split=f"{RESULTS}/splits/{{corpus}}/{{protocol}}/seed{{seed}}.csv",
        manifest=rules.manifest.output.manifest,
    output:
        model=f"{RESULTS}/models/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/fp32.sbq",
        history=f"{RESULTS}/models/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/history.json",
    params:
        model_settings=model_settings,
        settings=train_settings,
    log:
        f"{RESULTS}/logs/train/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{corpus}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "serbench train --features {input.features} --split {input.split} --manifest {input.manifest}"
        " --fold {wildcards.fold} --seed {wildcards.seed} --model {wildcards.model}"
        " --model-settings {params.model_settings:q} --settings {params.settings:q}"
        " --out-model {output.model} --out-history {output.history} 2> {log}"
