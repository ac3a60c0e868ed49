"""Downloads against a real HTTP server on 127.0.0.1: each public corpus's archive in its official layout, fetched
by the workflow from an empty data_root through ``download_urls``, and the server's failures, each in one line.

The archives hold short tones under each corpus's own file names (decodable audio; labels come from the names).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import write_tone

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# corpus -> the official archive's name and what it holds (audio files, and the extra files each distribution has)
ARCHIVES = {
    "emodb": ("download.zip", ["wav/03a01Fa.wav", "wav/03a01Wa.wav", "wav/16b10Tb.wav"], ["erkennung.txt"]),
    "ravdess": (
        "Audio_Speech_Actors_01-24.zip",
        ["Actor_01/03-01-05-01-01-01-01.wav", "Actor_02/03-01-01-01-01-01-02.wav"],
        [],
    ),
    "tess": ("dataverse_files.zip", ["OAF_angry/OAF_back_angry.wav", "YAF_sad/YAF_bath_sad.wav"], ["MANIFEST.TXT"]),
}


def archive(tmp: Path, audio: list[str], extra: list[str]) -> bytes:
    """A zip of tones under the names ``audio`` and text files ``extra``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as packed:
        for i, name in enumerate(audio):
            packed.write(write_tone(tmp / f"tone{i}.wav", seconds=0.4, freq=200 + 40 * i), name)
        for name in extra:
            packed.writestr(name, "distribution notes\n")
    return buffer.getvalue()


class Server:
    """Files by path on 127.0.0.1; ``/drop/<name>`` announces the whole file but closes the connection halfway."""

    def __init__(self, files: dict[str, bytes]):
        files_ = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                drop = self.path.startswith("/drop/")
                body = files_.get(self.path.removeprefix("/drop") if drop else self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if drop else body)
                self.close_connection = drop

            def log_message(self, *args):
                """Quiet: the test reads the client's messages."""

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("archives")
    files = {f"/{name}": archive(tmp, audio, extra) for name, audio, extra in ARCHIVES.values()}
    running = Server(files)
    yield running, files
    running.http.shutdown()


def test_the_workflow_downloads_each_public_corpus_from_an_empty_data_root_and_scans_it(server, tmp_path):
    running, files = server
    emodb, ravdess = (files[f"/{ARCHIVES[c][0]}"] for c in ("emodb", "ravdess"))
    config = {
        "studies": ["quantization"],
        "data_root": str(tmp_path / "data"),
        "download_urls": {corpus: f"{running.url}/{name}" for corpus, (name, _, _) in ARCHIVES.items()},
        "download_checksums": {
            "emodb": f"sha256:{hashlib.sha256(emodb).hexdigest()}",
            "ravdess": f"md5:{hashlib.md5(ravdess).hexdigest()}",
            "tess": None,
        },
    }
    (tmp_path / "data").mkdir()
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config))
    command = [SNAKEMAKE, "--snakefile", str(REPO / "workflow/Snakefile"), "--directory", str(tmp_path)]
    command += ["--configfile", str(tmp_path / "mine.yaml"), "--cores", "2"]
    command += [f"results/manifests/{corpus}.csv" for corpus in ARCHIVES]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for corpus, (_, audio, _) in ARCHIVES.items():
        manifest = pd.read_csv(tmp_path / f"results/manifests/{corpus}.csv")
        assert sorted(Path(p).name for p in manifest["path"]) == sorted(Path(a).name for a in audio), corpus
    emotions = pd.read_csv(tmp_path / "results/manifests/emodb.csv").set_index("utterance_id")["emotion"]
    assert emotions.to_dict() == {"03a01Fa": "happiness", "03a01Wa": "anger", "16b10Tb": "sadness"}
    assert not (tmp_path / "data/.downloads").exists()
    assert "its terms of use: CC BY-NC-SA 4.0" in (tmp_path / "results/logs/download/ravdess.log").read_text()


@pytest.mark.parametrize(
    "where, checksum, message",
    [
        ("/download.zip", "sha256:" + "0" * 64, "checksum mismatch for emodb"),
        ("/drop/download.zip", "", "could not download emodb from"),
        ("/no/such/archive.zip", "", "could not download emodb from"),
    ],
    ids=["checksum", "dropped", "404"],
)
def test_a_failed_download_is_one_line_and_leaves_no_corpus_behind(server, tmp_path, where, checksum, message):
    running, _ = server
    dest = tmp_path / "data" / "emodb"
    dest.parent.mkdir()
    command = [sys.executable, "-m", "serbench", "download", "--corpus", "emodb", "--dest", str(dest)]
    done = subprocess.run(
        [*command, "--checksum", checksum, "--url", running.url + where], capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("serbench download: error: ") and message in last
    assert list(dest.parent.iterdir()) == []  # no corpus folder, no archive, no unpacking folder
