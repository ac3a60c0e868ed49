from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import write_tone
from serbench.corpora import CorpusNotFoundError, build_manifest, get_adapter
from serbench.corpora.base import MANIFEST_COLUMNS, LabelError


def test_emodb_labels_speakers_and_genders(emodb_copy):
    manifest, skipped = build_manifest(get_adapter("emodb"), emodb_copy)
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    assert len(manifest) == 28 and skipped.empty
    row = manifest.set_index("utterance_id").loc["03a01Fa"]
    assert (row.speaker, row.gender, row.native_label, row.emotion) == ("03", "m", "F", "happiness")
    assert set(manifest["emotion"]) == {"anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"}
    assert manifest["duration_s"].tolist() == pytest.approx([0.5] * 28)
    assert set(manifest.loc[manifest.speaker == "08", "gender"]) == {"f"}


def test_tess_names_including_the_oa_prefix_and_flac(tmp_path):
    root = tmp_path / "tess"
    write_tone(root / "OAF_angry" / "OAF_back_angry.wav")
    write_tone(root / "OAF_neutral" / "OA_bite_neutral.flac")
    write_tone(root / "YAF_pleasant_surprise" / "YAF_back_ps.flac")
    manifest, skipped = build_manifest(get_adapter("tess"), root)
    by_id = manifest.set_index("utterance_id")
    assert by_id.loc["OA_bite_neutral", "speaker"] == "OAF"
    assert by_id.loc["YAF_back_ps", "emotion"] == "surprise"
    assert by_id.loc["OAF_back_angry", "emotion"] == "anger"
    assert skipped.empty


def test_ravdess_codes_and_stereo_files(tmp_path):
    root = tmp_path / "ravdess"
    write_tone(root / "Actor_01" / "03-01-05-01-01-01-01.flac", rate=48000)
    write_tone(root / "Actor_02" / "03-01-02-02-01-01-02.wav", rate=48000)
    manifest, _ = build_manifest(get_adapter("ravdess"), root)
    by_id = manifest.set_index("utterance_id")
    assert (by_id.loc["03-01-05-01-01-01-01", "emotion"], by_id.loc["03-01-05-01-01-01-01", "gender"]) == ("anger", "m")
    assert (by_id.loc["03-01-02-02-01-01-02", "emotion"], by_id.loc["03-01-02-02-01-01-02", "gender"]) == ("calm", "f")
    assert set(manifest["sample_rate"]) == {48000}


@pytest.mark.parametrize(
    "name, reason",
    [
        ("03a01Xa.wav", "unknown EmoDB emotion code 'X'"),
        ("99a01Fa.wav", "unknown EmoDB speaker"),
        ("short.wav", "7-character"),
    ],
)
def test_unlabelled_file_is_reported_and_left_out(emodb_copy, name, reason):
    write_tone(emodb_copy / "wav" / name)
    manifest, skipped = build_manifest(get_adapter("emodb"), emodb_copy)
    assert len(manifest) == 28
    assert skipped["path"].str.endswith(name).tolist() == [True]
    assert reason in skipped["reason"].iloc[0]


def _truncated(path: Path) -> None:
    data = write_tone(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zero_length(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def _header_only(path: Path) -> None:
    path.write_bytes(write_tone(path).read_bytes()[:30])


def _silent(path: Path) -> None:
    sf.write(path, np.zeros(8000, dtype=np.float32), 16000)


def _too_short(path: Path) -> None:
    write_tone(path, seconds=0.05)


def _one_sample(value: float):
    def damage(path: Path) -> None:
        wave = 0.3 * np.sin(np.arange(16000) / 5.0).astype(np.float32)
        wave[4000] = value
        sf.write(path, wave, 16000, subtype="FLOAT")

    return damage


@pytest.mark.parametrize(
    "damage, reason",
    [
        (_truncated, "truncated"),
        (_zero_length, "empty file (0 bytes)"),
        (_header_only, "unreadable audio"),
        (_silent, "digital silence"),
        (_too_short, "50 ms long, shorter than one feature window"),
        (_one_sample(np.nan), "non-finite samples (NaN/Inf)"),
        (_one_sample(np.inf), "non-finite samples (NaN/Inf)"),
    ],
)
def test_bad_audio_is_reported_and_the_scan_goes_on(emodb_copy, damage, reason):
    damage(emodb_copy / "wav" / "16b09Wa.wav")
    manifest, skipped = build_manifest(get_adapter("emodb"), emodb_copy)
    assert len(manifest) == 28 and "16b09Wa" not in set(manifest["utterance_id"])
    assert skipped[["action"]].values.ravel().tolist() == ["skipped"] and reason in skipped["reason"].iloc[0]


def test_float_audio_beyond_full_scale_is_kept_and_flagged(emodb_copy):
    sf.write(
        emodb_copy / "wav" / "16b09Wa.wav",
        3.2 * np.sin(np.arange(16000) / 5.0).astype(np.float32),
        16000,
        subtype="FLOAT",
    )
    manifest, skipped = build_manifest(get_adapter("emodb"), emodb_copy)
    assert "16b09Wa" in set(manifest["utterance_id"]) and len(manifest) == 29
    assert skipped["action"].tolist() == ["flagged"] and "3.20, beyond ±1.0" in skipped["reason"].iloc[0]


@pytest.mark.parametrize("layout", ["official", "flat"])
def test_savee_official_and_flat_layouts_give_the_same_labels(tmp_path, layout):
    codes = {
        "a": "anger",
        "d": "disgust",
        "f": "fear",
        "h": "happiness",
        "n": "neutral",
        "sa": "sadness",
        "su": "surprise",
    }
    for speaker in ("DC", "JE", "JK", "KL"):
        for i, code in enumerate(codes):
            name = f"{code}0{i + 1}.wav"
            path = tmp_path / "AudioData" / speaker / name if layout == "official" else tmp_path / f"{speaker}_{name}"
            write_tone(path, freq=200 + 20 * i)
    write_tone(tmp_path / "AudioData" / "XX" / "a01.wav")  # not a SAVEE speaker
    manifest, skipped = build_manifest(get_adapter("savee"), tmp_path)
    assert (
        len(manifest) == 28
        and set(manifest["speaker"]) == {"DC", "JE", "JK", "KL"}
        and set(manifest["gender"]) == {"m"}
    )
    by_id = manifest.set_index("utterance_id")
    assert by_id.loc["JK_sa06", "emotion"] == "sadness" and by_id.loc["DC_su07", "emotion"] == "surprise"
    assert set(manifest["emotion"]) == set(codes.values())
    if layout == "official":
        assert "unknown SAVEE speaker 'XX'" in skipped["reason"].iloc[0]


def test_missing_corpus_folder_names_the_folder(tmp_path):
    with pytest.raises(CorpusNotFoundError, match=str(tmp_path / "nowhere")):
        build_manifest(get_adapter("emodb"), tmp_path / "nowhere")


def test_unknown_corpus_lists_the_registered_ones():
    with pytest.raises(KeyError, match="registered"):
        get_adapter("savee2")


def test_tess_parse_rejects_unknown_emotion():
    with pytest.raises(LabelError, match="unknown TESS emotion"):
        get_adapter("tess").parse(Path("YAF_back_bored.wav"))


def test_cremad_names_and_demographics(tmp_path):
    root = tmp_path / "cremad"
    write_tone(root / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    write_tone(root / "AudioWAV" / "1002_IEO_HAP_HI.wav")
    write_tone(root / "AudioWAV" / "1002_IEO_BOR_HI.wav")
    (root / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n"
    )
    manifest, skipped = build_manifest(get_adapter("cremad"), root)
    by_id = manifest.set_index("utterance_id")
    assert (by_id.loc["1001_DFA_ANG_XX", "emotion"], by_id.loc["1001_DFA_ANG_XX", "gender"]) == ("anger", "m")
    assert by_id.loc["1002_IEO_HAP_HI", "gender"] == "f"
    assert "unknown CREMA-D emotion code 'BOR'" in skipped["reason"].iloc[0]


def test_iemocap_labels_from_evaluation_files_with_sessions(tmp_path):
    root = tmp_path / "iemocap"
    for utterance in ("Ses01F_impro01_F000", "Ses01F_impro01_M001", "Ses01F_impro01_F002", "Ses02M_script01_1_F000"):
        session = f"Session{int(utterance[3:5])}"
        write_tone(root / session / "sentences" / "wav" / utterance.rsplit("_", 1)[0] / f"{utterance}.wav")
    write_tone(root / "Session1" / "dialog" / "wav" / "Ses01F_impro01.wav")  # whole dialogue: not an utterance
    evaluation = root / "Session1" / "dialog" / "EmoEvaluation"
    evaluation.mkdir(parents=True)
    (evaluation / "Ses01F_impro01.txt").write_text(
        "% header\n[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
        "C-E2:\tNeutral;\t()\n[10.01 - 11.36]\tSes01F_impro01_M001\texc\t[3.0, 3.5, 2.0]\n"
        "[12.0 - 13.0]\tSes01F_impro01_F002\txxx\t[2.0, 2.0, 2.0]\n"
    )
    evaluation2 = root / "Session2" / "dialog" / "EmoEvaluation"
    evaluation2.mkdir(parents=True)
    (evaluation2 / "Ses02M_script01_1.txt").write_text("[1.0 - 2.0]\tSes02M_script01_1_F000\tang\t[1.0, 4.0, 4.0]\n")
    manifest, skipped = build_manifest(get_adapter("iemocap"), root)
    by_id = manifest.set_index("utterance_id")
    assert sorted(by_id.index) == ["Ses01F_impro01_F000", "Ses01F_impro01_M001", "Ses02M_script01_1_F000"]
    assert tuple(by_id.loc["Ses01F_impro01_M001", ["speaker", "gender", "emotion", "session"]]) == (
        "Ses01M",
        "m",
        "excitement",
        "Ses01",
    )
    assert by_id.loc["Ses02M_script01_1_F000", "session"] == "Ses02"
    assert skipped["path"].str.endswith("Ses01F_impro01_F002.wav").tolist() == [True]  # no majority label


def test_session_column_repeats_the_speaker_without_sessions(emodb_copy):
    manifest, _ = build_manifest(get_adapter("emodb"), emodb_copy)
    assert (manifest["session"] == manifest["speaker"]).all()


def test_demos_names_give_speaker_gender_and_the_eight_emotions(tmp_path):
    from serbench.corpora import demos

    root = tmp_path / "demos"
    for i, (prefix, name) in enumerate(
        [("PR", "f_05_rab03a"), ("NP", "m_12_col01b"), ("PR", "m_12_gio11c"), ("NP", "f_05_tri02a")]
    ):
        write_tone(root / "DEMOS" / f"{prefix}_{name}.wav", freq=200 + 30 * i)
    write_tone(root / "NEU" / "PR_m_40_neu01a.wav")
    write_tone(root / "DEMOS" / "PR_x_05_rab03a.wav")  # not a DEMoS name: reported and skipped
    manifest, skipped = build_manifest(demos.ADAPTER, root)
    rows = manifest.set_index("utterance_id")
    assert len(manifest) == 5 and skipped["path"].str.endswith("PR_x_05_rab03a.wav").tolist() == [True]
    assert rows.loc["PR_f_05_rab03a", ["speaker", "gender", "emotion"]].tolist() == ["f05", "f", "anger"]
    assert rows.loc["NP_m_12_col01b", "emotion"] == "guilt" and rows.loc["PR_m_40_neu01a", "emotion"] == "neutral"
    assert set(manifest["speaker"]) == {"f05", "m12", "m40"}
    with pytest.raises(LabelError, match="unknown DEMoS emotion code 'xyz'"):
        demos.parse(Path("PR_f_05_xyz01a.wav"))
