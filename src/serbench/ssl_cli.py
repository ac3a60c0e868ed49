"""Sub-commands of the ``serbench`` CLI for the self-supervised-encoder studies (``ssl-*``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_parsers(sub: argparse._SubParsersAction, json_arg: Callable[[str], dict]) -> None:
    """Register the ``ssl-*`` sub-commands on the main parser's sub-parsers."""
    p = sub.add_parser("ssl-waveforms", help="16 kHz trimmed, pre-emphasised, normalised waveforms of a corpus")
    p.add_argument("--manifest", required=True)
    p.add_argument("--settings", type=json_arg, default={})
    p.add_argument("--out", required=True)

    p = sub.add_parser("ssl-encoder", help="load the configured encoder and describe it")
    p.add_argument("--pretrained", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("ssl-embeddings", help="pooled hidden states of every utterance, clean and augmented views")
    for flag in ("--waveforms", "--pretrained", "--out"):
        p.add_argument(flag, required=True)
    p.add_argument("--views", type=int, default=0)
    p.add_argument("--augment", type=json_arg, default={})
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("ssl-split", help="speaker/session folds, extra training corpora, study labels")
    p.add_argument("--dataset", required=True)
    p.add_argument("--manifest", nargs=2, action="append", required=True, metavar=("CORPUS", "PATH"))
    p.add_argument("--extra", nargs="*", default=[])
    p.add_argument("--label-map", default="four_class")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--settings", type=json_arg, default={})
    p.add_argument("--out", required=True)

    p = sub.add_parser("ssl-head", help="train a head on one fold and seed; score test and cross-corpus sets")
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("NAME", "MANIFEST", "FEATURES"),
                   help="FEATURES: the embedding cache, or with --finetune the prepared waveforms")
    p.add_argument("--cross", nargs=3, metavar=("NAME", "MANIFEST", "FEATURES"))
    p.add_argument("--finetune", type=json_arg, default={},
                   help='fine-tune the encoder too: {"pretrained": ..., "augment": {...} or null}; {} keeps it frozen')
    for flag in ("--split", "--fold", "--out-head", "--out-metrics"):
        p.add_argument(flag, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--label-map", default="four_class")
    p.add_argument("--head", type=json_arg, default={})
    p.add_argument("--settings", type=json_arg, default={})
    p.add_argument("--run", type=json_arg, default={})

    p = sub.add_parser("ssl-report", help="Table I and the cross-corpus confusion matrix")
    p.add_argument("metrics", nargs="+")
    for flag in ("--encoder", "--runs-out", "--csv-out", "--md-out", "--confusion-out"):
        p.add_argument(flag, required=True)
    p.add_argument("--config-hash", default="", help="the study's config hash, stamped on every row")

    p = sub.add_parser("ssl-int8", help="int8 encoder over the test folds; deployable ONNX models")
    p.add_argument("--pretrained", required=True)
    p.add_argument("--head", nargs=3, action="append", required=True, metavar=("HEAD", "SPLIT", "FOLD"))
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("NAME", "MANIFEST", "WAVEFORMS"))
    p.add_argument("--out-dir", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("ssl-int8-table", help="the 8-bit model table from the int8 and latency measurements")
    for flag in ("--int8", "--latency", "--out"):
        p.add_argument(flag, required=True)

    p = sub.add_parser("ssl-latency", help="size and CPU latency of the full-size architecture, float and int8")
    p.add_argument("--architecture", required=True)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)


    p = sub.add_parser("sd-train", help="self-distillation: fine-tune one variant on one fold and seed")
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("NAME", "MANIFEST", "WAVEFORMS"))
    for flag in ("--split", "--fold", "--pretrained", "--variant", "--out-model", "--out-metrics"):
        p.add_argument(flag, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--exit-layers", type=int, nargs="+", required=True)
    p.add_argument("--head-hidden", type=int, default=256)
    p.add_argument("--loss", type=json_arg, default={})
    p.add_argument("--settings", type=json_arg, default={})
    p.add_argument("--run", type=json_arg, default={})

    p = sub.add_parser("sd-int8", help="self-distillation: float and int8 ONNX of every exit, size and UAR")
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("NAME", "MANIFEST", "WAVEFORMS"))
    for flag in ("--model", "--pretrained", "--split", "--fold", "--out"):
        p.add_argument(flag, required=True)

    p = sub.add_parser("sd-latency", help="self-distillation: parameters and CPU latency of every exit at full size")
    p.add_argument("--architecture", required=True)
    p.add_argument("--exit-layers", type=int, nargs="+", required=True)
    p.add_argument("--block", default="conv")
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)

    p = sub.add_parser("sd-report", help="self-distillation: Table 1 and 2 layouts, int8 exits, latency")
    p.add_argument("metrics", nargs="+")
    p.add_argument("--int8", nargs="+", required=True)
    for flag in ("--latency", "--encoder", "--runs-out", "--md-out"):
        p.add_argument(flag, required=True)
    p.add_argument("--exit-layers", type=int, nargs="+", required=True)
    p.add_argument("--config-hash", default="", help="the study's config hash, stamped on every row")


def run(args: argparse.Namespace) -> None:
    """Dispatch an ``ssl-*`` sub-command (heavy imports only here)."""
    from serbench.dataset import CorpusFiles
    from serbench.ssl import deploy, study
    from serbench.ssl.head_training import HeadTrainConfig
    from serbench.waveforms import WaveformConfig

    if args.command == "ssl-waveforms":
        study.waveforms_step(args.manifest, args.out, WaveformConfig(**args.settings))
    elif args.command == "ssl-encoder":
        study.encoder_step(args.pretrained, args.out)
    elif args.command == "ssl-embeddings":
        study.embeddings_step(args.waveforms, args.pretrained, args.views, _augment_config(args.augment), args.seed,
                              args.out)
    elif args.command == "ssl-split":
        study.ssl_split_step(args.dataset, dict(args.manifest), args.extra, args.label_map, args.seed, args.out,
                             **args.settings)
    elif args.command == "ssl-head":
        corpora = {name: CorpusFiles(m, e) for name, m, e in args.corpus}
        cross = CorpusFiles(args.cross[1], args.cross[2]) if args.cross else None
        common = dict(cfg=HeadTrainConfig(**args.settings), out_head=args.out_head, out_metrics=args.out_metrics,
                      run=args.run, **args.head)
        cross_name = args.cross[0] if args.cross else ""
        if args.finetune:
            augment = _augment_config(args.finetune["augment"]) if args.finetune.get("augment") else None
            study.finetune_step(args.split, args.fold, args.seed, corpora, cross, cross_name, args.label_map,
                                args.finetune["pretrained"], augment, **common)
        else:
            study.head_step(args.split, args.fold, args.seed, corpora, cross, cross_name, args.label_map, **common)
    elif args.command == "ssl-report":
        study.ssl_report_step(args.metrics, args.runs_out, args.csv_out, args.md_out, args.confusion_out, args.encoder,
                              args.config_hash)
    elif args.command == "ssl-int8":
        corpora = {name: CorpusFiles(m, w) for name, m, w in args.corpus}
        deploy.int8_step(args.pretrained, [tuple(h) for h in args.head], corpora, args.out_dir, args.out)
    elif args.command == "ssl-int8-table":
        study.int8_table_step(args.int8, args.latency, args.out)
    elif args.command == "ssl-latency":
        deploy.latency_step(args.architecture, args.classes, args.seconds, args.repeats, args.threads, args.out)
    elif args.command.startswith("sd-"):
        _run_selfdistill(args)


def _augment_config(settings: dict):
    """``ssl.augment`` as an :class:`~serbench.augment.AugmentConfig` (JSON lists become tuples)."""
    from serbench.augment import AugmentConfig

    return AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})


def _run_selfdistill(args: argparse.Namespace) -> None:
    from serbench.dataset import CorpusFiles
    from serbench.ssl import distill_study
    from serbench.ssl.distill_loss import DistillLossConfig
    from serbench.ssl.distill_training import DistillTrainConfig

    if args.command in ("sd-train", "sd-int8"):
        corpora = {name: CorpusFiles(m, w) for name, m, w in args.corpus}
    if args.command == "sd-train":
        loss = DistillLossConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.loss.items()})
        distill_study.train_step(args.split, args.fold, args.seed, corpora, args.pretrained, args.variant,
                                 tuple(args.exit_layers), args.head_hidden, loss, DistillTrainConfig(**args.settings),
                                 args.out_model, args.out_metrics, args.run)
    elif args.command == "sd-int8":
        distill_study.int8_step(args.model, args.pretrained, args.split, args.fold, corpora, args.out)
    elif args.command == "sd-latency":
        distill_study.latency_step(args.architecture, tuple(args.exit_layers), args.block, args.classes, args.seconds,
                                   args.repeats, args.threads, args.out)
    elif args.command == "sd-report":
        distill_study.report_step(args.metrics, args.int8, args.latency, args.encoder, tuple(args.exit_layers),
                                  args.runs_out, args.md_out, args.config_hash)
