rule quantization_table:
    input:
        quantization_metrics,
    output:
        runs=f"{RESULTS}/tables/quantization_runs.csv",
        csv=f"{RESULTS}/tables/quantization.csv",
        md=f"{RESULTS}/tables/quantization.md",
    log:
        f"{RESULTS}/logs/report/quantization_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/quantization_table.tsv"
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "serbench table {input} --runs-out {output.runs} --csv-out {output.csv} --md-out {output.md} 2> {log}"


rule pareto_plot:
    input:
        table=rules.quantization_table.output.csv,
    output:
        f"{RESULTS}/plots/pareto_{{corpus}}.png",
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
        "serbench plot --table {input.table} --corpus {wildcards.corpus} --out {output} 2> {log}"
