"""A real single-node SLURM cluster on this machine, for the cluster tests.

Started from the Debian packages (slurm-wlm, munge): munged (unless one already answers),
slurmctld and slurmd with a generated slurm.conf whose state, spool, pid and log files live in
a temporary folder. Stopped by the PIDs of the daemons it started, never by name.

The machine's own SLURM configuration (``/etc/slurm``, present or not) is never touched: the two
daemons run in a private mount namespace in which our folder is mounted over ``/etc/slurm``.
Client commands find our config through ``SLURM_CONF``; jobs, which Snakemake's job step runs
with ``srun`` after removing ``SLURM_CONF``, inherit slurmd's namespace and so read ours at the
compiled-in default path.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# SLURM's compiled-in configuration folder: what a job step reads when SLURM_CONF is unset.
SYSTEM_CONF_DIR = Path("/etc/slurm")
SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "munged", "munge", "unmunge")


def missing_binaries() -> list[str]:
    return [name for name in SLURM_BINARIES if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]


def private_mounts_unavailable() -> str | None:
    """Why a private mount namespace with a bind mount cannot be made here (None if it can)."""
    if shutil.which("unshare") is None:
        return "`unshare` (util-linux) is not installed"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "mount", "--bind", "/tmp", "/tmp"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot create a private mount namespace: {probe.stderr.strip()}"
    return None


def _munge_answers() -> bool:
    check = subprocess.run("munge -n | unmunge", shell=True, capture_output=True)
    return check.returncode == 0


def _node_line() -> str:
    """``NodeName=<host> CPUs=... RealMemory=...`` as slurmd measures this machine."""
    line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    return line


class LocalSlurmCluster:
    def __init__(self, root: Path):
        self.root = root
        self.conf_dir = root / "etc"
        self.conf = self.conf_dir / "slurm.conf"
        self.started_pids: list[int] = []
        self.made_mount_point = False
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        host = socket.gethostname()
        for sub in ("etc", "state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        node = _node_line().replace("Boards=1 ", "")
        self.conf.write_text("\n".join([
            "ClusterName=ntkstudy",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "MinJobAge=600",
            "SchedulerParameters=defer_batch",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
            f"{node} NodeAddr=127.0.0.1 State=UNKNOWN",
            f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))

    def in_private_namespace(self, command: list[str]) -> list[str]:
        """``command`` run where /etc/slurm is our config folder, for it and its children only."""
        mount_then_run = 'mount --bind "$0" "$1" && shift && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", mount_then_run,
                str(self.conf_dir), str(SYSTEM_CONF_DIR), *command]

    def _start_daemon(self, command: list[str], pid_file: Path) -> None:
        subprocess.run(command, env=self.env, check=True, capture_output=True)
        deadline = time.time() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            if time.time() > deadline:
                raise RuntimeError(f"{' '.join(command)} wrote no pid file {pid_file}")
            time.sleep(0.2)
        self.started_pids.append(int(pid_file.read_text().split()[0]))

    def start(self) -> None:
        self.write_config()
        if not SYSTEM_CONF_DIR.is_dir():  # a bind mount needs a mount point
            SYSTEM_CONF_DIR.mkdir(parents=True)
            self.made_mount_point = True
        if not _munge_answers():
            run_dir = Path("/run/munge")
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(run_dir, "munge", "munge")
            self._start_daemon(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], run_dir / "munged.pid")
            if not _munge_answers():
                raise RuntimeError("munged started but `munge -n | unmunge` fails")
        for daemon in (["slurmctld", "-i", "-f", str(self.conf)], ["slurmd", "-f", str(self.conf)]):
            self._start_daemon(self.in_private_namespace(daemon), self.root / f"{daemon[0]}.pid")
        deadline = time.time() + 60
        while time.time() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True)
            if state.stdout.strip().startswith("idle"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the SLURM node never became idle: {self.log_tail()}")

    def stop(self) -> None:
        for pid in reversed(self.started_pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
        self.started_pids.clear()
        if self.made_mount_point:
            SYSTEM_CONF_DIR.rmdir()
            self.made_mount_point = False

    def squeue(self, fmt: str = "%i %j %k %T") -> list[str]:
        out = subprocess.run(["squeue", "-h", "-o", fmt], env=self.env, capture_output=True, text=True)
        return [line for line in out.stdout.splitlines() if line.strip()]

    def log_tail(self) -> str:
        logs = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = self.root / "log" / name
            if path.exists():
                logs.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(logs)
