# serbench: efficient speech emotion recognition, from raw corpora to tables and plots.
# Table of contents only; logic lives in src/serbench, rules in workflow/rules.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/quantize.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/ssl.smk"
include: "workflow/rules/selfdistill.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
