"""The ``serbench`` command: one sub-command per workflow step.

Settings arrive as flags, and dataclass-shaped settings (features, training,
adaptive quantization) as one JSON object each, exactly as Snakemake's
``params`` hold them. Known failures (bad input, missing corpus, damaged
cache) end with one ``serbench: error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from serbench import steps
from serbench.features import FeatureConfig
from serbench.quantization.variants import AdaptiveConfig
from serbench.training import TrainConfig


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not a JSON object: {text!r} ({err})") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"not a JSON object: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="serbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("download", help="fetch a corpus's official distribution")
    p.add_argument("--corpus", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--sha256")

    p = sub.add_parser("manifest", help="scan a corpus copy into a manifest")
    p.add_argument("--corpus", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--skipped", required=True)

    p = sub.add_parser("features", help="utterance-level MFCC+Chroma+Mel features")
    p.add_argument("--manifest", required=True)
    p.add_argument("--settings", type=_json, default={})
    p.add_argument("--out", required=True)

    p = sub.add_parser("split", help="random stratified train/validation/test split")
    p.add_argument("--manifest", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--out", required=True)

    p = sub.add_parser("train", help="train a classifier on one fold and seed")
    for flag in ("--features", "--split", "--manifest", "--fold", "--model", "--out-model", "--out-history"):
        p.add_argument(flag, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--model-settings", type=_json, default={})
    p.add_argument("--settings", type=_json, default={})

    p = sub.add_parser("quantize", help="quantize a trained model to one variant and score it")
    for flag in ("--model", "--features", "--split", "--manifest", "--fold", "--variant", "--out-model", "--out-metrics"):
        p.add_argument(flag, required=True)
    p.add_argument("--adaptive", type=_json, default={})
    p.add_argument("--run", type=_json, default={}, help="identifying fields copied into the metrics")

    p = sub.add_parser("table", help="quantization tables from metrics files")
    p.add_argument("metrics", nargs="+")
    p.add_argument("--runs-out", required=True)
    p.add_argument("--csv-out", required=True)
    p.add_argument("--md-out", required=True)

    p = sub.add_parser("plot", help="Pareto plot of one corpus")
    p.add_argument("--table", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)
    return parser


def _run(args: argparse.Namespace) -> None:
    if args.command == "download":
        from serbench.download import fetch_corpus

        fetch_corpus(args.corpus, args.dest, args.sha256)
    elif args.command == "manifest":
        steps.manifest_step(args.corpus, args.root, args.out, args.skipped)
    elif args.command == "features":
        steps.features_step(args.manifest, args.out, FeatureConfig(**args.settings))
    elif args.command == "split":
        steps.split_step(args.manifest, args.out, args.seed, args.validation_fraction, args.test_fraction)
    elif args.command == "train":
        model_kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.model_settings.items()}
        steps.train_step(args.features, args.split, args.manifest, args.fold, args.seed, args.model,
                         model_kwargs, TrainConfig(**args.settings), args.out_model, args.out_history)
    elif args.command == "quantize":
        adaptive = AdaptiveConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.adaptive.items()})
        steps.quantize_step(args.model, args.features, args.split, args.manifest, args.fold, args.variant,
                            adaptive, args.out_model, args.out_metrics, args.run)
    elif args.command == "table":
        steps.table_step(args.metrics, args.runs_out, args.csv_out, args.md_out)
    elif args.command == "plot":
        steps.plot_step(args.table, args.corpus, args.out)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``serbench`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        _run(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError, TypeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"serbench {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
