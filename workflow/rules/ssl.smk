# The DistilHuBERT study (Ismail): frozen encoder and cached states (or ssl.finetune), heads per fold, int8 ONNX.


rule ssl_encoder:
    output:
        f"{RESULTS}/ssl/encoder.json",
    params:
        pretrained=SSL.get("pretrained"),
    log:
        f"{RESULTS}/logs/ssl/encoder.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/encoder.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    shell:
        "serbench ssl-encoder --pretrained {params.pretrained} --out {output} 2> {log}"


rule ssl_waveforms:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        f"{RESULTS}/ssl/waveforms/{{corpus}}.npz",
    params:
        settings=section_json("ssl", "waveform"),
    log:
        f"{RESULTS}/logs/ssl/waveforms/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/waveforms/{{corpus}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "serbench ssl-waveforms --manifest {input.manifest} --settings {params.settings:q} --out {output} 2> {log}"


rule ssl_embeddings:
    input:
        waveforms=rules.ssl_waveforms.output[0],
        encoder=rules.ssl_encoder.output[0],
    output:
        f"{RESULTS}/ssl/embeddings/{{corpus}}.npz",
    params:
        pretrained=SSL.get("pretrained"),
        views=SSL.get("views"),
        augment=section_json("ssl", "augment"),
        seed=SSL.get("augment_seed"),
    log:
        f"{RESULTS}/logs/ssl/embeddings/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/embeddings/{{corpus}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    shell:
        "serbench ssl-embeddings --waveforms {input.waveforms} --pretrained {params.pretrained}"
        " --views {params.views} --augment {params.augment:q} --seed {params.seed} --out {output} 2> {log}"


rule ssl_split:
    input:
        manifests=ssl_split_manifests,
    output:
        f"{RESULTS}/ssl/splits/{{dataset}}/{{setting}}/seed{{seed}}.csv",
    params:
        manifests=ssl_split_args,
        label_map=DH.get("label_map"),
        settings=ssl_split_settings,
    log:
        f"{RESULTS}/logs/ssl/split/{{dataset}}/{{setting}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/split/{{dataset}}/{{setting}}/seed{{seed}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench ssl-split --dataset {wildcards.dataset} {params.manifests} --label-map {params.label_map}"
        " --seed {wildcards.seed} --settings {params.settings:q} --out {output} 2> {log}"


rule ssl_head:
    input:
        unpack(ssl_head_inputs),
        split=rules.ssl_split.output[0],
    output:
        head=f"{RESULTS}/ssl/heads/{{dataset}}/{{setting}}/fold{{fold}}/seed{{seed}}/head.pt",
        metrics=f"{RESULTS}/ssl/heads/{{dataset}}/{{setting}}/fold{{fold}}/seed{{seed}}/metrics.json",
    params:
        corpora=ssl_head_args,
        label_map=DH.get("label_map"),
        head=section_json("ssl", "head"),
        settings=section_json("ssl", "train"),
        finetune=ssl_finetune,
        run=ssl_run_fields,
    log:
        f"{RESULTS}/logs/ssl/head/{{dataset}}/{{setting}}/fold{{fold}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/head/{{dataset}}/{{setting}}/fold{{fold}}/seed{{seed}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=ssl_head_runtime,
        gpu=ssl_gpus,
    shell:
        "serbench ssl-head {params.corpora} --split {input.split} --fold {wildcards.fold} --seed {wildcards.seed}"
        " --label-map {params.label_map} --head {params.head:q} --settings {params.settings:q} --finetune {params.finetune:q}"
        " --run {params.run:q} --out-head {output.head} --out-metrics {output.metrics} 2> {log}"


rule ssl_report:
    input:
        metrics=ssl_all_metrics,
        encoder=rules.ssl_encoder.output[0],
    output:
        runs=f"{RESULTS}/tables/ssl_runs.csv",
        csv=report(f"{RESULTS}/tables/ssl_table1.csv", category="DistilHuBERT", caption="../report/ssl_table1.rst"),
        md=f"{RESULTS}/tables/ssl_table1.md",
        confusion=report(f"{RESULTS}/plots/ssl_confusion.png", category="DistilHuBERT", caption="../report/ssl_confusion.rst"),
    params:
        config_hash=study_config_hash(config, "distilhubert"),
    log:
        f"{RESULTS}/logs/ssl/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/report.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "serbench ssl-report {input.metrics} --encoder {input.encoder} --runs-out {output.runs}"
        " --csv-out {output.csv} --md-out {output.md} --confusion-out {output.confusion}"
        " --config-hash {params.config_hash} 2> {log}"


rule ssl_int8:
    input:
        unpack(ssl_int8_inputs),
    output:
        measurements=f"{RESULTS}/ssl/onnx/int8.json",
        model=f"{RESULTS}/ssl/onnx/model.int8.onnx",
    params:
        pretrained=SSL.get("pretrained"),
        heads=ssl_int8_args,
        out_dir=output_folder,
    log:
        f"{RESULTS}/logs/ssl/int8.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/int8.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    shell:
        "serbench ssl-int8 --pretrained {params.pretrained} {params.heads} --out-dir {params.out_dir}"
        " --out {output.measurements} 2> {log}"


rule ssl_latency:
    output:
        f"{RESULTS}/ssl/latency.json",
    params:
        architecture=SSL.get("architecture"),
        seconds=DH.get("latency", {}).get("seconds"),
        repeats=DH.get("latency", {}).get("repeats"),
    log:
        f"{RESULTS}/logs/ssl/latency.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/latency.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: DH.get("latency", {}).get("threads", 1)
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "serbench ssl-latency --architecture {params.architecture} --seconds {params.seconds}"
        " --repeats {params.repeats} --threads {threads} --out {output} 2> {log}"


rule ssl_int8_table:
    input:
        int8=rules.ssl_int8.output.measurements,
        latency=rules.ssl_latency.output[0],
    output:
        report(f"{RESULTS}/tables/ssl_int8.md", category="DistilHuBERT", caption="../report/ssl_int8.rst"),
    log:
        f"{RESULTS}/logs/ssl/int8_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/ssl/int8_table.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench ssl-int8-table --int8 {input.int8} --latency {input.latency} --out {output} 2> {log}"
