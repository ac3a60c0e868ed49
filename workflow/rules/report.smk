# The report's table pages: each result table as one HTML page, since Snakemake's report opens HTML and images in
# the browser but only links Markdown and CSV files. A page per table group of each study that runs.


include: "report_inputs.smk"


rule table_page:
    input:
        markdown=lambda w: TABLE_PAGES[w.page].markdown,
        csv=lambda w: TABLE_PAGES[w.page].csv,
    output:
        report(
            f"{RESULTS}/report/{{page}}.html",
            category=lambda w: TABLE_PAGES[w.page].category,
            subcategory="Tables",
            caption="../report/table_page.rst",
        ),
    log:
        logs("report/{page}"),
    benchmark:
        benchmarks("report/{page}")
    wildcard_constraints:
        page="|".join(TABLE_PAGES) or "none",
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        title=lambda w: TABLE_PAGES[w.page].title,
    script:
        "../scripts/report/table_page.py"


rule deployment:
    input:
        paths_in(DEPLOYMENT),
    output:
        csv=f"{RESULTS}/tables/deployment.csv",
        md=f"{RESULTS}/tables/deployment.md",
        plot=report(
            f"{RESULTS}/plots/deployment_pareto.png",
            category="Deployment",
            caption="../report/deployment.rst",
        ),
    log:
        logs("report/deployment"),
    benchmark:
        benchmarks("report/deployment")
    conda:
        "../envs/serbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        sources=DEPLOYMENT,
        corpora={"distilhubert": DH.corpus, "selfdistill": SD.corpus},
    script:
        "../scripts/report/deployment.py"
