# The DistilHuBERT study (Ismail): speaker folds of one corpus, with and without extra training corpora; a head on
# cached encoder states (or encoder and head fine-tuned together) per fold; Table I; int8 ONNX; latency.


include: "distilhubert_inputs.smk"


rule distilhubert_embeddings:
    input:
        waveforms=rules.waveforms.output[0],
        encoder=f"{RESULTS}/distilhubert/encoder.json",
    output:
        f"{RESULTS}/distilhubert/embeddings/{{corpus}}.npz",
    log:
        logs("distilhubert/embeddings/{corpus}"),
    benchmark:
        benchmarks("distilhubert/embeddings/{corpus}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        pretrained=DH.pretrained,
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
        split={
            k: getattr(DH, k)
            for k in (
                "corpus",
                "n_folds",
                "group_by",
                "validation_speakers",
                "label_map",
                "production_validation",
            )
        },
        seeds=DH.seeds,
    script:
        "../scripts/distilhubert/split.py"


rule distilhubert_train:
    input:
        unpack(distilhubert_train_inputs),
        encoder=f"{RESULTS}/distilhubert/encoder.json",
    output:
        heads=directory(f"{RESULTS}/distilhubert/heads/{{setting}}/{{head}}"),
        metrics=f"{RESULTS}/distilhubert/heads/{{setting}}/{{head}}.json",
    log:
        logs("distilhubert/train/{setting}/{head}"),
    benchmark:
        benchmarks("distilhubert/train/{setting}/{head}")
    wildcard_constraints:
        head=r"fold\d+|production",
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=(600 if DH.finetune else 30) * len(DH.seeds),
        gpu=1 if DH.finetune else 0,
    params:
        corpora=lambda w: distilhubert_corpora(w.setting) + DH_CROSS,
        distilhubert=settings("distilhubert"),
    script:
        "../scripts/distilhubert/train.py"


rule distilhubert_report:
    input:
        metrics=[p for s in DH_SETTINGS for p in distilhubert_heads(s, ".json")],
        encoder=f"{RESULTS}/distilhubert/encoder.json",
    output:
        runs=f"{RESULTS}/tables/distilhubert_runs.csv",
        csv=report(
            f"{RESULTS}/tables/distilhubert_table1.csv",
            category="DistilHuBERT",
            caption="../report/distilhubert_table1.rst",
        ),
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
        **distilhubert_production("base"),
        heads=distilhubert_heads("base", "", production=False),
        split=f"{RESULTS}/distilhubert/splits/base.csv",
        manifest=f"{RESULTS}/manifests/{DH.corpus}.csv",
        waveforms=f"{RESULTS}/waveforms/{DH.corpus}.npz",
    output:
        measurements=f"{RESULTS}/distilhubert/onnx/int8.json",
        model=f"{RESULTS}/distilhubert/onnx/model.int8.onnx",
    log:
        logs("distilhubert/int8"),
    benchmark:
        benchmarks("distilhubert/int8")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        pretrained=DH.pretrained,
        corpus=DH.corpus,
        seeds=DH.seeds,
        calibration_utterances=DH.calibration_utterances,
        deployed_int8=DH.deployed_int8,
    script:
        "../scripts/distilhubert/int8.py"


rule distilhubert_latency:
    output:
        f"{RESULTS}/distilhubert/latency.json",
    log:
        logs("distilhubert/latency"),
    benchmark:
        benchmarks("distilhubert/latency")
    conda:
        "../envs/serbench.yaml"
    threads: max(DH.latency.threads)
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        architecture=DH.architecture,
        n_classes=4 if DH.label_map == "four_class" else 7,
        latency=settings("distilhubert", "latency"),
    script:
        "../scripts/distilhubert/latency.py"


rule distilhubert_int8_table:
    input:
        int8=rules.distilhubert_int8.output.measurements,
        latency=rules.distilhubert_latency.output[0],
    output:
        report(
            f"{RESULTS}/tables/distilhubert_int8.md",
            category="DistilHuBERT",
            caption="../report/distilhubert_int8.rst",
        ),
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
