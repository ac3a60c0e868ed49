# The self-distillation study (Ren et al.): wav2vec2 fine-tuned with student exits.


rule sd_encoder:
    output:
        f"{RESULTS}/selfdistill/encoder.json",
    params:
        pretrained=SD.get("pretrained"),
    log:
        f"{RESULTS}/logs/selfdistill/encoder.log",
    benchmark:
        f"{RESULTS}/benchmarks/selfdistill/encoder.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    shell:
        "serbench ssl-encoder --pretrained {params.pretrained} --out {output} 2> {log}"


rule sd_split:
    input:
        manifest=f"{RESULTS}/manifests/{{dataset}}.csv",
    output:
        f"{RESULTS}/selfdistill/splits/{{dataset}}/seed{{seed}}.csv",
    params:
        protocol=sd_protocol(),
        settings=sd_split_settings,
    log:
        f"{RESULTS}/logs/selfdistill/split/{{dataset}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/selfdistill/split/{{dataset}}/seed{{seed}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench split --protocol {params.protocol} --manifest {wildcards.dataset} {input.manifest}"
        " --seed {wildcards.seed} --settings {params.settings:q} --out {output} 2> {log}"


rule sd_train:
    input:
        unpack(sd_corpus_inputs),
        split=rules.sd_split.output[0],
        encoder=rules.sd_encoder.output[0],
    output:
        model=f"{RESULTS}/selfdistill/runs/{{dataset}}/{{variant}}/fold{{fold}}/seed{{seed}}/model.pt",
        metrics=f"{RESULTS}/selfdistill/runs/{{dataset}}/{{variant}}/fold{{fold}}/seed{{seed}}/metrics.json",
    params:
        corpora=sd_corpus_args,
        pretrained=SD.get("pretrained"),
        exit_layers=SD.get("exit_layers"),
        head_hidden=SD.get("head_hidden"),
        loss=section_json("selfdistill", "loss"),
        settings=section_json("selfdistill", "train"),
        run=sd_run_fields,
    log:
        f"{RESULTS}/logs/selfdistill/train/{{dataset}}/{{variant}}/fold{{fold}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/selfdistill/train/{{dataset}}/{{variant}}/fold{{fold}}/seed{{seed}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 2
    resources:
        mem_mb=16000,
        runtime=720,
        gpu=1,
    shell:
        "serbench sd-train {params.corpora} --split {input.split} --fold {wildcards.fold} --seed {wildcards.seed}"
        " --pretrained {params.pretrained} --variant {wildcards.variant} --exit-layers {params.exit_layers}"
        " --head-hidden {params.head_hidden} --loss {params.loss:q} --settings {params.settings:q}"
        " --run {params.run:q} --out-model {output.model} --out-metrics {output.metrics} 2> {log}"


rule sd_int8:
    input:
        unpack(sd_int8_inputs),
    output:
        f"{RESULTS}/selfdistill/int8/{{dataset}}/{{variant}}.json",
    params:
        corpora=sd_corpus_args,
        pretrained=SD.get("pretrained"),
    log:
        f"{RESULTS}/logs/selfdistill/int8/{{dataset}}/{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/selfdistill/int8/{{dataset}}/{{variant}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    shell:
        "serbench sd-int8 --model {input.model} --pretrained {params.pretrained} {params.corpora}"
        " --split {input.split} --fold 0 --out {output} 2> {log}"


rule sd_latency:
    output:
        f"{RESULTS}/selfdistill/latency.json",
    params:
        architecture=SD.get("architecture"),
        exit_layers=SD.get("exit_layers"),
        seconds=SD.get("latency", {}).get("seconds"),
        repeats=SD.get("latency", {}).get("repeats"),
    log:
        f"{RESULTS}/logs/selfdistill/latency.log",
    benchmark:
        f"{RESULTS}/benchmarks/selfdistill/latency.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: SD.get("latency", {}).get("threads", 1)
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "serbench sd-latency --architecture {params.architecture} --exit-layers {params.exit_layers}"
        " --seconds {params.seconds} --repeats {params.repeats} --threads {threads} --out {output} 2> {log}"


rule sd_report:
    input:
        metrics=sd_all_metrics,
        int8=expand(f"{RESULTS}/selfdistill/int8/{SD.get('corpus')}/{{variant}}.json", variant=SD.get("variants", [])),
        latency=rules.sd_latency.output[0],
        encoder=rules.sd_encoder.output[0],
    output:
        runs=f"{RESULTS}/tables/selfdistill_runs.csv",
        md=report(f"{RESULTS}/tables/selfdistill.md", category="Self-distillation", caption="../report/selfdistill.rst"),
    params:
        config_hash=study_config_hash(config, "selfdistill"),
        exit_layers=SD.get("exit_layers"),
    log:
        f"{RESULTS}/logs/selfdistill/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/selfdistill/report.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench sd-report {input.metrics} --int8 {input.int8} --latency {input.latency} --encoder {input.encoder}"
        " --exit-layers {params.exit_layers} --runs-out {output.runs} --md-out {output.md}"
        " --config-hash {params.config_hash} 2> {log}"
