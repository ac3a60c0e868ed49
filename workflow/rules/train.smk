rule train:
    input:
        split=rules.split.output[0],
        manifests=split_manifests,
        features=model_features,
    output:
        model=f"{RESULTS}/models/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/fp32.sbq",
        history=f"{RESULTS}/models/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/history.json",
    params:
        corpora=corpus_args,
        max_frames=config["sequences"]["max_frames"],
        model_settings=model_settings,
        settings=train_settings,
    log:
        f"{RESULTS}/logs/train/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "serbench train {params.corpora} --split {input.split} --fold {wildcards.fold} --seed {wildcards.seed}"
        " --model {wildcards.model} --max-frames {params.max_frames}"
        " --model-settings {params.model_settings:q} --settings {params.settings:q}"
        " --out-model {output.model} --out-history {output.history} 2> {log}"
