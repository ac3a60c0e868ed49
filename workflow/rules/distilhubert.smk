# The DistilHuBERT study (Ismail), per upstream: speaker folds of one corpus, with and without extra training corpora;
# a head on cached encoder states (or encoder and head fine-tuned together) per fold; Table I; int8 ONNX; latency.


include: "distilhubert_inputs.smk"


rule distilhubert_embeddings:
    input:
        waveforms=f"{RESULTS}/waveforms/ismail/{{corpus}}.npz",
        encoder=f"{DH_RESULTS}/encoder.json",
    output:
        f"{DH_RESULTS}/embeddings/{{corpus}}.npz",
    log:
        logs("distilhubert/{upstream}/embeddings/{corpus}"),
    benchmark:
        benchmarks("distilhubert/{upstream}/embeddings/{corpus}")
    conda:
        "../envs/serbench.yaml"
    threads: ENCODER_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=SETTINGS.gpu(),
    params:
        device=SETTINGS.device,
        pretrained=lambda w: DH_UPSTREAMS[w.upstream],
        whisper_input=SETTINGS.waveform.whisper_input,
        views=DH.views,
        augment=settings("distilhubert", "augment"),
        seed=DH.augment_seed,
    script:
        "../scripts/distilhubert/embeddings.py"


rule distilhubert_split:
    input:
        manifests=lambda w: manifests(distilhubert_corpora(w.setting)),
    output:
        f"{RESULTS}/distilhubert/splits/{{setting}}.csv",
    log:
        logs("distilhubert/split/{setting}"),
    benchmark:
        benchmarks("distilhubert/split/{setting}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        corpora=lambda w: distilhubert_corpora(w.setting),
        split=distilhubert_split_settings,
        seeds=DH.seeds,
    script:
        "../scripts/distilhubert/split.py"


rule distilhubert_train:
    input:
        unpack(distilhubert_train_inputs),
        encoder=f"{DH_RESULTS}/encoder.json",
    output:
        heads=directory(f"{DH_RESULTS}/heads/{{setting}}/{{fold_folder}}"),
        metrics=f"{DH_RESULTS}/heads/{{setting}}/{{fold_folder}}.json",
    log:
        logs("distilhubert/{upstream}/train/{setting}/{fold_folder}"),
    benchmark:
        benchmarks("distilhubert/{upstream}/train/{setting}/{fold_folder}")
    wildcard_constraints:
        fold_folder=Fold.PATTERN,
    conda:
        "../envs/serbench.yaml"
    threads: ENCODER_THREADS if DH.finetune else 1
    resources:
        mem_mb=8000,
        runtime=(600 if DH.finetune else 30) * len(DH.seeds),
        gpu=SETTINGS.gpu(DH.finetune),
    params:
        device=SETTINGS.device,
        corpora=lambda w: distilhubert_corpora(w.setting) + DH_CROSS,
        distilhubert=settings("distilhubert"),
        pretrained=lambda w: DH_UPSTREAMS[w.upstream],
        whisper_input=SETTINGS.waveform.whisper_input,
    script:
        "../scripts/distilhubert/train.py"


rule distilhubert_report:
    input:
        metrics=[
            p
            for u in DH_UPSTREAMS
            for s in DH_SETUPS
            for p in distilhubert_heads(u, s, ".json")
        ],
        encoders=distilhubert_per_upstream(f"{DH_RESULTS}/encoder.json"),
    output:
        runs=f"{RESULTS}/tables/distilhubert_runs.csv",
        csv=f"{RESULTS}/tables/distilhubert_table1.csv",
        md=f"{RESULTS}/tables/distilhubert_table1.md",
        confusion=report(
            f"{RESULTS}/plots/distilhubert_confusion.png",
            category="DistilHuBERT",
            caption="../report/distilhubert_confusion.rst",
        ),
    log:
        logs("distilhubert/report"),
    benchmark:
        benchmarks("distilhubert/report")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config_hash=study_config_hash(SETTINGS.model_dump(mode="json"), "distilhubert"),
    script:
        "../scripts/distilhubert/report.py"


rule distilhubert_int8:
    input:
        heads=lambda w: distilhubert_heads(w.upstream, "base", "", production=False),
        split=f"{RESULTS}/distilhubert/splits/base.csv",
        manifest=f"{RESULTS}/manifests/{DH.corpus}.csv",
        waveforms=f"{RESULTS}/waveforms/ismail/{DH.corpus}.npz",
    output:
        measurements=f"{DH_RESULTS}/onnx/int8.json",
        encoder=f"{DH_RESULTS}/onnx/encoder.onnx",
    log:
        logs("distilhubert/{upstream}/int8"),
    benchmark:
        benchmarks("distilhubert/{upstream}/int8")
    conda:
        "../envs/serbench.yaml"
    threads: ENCODER_THREADS
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        pretrained=lambda w: DH_UPSTREAMS[w.upstream],
        whisper_input=SETTINGS.waveform.whisper_input,
        corpus=DH.corpus,
        seeds=DH.seeds,
        calibration_utterances=DH.calibration_utterances,
    script:
        "../scripts/distilhubert/int8.py"


rule distilhubert_latency:
    input:
        encoder=f"{DH_RESULTS}/encoder.json",
        split=f"{RESULTS}/distilhubert/splits/base.csv",
    output:
        f"{DH_RESULTS}/latency.json",
    log:
        logs("distilhubert/{upstream}/latency"),
    benchmark:
        benchmarks("distilhubert/{upstream}/latency")
    conda:
        "../envs/serbench.yaml"
    threads: max(DH.latency.threads)
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        pretrained=lambda w: DH_UPSTREAMS[w.upstream],
        whisper_input=SETTINGS.waveform.whisper_input,
        latency=settings("distilhubert", "latency"),
    script:
        "../scripts/distilhubert/latency.py"


rule distilhubert_deploy:
    input:
        head=distilhubert_deployed,
        split=f"{RESULTS}/distilhubert/splits/base.csv",
        manifest=f"{RESULTS}/manifests/{DH.corpus}.csv",
        waveforms=f"{RESULTS}/waveforms/ismail/{DH.corpus}.npz",
        int8=rules.distilhubert_int8.output.measurements,
        latency=rules.distilhubert_latency.output[0],
    output:
        model=f"{DH_RESULTS}/onnx/model.int8.onnx",
        float_model=f"{DH_RESULTS}/onnx/model.onnx",
        record=f"{DH_RESULTS}/onnx/deploy.json",
    log:
        logs("distilhubert/{upstream}/deploy"),
    benchmark:
        benchmarks("distilhubert/{upstream}/deploy")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        pretrained=lambda w: DH_UPSTREAMS[w.upstream],
        waveform=settings("waveform"),
        corpus=DH.corpus,
        seed=DH.seeds[0],
        deployed_int8=DH.deployed_int8,
        max_int8_uar_loss=DH.max_int8_uar_loss,
        calibration_utterances=DH.calibration_utterances,
    script:
        "../scripts/distilhubert/deploy.py"


rule distilhubert_int8_table:
    input:
        int8=distilhubert_per_upstream(rules.distilhubert_int8.output.measurements),
        latency=distilhubert_per_upstream(rules.distilhubert_latency.output[0]),
        deploy=distilhubert_per_upstream(rules.distilhubert_deploy.output.record),
    output:
        f"{RESULTS}/tables/distilhubert_int8.md",
    log:
        logs("distilhubert/int8_table"),
    benchmark:
        benchmarks("distilhubert/int8_table")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/distilhubert/int8_table.py"
