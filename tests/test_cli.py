from serbench.cli import main


def test_missing_corpus_is_one_clear_line(tmp_path, capsys):
    status = main(["manifest", "--corpus", "emodb", "--root", str(tmp_path / "absent"),
                   "--out", str(tmp_path / "m.csv"), "--skipped", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("serbench manifest: error: emodb: corpus folder") and "absent" in err[-1]
    assert not (tmp_path / "m.csv").exists()


def test_download_without_network_says_where_to_put_a_copy(tmp_path, capsys, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(pooch, "retrieve", offline)
    status = main(["download", "--corpus", "emodb", "--dest", str(tmp_path / "emodb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert "could not download emodb" in err[-1] and "put a local copy of the corpus in" in err[-1]


def test_manifest_step_writes_manifest_and_skipped(emodb_copy, tmp_path):
    (emodb_copy / "wav" / "03a01Xa.wav").write_bytes(b"")
    assert main(["manifest", "--corpus", "emodb", "--root", str(emodb_copy),
                 "--out", str(tmp_path / "m.csv"), "--skipped", str(tmp_path / "s.csv")]) == 0
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 29
    assert "03a01Xa.wav" in (tmp_path / "s.csv").read_text()
