# The self-distillation study (Ren et al. 2023): wav2vec2 fine-tuned with student exits, per variant and fold;
# every exit scored, exported to float and int8 ONNX and timed at full size; Tables 1 and 2.


include: "selfdistill_inputs.smk"


rule selfdistill_split:
    input:
        manifest=f"{RESULTS}/manifests/{SD.corpus}.csv",
    output:
        f"{RESULTS}/selfdistill/splits/{SD.corpus}.csv",
    log:
        logs("selfdistill/split"),
    benchmark:
        benchmarks("selfdistill/split")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        corpus=SD.corpus,
        protocol=SD.protocol,
        split=selfdistill_split_settings(),
        seeds=SD.seeds,
    script:
        "../scripts/selfdistill/split.py"


rule selfdistill_train:
    input:
        split=rules.selfdistill_split.output[0],
        manifest=f"{RESULTS}/manifests/{SD.corpus}.csv",
        waveforms=f"{RESULTS}/waveforms/{SD.corpus}.npz",
        encoder=f"{RESULTS}/selfdistill/encoder.json",
    output:
        models=directory(f"{RESULTS}/selfdistill/runs/{{variant}}/fold{{fold}}"),
        metrics=f"{RESULTS}/selfdistill/runs/{{variant}}/fold{{fold}}.json",
    log:
        logs("selfdistill/train/{variant}/fold{fold}"),
    benchmark:
        benchmarks("selfdistill/train/{variant}/fold{fold}")
    conda:
        "../envs/serbench.yaml"
    threads: 2
    resources:
        mem_mb=16000,
        runtime=(1440 if SD.train.selection == "retrain" else 720) * len(SD.seeds),
        gpu=1,
    params:
        selfdistill=settings("selfdistill"),
    script:
        "../scripts/selfdistill/train.py"


rule selfdistill_int8:
    input:
        models=f"{RESULTS}/selfdistill/runs/{{variant}}/fold0",
        split=rules.selfdistill_split.output[0],
        manifest=f"{RESULTS}/manifests/{SD.corpus}.csv",
        waveforms=f"{RESULTS}/waveforms/{SD.corpus}.npz",
    output:
        f"{RESULTS}/selfdistill/int8/{{variant}}.json",
    log:
        logs("selfdistill/int8/{variant}"),
    benchmark:
        benchmarks("selfdistill/int8/{variant}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        pretrained=SD.pretrained,
        corpus=SD.corpus,
        seed=SD.seeds[0],
        calibration_utterances=SD.calibration_utterances,
    script:
        "../scripts/selfdistill/int8.py"


rule selfdistill_latency:
    output:
        f"{RESULTS}/selfdistill/latency.json",
    log:
        logs("selfdistill/latency"),
    benchmark:
        benchmarks("selfdistill/latency")
    conda:
        "../envs/serbench.yaml"
    threads: max(SD.latency.threads)
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        architecture=SD.architecture,
        exit_layers=list(SD.exit_layers),
        latency=settings("selfdistill", "latency"),
    script:
        "../scripts/selfdistill/latency.py"


rule selfdistill_report:
    input:
        metrics=[p for v in SD_VARIANTS for p in selfdistill_runs(v, ".json")],
        int8=expand(f"{RESULTS}/selfdistill/int8/{{variant}}.json", variant=SD.variants),
        latency=rules.selfdistill_latency.output[0],
        encoder=f"{RESULTS}/selfdistill/encoder.json",
    output:
        runs=f"{RESULTS}/tables/selfdistill_runs.csv",
        md=report(
            f"{RESULTS}/tables/selfdistill.md",
            category="Self-distillation",
            caption="../report/selfdistill.rst",
        ),
    log:
        logs("selfdistill/report"),
    benchmark:
        benchmarks("selfdistill/report")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config_hash=study_config_hash(SETTINGS.model_dump(mode="json"), "selfdistill"),
        exit_layers=list(SD.exit_layers),
    script:
        "../scripts/selfdistill/report.py"
