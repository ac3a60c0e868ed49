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

from serbench import ssl_cli, steps
from serbench.dataset import CorpusFiles
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

    p = sub.add_parser("features", help="frame- and utterance-level MFCC+Chroma+Mel features, one STFT per utterance")
    p.add_argument("--manifest", required=True)
    p.add_argument("--settings", type=_json, default={})
    p.add_argument("--utterance-out", required=True)
    p.add_argument("--frames-out", required=True)

    p = sub.add_parser("split", help="fold table of one protocol and seed")
    p.add_argument("--protocol", required=True, choices=["random", "speaker_independent", "fixed_speakers", "cross_corpus"])
    p.add_argument("--manifest", nargs=2, action="append", required=True, metavar=("CORPUS", "PATH"),
                   help="repeat per corpus; for cross_corpus the last is the test corpus")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--settings", type=_json, default={})
    p.add_argument("--out", required=True)

    corpus_help = "repeat per corpus the fold table names"
    p = sub.add_parser("train", help="train a classifier on one fold and seed")
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("NAME", "MANIFEST", "FEATURES"), help=corpus_help)
    for flag in ("--split", "--fold", "--model", "--out-model", "--out-history"):
        p.add_argument(flag, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--max-frames", type=int, default=256)
    p.add_argument("--model-settings", type=_json, default={})
    p.add_argument("--settings", type=_json, default={})

    p = sub.add_parser("quantize", help="quantize a trained model to every variant and score each")
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("NAME", "MANIFEST", "FEATURES"), help=corpus_help)
    for flag in ("--model", "--split", "--fold", "--out-dir"):
        p.add_argument(flag, required=True)
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--max-frames", type=int, default=256)
    p.add_argument("--adaptive", type=_json, default={})
    p.add_argument("--run", type=_json, default={}, help="identifying fields copied into the metrics")

    p = sub.add_parser("table", help="quantization tables from metrics files")
    p.add_argument("metrics", nargs="+")
    for flag in ("--runs-out", "--csv-out", "--md-out", "--literature-out"):
        p.add_argument(flag, required=True)
    p.add_argument("--config-hash", default="", help="the study's config hash, stamped on every row")

    p = sub.add_parser("init-encoder", help="write a randomly initialised encoder (offline stand-in for a pretrained one)")
    p.add_argument("--architecture", required=True)
    p.add_argument("--size", choices=["full", "small", "tiny"], default="full")
    p.add_argument("--layers", type=int, help="transformer layers (default: the architecture's)")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("predict", help="emotion probabilities of audio files of any length")
    p.add_argument("audio", nargs="+")
    p.add_argument("--model", required=True, help="model.onnx or model.int8.onnx from the DistilHuBERT study")

    p = sub.add_parser("plot", help="a plot of one corpus: pareto (accuracy vs size) or bits (accuracy vs b̄)")
    p.add_argument("--kind", choices=["pareto", "bits"], required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--protocol")
    p.add_argument("--out", required=True)
    ssl_cli.add_parsers(sub, _json)
    return parser


def _run(args: argparse.Namespace) -> None:
    if args.command == "download":
        from serbench.download import fetch_corpus

        fetch_corpus(args.corpus, args.dest, args.sha256)
    elif args.command == "manifest":
        steps.manifest_step(args.corpus, args.root, args.out, args.skipped)
    elif args.command == "features":
        steps.features_step(args.manifest, args.utterance_out, args.frames_out, FeatureConfig(**args.settings))
    elif args.command == "split":
        steps.split_step(args.protocol, dict(args.manifest), args.out, args.seed, args.settings)
    elif args.command == "train":
        steps.train_step(_corpora(args.corpus), args.split, args.fold, args.seed, args.model,
                         _tuples(args.model_settings), TrainConfig(**args.settings), args.max_frames,
                         args.out_model, args.out_history)
    elif args.command == "quantize":
        steps.quantize_step(args.model, _corpora(args.corpus), args.split, args.fold, args.max_frames, args.variants,
                            AdaptiveConfig(**_tuples(args.adaptive)), args.out_dir, args.run)
    elif args.command == "table":
        steps.table_step(args.metrics, args.runs_out, args.csv_out, args.md_out, args.literature_out,
                         args.config_hash)
    elif args.command == "plot":
        steps.plot_step(args.kind, args.table, args.corpus, args.out, args.protocol)
    elif args.command == "init-encoder":
        from serbench.ssl.upstream import save_random_upstream

        save_random_upstream(args.architecture, args.out, args.size, args.seed, args.layers)
    elif args.command == "predict":
        _predict(args.audio, args.model)
    else:
        ssl_cli.run(args)


def _predict(audio: list[str], model: str) -> None:
    """Print one line per file: name and emotion probabilities, or the reason it was skipped."""
    from serbench.predict import PredictConfig, PredictionError, load_model, predict_file

    session, classes = load_model(model)
    failures = 0
    for path in audio:
        try:
            probabilities = predict_file(path, session, classes, PredictConfig())
        except PredictionError as err:
            failures += 1
            print(f"{path}\terror: {err}", file=sys.stderr)
            continue
        print(path + "\t" + "\t".join(f"{c}={p:.3f}" for c, p in probabilities.items()))
    if failures == len(audio):
        raise PredictionError(f"none of the {len(audio)} files could be classified")


def _corpora(triples: list[list[str]]) -> dict[str, CorpusFiles]:
    return {name: CorpusFiles(manifest, features) for name, manifest, features in triples}


def _tuples(settings: dict) -> dict:
    """JSON lists as tuples, the type the dataclass and model settings declare."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()}


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
