rule quantize:
    input:
        model=rules.train.output.model,
        split=rules.split.output[0],
        manifests=split_manifests,
        features=model_features,
    output:
        expand(
            f"{RESULTS}/quantized/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}/{{variant}}.{{ext}}",
            variant=VARIANTS,
            ext=["sbq", "json"],
            allow_missing=True,
        ),
    params:
        corpora=corpus_args,
        max_frames=config["sequences"]["max_frames"],
        variants=VARIANTS,
        adaptive=adaptive_settings,
        run=run_fields,
        out_dir=f"{RESULTS}/quantized/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}",
    log:
        f"{RESULTS}/logs/quantize/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/quantize/{{dataset}}/{{protocol}}/fold{{fold}}/seed{{seed}}/{{model}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "serbench quantize --model {input.model} {params.corpora} --split {input.split} --fold {wildcards.fold}"
        " --max-frames {params.max_frames} --variants {params.variants} --adaptive {params.adaptive:q}"
        " --run {params.run:q} --out-dir {params.out_dir} 2> {log}"
