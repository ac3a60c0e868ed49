# The quantization study (Shinde et al. 2024). A cell is (dataset, protocol, model family): one job trains
# every fold and seed of a cell, one job quantizes them; a dataset is a corpus or a cross-corpus experiment.


include: "quantization_inputs.smk"


rule quantization_features:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        utterance=f"{RESULTS}/features/{{features}}/{{corpus}}/utterance.npz",
        frames=f"{RESULTS}/features/{{features}}/{{corpus}}/frames.npz",
    log:
        logs("features/{features}/{corpus}"),
    benchmark:
        benchmarks("features/{features}/{corpus}")
    conda:
        "../envs/serbench.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        features=step_params(Q.features, FeatureExtractionSettings),
    script:
        "../scripts/quantization/features.py"


rule quantization_split:
    input:
        manifests=lambda w: manifests(dataset_corpora(w.dataset)),
    output:
        f"{RESULTS}/quantization/splits/{{dataset}}/{{protocol}}.csv",
    log:
        logs("quantization/split/{dataset}/{protocol}"),
    benchmark:
        benchmarks("quantization/split/{dataset}/{protocol}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        split=split_settings,
        seeds=Q.seeds,
        search_fraction=Q.search_fraction,
    script:
        "../scripts/quantization/split.py"


rule quantization_train:
    input:
        unpack(cell_inputs),
    output:
        directory(
            f"{RESULTS}/quantization/models/{{features}}/{{dataset}}/{{protocol}}/{{model}}"
        ),
    log:
        logs("quantization/train/{features}/{dataset}/{protocol}/{model}"),
    benchmark:
        benchmarks("quantization/train/{features}/{dataset}/{protocol}/{model}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda w: 10 + 2 * cell_runs(w),
        gpu=SETTINGS.gpu(),
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        device=SETTINGS.device,
        model=lambda w: settings("quantization", w.model),
        train=settings("quantization", "train"),
        features=lambda w: {
            "set": w.features,
            **step_params(Q.features, FeatureExtractionSettings),
        },
        normalise=normalisation,
        max_frames=Q.sequences.max_frames,
    script:
        "../scripts/quantization/train.py"


rule quantization_quantize:
    input:
        unpack(cell_inputs),
        models=rules.quantization_train.output[0],
    output:
        packed=directory(
            f"{RESULTS}/quantization/quantized/{{features}}/{{dataset}}/{{protocol}}/{{model}}/packed"
        ),
        metrics=f"{RESULTS}/quantization/quantized/{{features}}/{{dataset}}/{{protocol}}/{{model}}/metrics.json",
    log:
        logs("quantization/quantize/{features}/{dataset}/{protocol}/{model}"),
    benchmark:
        benchmarks("quantization/quantize/{features}/{dataset}/{protocol}/{model}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda w: 10 + cell_runs(w),
        gpu=SETTINGS.gpu(),
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        device=SETTINGS.device,
        quantization=step_params(Q, QuantizeStepSettings),
        batch_size=Q.train.batch_size,
        normalise=normalisation,
        max_frames=Q.sequences.max_frames,
    script:
        "../scripts/quantization/quantize.py"


rule quantization_allocators:
    input:
        unpack(cell_inputs),
        models=rules.quantization_train.output[0],
        quantized=rules.quantization_quantize.output.metrics,
    output:
        f"{RESULTS}/quantization/allocators/{{features}}/{{dataset}}/{{protocol}}/{{model}}.json",
    log:
        logs("quantization/allocators/{features}/{dataset}/{protocol}/{model}"),
    benchmark:
        benchmarks("quantization/allocators/{features}/{dataset}/{protocol}/{model}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda w: 10 + cell_runs(w),
        gpu=SETTINGS.gpu(),
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        device=SETTINGS.device,
        quantization=step_params(Q, AllocatorStepSettings),
        normalise=normalisation,
        max_frames=Q.sequences.max_frames,
    script:
        "../scripts/quantization/allocators.py"


rule quantization_latency:
    output:
        f"{RESULTS}/quantization/latency/{{features}}.json",
    log:
        logs("quantization/latency/{features}"),
    benchmark:
        benchmarks("quantization/latency/{features}")
    conda:
        "../envs/serbench.yaml"
    threads: max(Q.latency.threads)
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        features=step_params(Q.features, FeatureExtractionSettings),
        families={m: settings("quantization", m) for m in Q.models},
        max_frames=Q.sequences.max_frames,
        latency=settings("quantization", "latency"),
    script:
        "../scripts/quantization/latency.py"


rule quantization_svm:
    input:
        unpack(cell_inputs),
    output:
        f"{RESULTS}/quantization/svm/{{features}}/{{dataset}}/{{protocol}}.json",
    log:
        logs("quantization/svm/{features}/{dataset}/{protocol}"),
    benchmark:
        benchmarks("quantization/svm/{features}/{dataset}/{protocol}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda w: 10 + cell_runs(w),
    params:
        corpora=lambda w: dataset_corpora(w.dataset),
        svm=settings("quantization", "svm"),
        normalise=normalisation,
    script:
        "../scripts/quantization/svm.py"


rule quantization_allocator_report:
    input:
        curves=allocator_metrics,
        summary=f"{RESULTS}/tables/quantization.csv",
    output:
        csv=f"{RESULTS}/tables/allocators.csv",
        plots=[
            report(
                f"{RESULTS}/plots/allocators_{d}_{p}.png",
                category="Quantization",
                subcategory="Allocators as curves",
                caption="../report/allocator_curves.rst",
            )
            for d, p in CELLS
        ],
    log:
        logs("quantization/allocator_report"),
    benchmark:
        benchmarks("quantization/allocator_report")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,  # 2.2 GB measured on the ten-seed grid (14 million test utterances)
        runtime=10,
    params:
        cells=CELLS,
    script:
        "../scripts/quantization/allocator_report.py"


rule quantization_table:
    input:
        metrics=quantization_metrics,
        manifests=manifests(Q.corpora),
    output:
        runs=f"{RESULTS}/tables/quantization_runs.csv",
        csv=f"{RESULTS}/tables/quantization.csv",
        md=f"{RESULTS}/tables/quantization.md",
        literature=f"{RESULTS}/tables/literature.md",
        overlap=f"{RESULTS}/tables/speaker_overlap.csv",
    log:
        logs("quantization/table"),
    benchmark:
        benchmarks("quantization/table")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,  # 2.6 GB measured on the ten-seed grid (14 million test utterances)
        runtime=10,
    params:
        config_hash=study_config_hash(SETTINGS.model_dump(mode="json"), "quantization"),
        corpora=Q.corpora,
    script:
        "../scripts/quantization/table.py"


rule quantization_plots:
    input:
        table=rules.quantization_table.output.csv,
    output:
        pareto=report(
            f"{RESULTS}/plots/pareto_{{dataset}}_{{protocol}}.png",
            category="Quantization",
            subcategory="Accuracy vs size (Pareto)",
            caption="../report/pareto.rst",
        ),
        bits=report(
            f"{RESULTS}/plots/accuracy_vs_bits_{{dataset}}_{{protocol}}.png",
            category="Quantization",
            subcategory="Accuracy vs bit-width (Figure 2)",
            caption="../report/accuracy_vs_bits.rst",
        ),
    log:
        logs("quantization/plots/{dataset}_{protocol}"),
    benchmark:
        benchmarks("quantization/plots/{dataset}_{protocol}")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/quantization/plots.py"
