rule quantization_table:
    input:
        quantization_metrics,
    output:
        runs=report(f"{RESULTS}/tables/quantization_runs.csv", category="Tables", caption="../report/runs.rst"),
        csv=report(f"{RESULTS}/tables/quantization.csv", category="Tables", caption="../report/quantization.rst"),
        md=f"{RESULTS}/tables/quantization.md",
        literature=report(f"{RESULTS}/tables/literature.md", category="Tables", caption="../report/literature.rst"),
    params:
        config_hash=study_config_hash(config, "quantization"),
    log:
        f"{RESULTS}/logs/report/quantization_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/quantization_table.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "serbench table {input} --runs-out {output.runs} --csv-out {output.csv} --md-out {output.md}"
        " --literature-out {output.literature} --config-hash {params.config_hash} 2> {log}"


rule pareto_plot:
    input:
        table=rules.quantization_table.output.csv,
    output:
        report(
            f"{RESULTS}/plots/pareto_{{corpus}}.png",
            category="Quantization",
            subcategory="Pareto",
            caption="../report/pareto.rst",
        ),
    params:
        protocol=pareto_protocol,
    log:
        f"{RESULTS}/logs/report/pareto_{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/pareto_{{corpus}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench plot --kind pareto --table {input.table} --corpus {wildcards.corpus}"
        " --protocol {params.protocol} --out {output} 2> {log}"


rule accuracy_vs_bits_plot:
    input:
        table=rules.quantization_table.output.csv,
    output:
        report(
            f"{RESULTS}/plots/accuracy_vs_bits_{{dataset}}_{{protocol}}.png",
            category="Quantization",
            subcategory="Accuracy vs bit-width (Figure 2)",
            caption="../report/accuracy_vs_bits.rst",
        ),
    log:
        f"{RESULTS}/logs/report/accuracy_vs_bits_{{dataset}}_{{protocol}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/accuracy_vs_bits_{{dataset}}_{{protocol}}.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench plot --kind bits --table {input.table} --corpus {wildcards.dataset}"
        " --protocol {wildcards.protocol} --out {output} 2> {log}"
