"""A throw-away single-node Slurm cluster on this host, for the cluster integration test.

munged, slurmctld and slurmd run in the foreground as child processes, with
their key, state, spool and logs in a temporary folder; accounting is off, so
job status comes from ``squeue`` (MinJobAge keeps finished jobs listed). Slurm's
client commands read ``/etc/slurm/slurm.conf`` (the job-step executor clears
``SLURM_CONF`` inside jobs), so the configuration is written there and removed
afterwards; an existing file there means a real cluster, which is left alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
SLURM_CONF = Path("/etc/slurm/slurm.conf")


def missing_binaries() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: every probe stays bound until all are (one probe at a time, the kernel may
    give a port it just freed twice, and slurmctld then talks to itself)."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def _config(folder: Path, node: str, cpus: int, memory_mb: int) -> str:
    controller_port, node_port = _free_ports(2)
    return "\n".join(
        [
            "ClusterName=serbench-test",
            f"SlurmctldHost={node}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={folder / 'munge.socket'}",
            f"StateSaveLocation={folder / 'state'}",
            f"SlurmdSpoolDir={folder / 'spool'}",
            f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
            f"SlurmdPidFile={folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={folder / 'slurmctld.log'}",
            f"SlurmdLogFile={folder / 'slurmd.log'}",
            f"SlurmctldPort={controller_port}",
            f"SlurmdPort={node_port}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "MinJobAge=3600",
            "ReturnToService=2",
            "MpiDefault=none",
            f"NodeName={node} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
            f"PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _wait_for_idle_node(timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "--noheader", "--format=%t"], capture_output=True, text=True)
        if state.returncode == 0 and state.stdout.strip() == "idle":
            return
        time.sleep(0.5)
    raise RuntimeError(f"the test Slurm node did not become idle within {timeout_s} s")


@contextmanager
def single_node_slurm(folder: Path) -> Iterator[dict]:
    """Start munged, slurmctld and slurmd; yield ``{"node", "folder", "pids"}``; stop them by pid, pass or fail.

    Raises:
        FileExistsError: ``/etc/slurm/slurm.conf`` exists already (a real cluster's).
        RuntimeError: the node does not come up (the daemons' logs are in ``folder``).
    """
    if SLURM_CONF.exists():
        raise FileExistsError(f"{SLURM_CONF} exists; not replacing a real cluster's configuration")
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    node = socket.gethostname().split(".")[0]
    memory_mb = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.75)
    processes: list[subprocess.Popen] = []
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(_config(folder, node, os.cpu_count() or 1, memory_mb))
    try:
        key = folder / "munge.key"
        subprocess.run([_binary("mungekey"), "--create", f"--keyfile={key}", "--force"], check=True)
        key.chmod(0o600)
        commands = {
            "munged": [
                _binary("munged"),
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={folder / 'munge.socket'}",
                f"--pid-file={folder / 'munged.pid'}",
                f"--log-file={folder / 'munged.log'}",
                f"--seed-file={folder / 'munge.seed'}",
            ],
            "slurmctld": [_binary("slurmctld"), "-D", "-f", str(SLURM_CONF)],
            "slurmd": [_binary("slurmd"), "-D", "-f", str(SLURM_CONF)],
        }
        for name, command in commands.items():
            with open(folder / f"{name}.out", "w") as log:
                processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
            time.sleep(1 if name == "munged" else 0)
        _wait_for_idle_node()
        yield {"node": node, "folder": folder, "pids": [p.pid for p in processes]}
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        SLURM_CONF.unlink(missing_ok=True)
