import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from serbench.corpora import CORPORA
from serbench.provenance import NO_RESULT_SECTIONS, STUDY_SECTIONS, study_config_hash
from serbench.settings import QuantizationSettings, Settings, SettingsError, load_settings
from serbench.settings.base import Corpus
from serbench.settings.files import CONFIG_PATH, SCHEMA_PATH, config_schema, config_yaml
from serbench.settings.steps import (
    QUANTIZE_STEP_KEYS,
    AllocatorStepSettings,
    QuantizeStepSettings,
    SelfDistillStatesSettings,
)
from serbench.studies.quantization.models import MODELS
from serbench.workflow import mock_snakemake

REPO = Path(__file__).resolve().parents[2]


def test_config_yaml_and_schema_are_generated_from_the_settings():
    assert (REPO / CONFIG_PATH).read_text() == config_yaml(), "run: serbench settings --write ."
    assert (REPO / SCHEMA_PATH).read_text() == config_schema(), "run: serbench settings --write ."
    assert load_settings(yaml.safe_load((REPO / CONFIG_PATH).read_text())) == Settings()
    study = json.loads(config_schema())["$defs"]["QuantizationSettings"]
    assert study["properties"]["train"]["$ref"].endswith("TrainSettings")


@pytest.mark.parametrize("overlay", sorted((REPO / "config").glob("*.yaml")), ids=lambda path: path.name)
def test_every_named_config_is_valid_on_top_of_the_defaults(overlay):
    config = yaml.safe_load((REPO / CONFIG_PATH).read_text()) | yaml.safe_load(overlay.read_text())
    assert load_settings(config) != Settings(), f"{overlay.name} changes nothing"


def test_every_config_section_is_hashed_by_the_studies_that_read_it_or_named_as_no_result_setting():
    hashed = {section for sections in STUDY_SECTIONS.values() for section in sections}
    assert hashed | set(NO_RESULT_SECTIONS) == set(Settings.model_fields)
    assert not hashed & set(NO_RESULT_SECTIONS)
    config = Settings().model_dump(mode="json")
    pinned = config | {"download_checksums": {"ravdess": "md5:" + "0" * 32}}
    assert study_config_hash(pinned, "quantization") == study_config_hash(config, "quantization")
    for study in STUDY_SECTIONS:
        changed = config | {STUDY_SECTIONS[study][-1]: {}}
        assert study_config_hash(changed, study) != study_config_hash(config, study)


def test_every_registered_corpus_and_model_family_is_a_config_value():
    assert set(Corpus.__args__) == set(CORPORA)
    assert set(QuantizationSettings.model_fields["models"].annotation.__args__[0].__args__) == set(MODELS)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"foo": 1}, "config key foo: unknown key"),
        (
            {"seeds": [0]},
            "config key seeds: unknown key; the quantization study's settings are in its section: quantization.seeds",
        ),
        ({"quantization": {"train": {"lr": 1e-3}}}, "config key quantization.train.lr: unknown key"),
        (
            {"quantization": {"random": {"test_fraction": 0.7}}},
            "config key quantization.random.test_fraction: Input should be less than 0.5",
        ),
        ({"quantization": {"corpora": ["emodb", "savee2"]}}, "config key quantization.corpora.1: Input should be"),
        ({"quantization": {"seeds": [0, 0]}}, "seeds lists a value twice"),
        (
            {"quantization": {"corpora": ["iemocap"], "speaker_independent": {"n_folds": {"emodb": 10}}}},
            r"speaker_independent.n_folds has no entry for \['iemocap'\]",
        ),
        ({"quantization": {"adaptive": {"alpha": 0.8, "entropy_weight": 0.3}}}, "exceeds 1"),
        ({"quantization": {"corpora": ["cremad"]}}, r"protocol emobox: EmoBox publishes no folds for \['cremad'\]"),
    ],
)
def test_bad_config_is_one_line_per_problem_naming_the_key(config, message):
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(config)
    assert all(
        line.startswith("config key") or any(w in line for w in ("twice", "no entry", "exceeds", "no folds"))
        for line in str(raised.value).splitlines()
    )


def test_snakemake_reports_an_unknown_key_in_one_line_without_the_schema(tmp_path):
    (tmp_path / "bad.yaml").write_text("foo: 1\n")
    done = subprocess.run(
        [
            "snakemake",
            "--snakefile",
            str(REPO / "workflow/Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "bad.yaml"),
            "-n",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "config key foo: unknown key" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3


def test_a_script_runs_stand_alone_with_the_rule_s_inputs_outputs_and_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = mock_snakemake("quantization_split", dataset="emodb_to_ravdess", protocol="cross_corpus")
    assert [Path(p).name for p in job.input.manifests] == ["emodb.csv", "ravdess.csv"]  # test corpus last
    assert job.output[0].endswith("results/quantization/splits/emodb_to_ravdess/cross_corpus.csv")
    assert job.params.seeds == Settings().quantization.seeds and job.params.corpora == ["emodb", "ravdess"]
    assert job.params.split == {"validation_speakers": 1, "validation_fraction": 0.1}


SCRIPTS = REPO / "workflow" / "scripts"


def test_no_script_adapter_builds_settings_from_a_mapping_it_does_not_check_whole():
    constructed = [
        f"{path.relative_to(REPO)}: {match}"
        for path in sorted(SCRIPTS.rglob("*.py"))
        for match in re.findall(r"\w*Settings\((?:\*\*|dict\()", path.read_text())
    ]
    assert constructed == []  # each reads its params through Section.from_params
    assert len([p for p in SCRIPTS.rglob("*.py") if ".from_params(job.params." in p.read_text()]) >= 12


def test_a_step_s_settings_take_every_key_from_the_rule_and_keep_the_section_s_checks():
    full = Settings().quantization
    step = full.part(QuantizeStepSettings)
    assert set(type(step).model_fields) == set(QUANTIZE_STEP_KEYS)
    assert step.variants("mlp", "uniform") == full.variants("mlp", "uniform")
    assert QuantizeStepSettings.from_params(step.model_dump(mode="json")) == step
    partial = {k: v for k, v in step.model_dump(mode="json").items() if k != "qat"}
    with pytest.raises(ValueError, match="QuantizeStepSettings: the rule's params lack qat"):
        QuantizeStepSettings.from_params(partial)
    with pytest.raises(ValidationError):  # the section's field checks hold in the step model too
        QuantizeStepSettings.from_params({**step.model_dump(mode="json"), "fixed_bits": [9]})
    curves = full.part(AllocatorStepSettings)
    assert curves.curves == full.curves and set(type(curves).model_fields) == {*QUANTIZE_STEP_KEYS, "curves"}
    states = Settings().selfdistill.part(SelfDistillStatesSettings)
    assert states.upstream("wav2vec2-base").exit_layers == (3, 8, 10) and states.layerdrop == "checkpoint"
