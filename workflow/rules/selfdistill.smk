# The self-distillation study (Ren et al. 2023), per upstream: the encoder trained (or frozen) with student exits,
# per variant and fold; every exit scored, exported to float and int8 ONNX and timed; Tables 1 and 2.


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


rule selfdistill_states:
    input:
        waveforms=SD_WAVEFORMS,
        encoder=f"{SD_RESULTS}/encoder.json",
    output:
        f"{SD_RESULTS}/states/{SD.corpus}.npz",
    log:
        logs("selfdistill/{upstream}/states"),
    benchmark:
        benchmarks("selfdistill/{upstream}/states")
    conda:
        "../envs/serbench.yaml"
    threads: ENCODER_THREADS
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=SETTINGS.gpu(),
    params:
        device=SETTINGS.device,
        selfdistill=step_params(SD, SelfDistillStatesSettings),
        whisper_input=SETTINGS.waveform.whisper_input,
    script:
        "../scripts/selfdistill/states.py"


rule selfdistill_train:
    input:
        split=rules.selfdistill_split.output[0],
        manifest=f"{RESULTS}/manifests/{SD.corpus}.csv",
        cache=selfdistill_items,
        encoder=f"{SD_RESULTS}/encoder.json",
    output:
        models=directory(f"{SD_RESULTS}/runs/{{variant}}/fold{{fold}}"),
        metrics=f"{SD_RESULTS}/runs/{{variant}}/fold{{fold}}.json",
    log:
        logs("selfdistill/{upstream}/train/{variant}/fold{fold}"),
    benchmark:
        benchmarks("selfdistill/{upstream}/train/{variant}/fold{fold}")
    conda:
        "../envs/serbench.yaml"
    threads: ENCODER_THREADS if SD.finetune else 1
    resources:
        mem_mb=16000,
        runtime=(1440 if SD.train.selection == "retrain" else 720) * len(SD.seeds),
        gpu=SETTINGS.gpu(SD.finetune),
    params:
        device=SETTINGS.device,
        selfdistill=settings("selfdistill"),
        whisper_input=SETTINGS.waveform.whisper_input,
    script:
        "../scripts/selfdistill/train.py"


rule selfdistill_int8:
    input:
        models=f"{SD_RESULTS}/runs/{{variant}}/{SD.fold_names[0]}",
        split=rules.selfdistill_split.output[0],
        manifest=f"{RESULTS}/manifests/{SD.corpus}.csv",
        waveforms=SD_WAVEFORMS,
    output:
        measurements=f"{SD_RESULTS}/int8/{{variant}}.json",
        model=f"{SD_RESULTS}/onnx/{{variant}}.int8.onnx",
    log:
        logs("selfdistill/{upstream}/int8/{variant}"),
    benchmark:
        benchmarks("selfdistill/{upstream}/int8/{variant}")
    conda:
        "../envs/serbench.yaml"
    threads: ENCODER_THREADS
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        selfdistill=settings("selfdistill"),
        waveform=settings("waveform"),
        seed=SD.seeds[0],
    script:
        "../scripts/selfdistill/int8.py"


rule selfdistill_latency:
    input:
        encoder=f"{SD_RESULTS}/encoder.json",
        split=rules.selfdistill_split.output[0],
        manifest=f"{RESULTS}/manifests/{SD.corpus}.csv",
    output:
        f"{SD_RESULTS}/latency.json",
    log:
        logs("selfdistill/{upstream}/latency"),
    benchmark:
        benchmarks("selfdistill/{upstream}/latency")
    conda:
        "../envs/serbench.yaml"
    threads: max(SD.latency.threads)
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        selfdistill=settings("selfdistill"),
        whisper_input=SETTINGS.waveform.whisper_input,
    script:
        "../scripts/selfdistill/latency.py"


rule selfdistill_report:
    input:
        metrics=[p for u in SD_UPSTREAMS for p in selfdistill_runs(u, ".json")],
        int8=[
            f"{RESULTS}/selfdistill/{u}/int8/{v}.json"
            for u in SD_UPSTREAMS
            for v in SD.variants
        ],
        latency=[f"{RESULTS}/selfdistill/{u}/latency.json" for u in SD_UPSTREAMS],
        encoders=[f"{RESULTS}/selfdistill/{u}/encoder.json" for u in SD_UPSTREAMS],
    output:
        runs=f"{RESULTS}/tables/selfdistill_runs.csv",
        md=f"{RESULTS}/tables/selfdistill.md",
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
    script:
        "../scripts/selfdistill/report.py"
