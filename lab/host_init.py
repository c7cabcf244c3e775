"""Process 1 of a simulated host (lab/hosts.py): run as
`unshare --mount --uts --pid --fork --mount-proc python -m lab.host_init FOLDER`.

It gives the namespaces what a machine of its own has, from FOLDER/init.json:
its host name; a private /run; its own /etc/cron.d, root crontab spool and /opt/whatsapp
(bind mounts of folders under FOLDER); optionally a network file system (sshfs) mounted where
the host expects its media storage; then its own Docker engine, Debian's cron daemon and sshd
listening on the host's 127.0.0.x address. Every process started here sees only this host's
processes and files. It reaps orphans as an init must, writes FOLDER/ready once all serve,
and on SIGTERM stops the engine (which stops its containers and removes their network
endpoints) before exiting; the kernel then ends whatever else ran in the namespace.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ENGINE_SOCKET = "/run/docker.sock"      # /var/run is /run on Debian: the docker CLI's default


def main(folder: Path) -> int:
    config = json.loads((folder / "init.json").read_text())
    log = open(folder / "init.log", "a", buffering=1)
    say = lambda text: log.write(f"{time.strftime('%H:%M:%S')} {text}\n")   # noqa: E731
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    try:
        children = start(folder, config, say)
    except Exception as exc:        # the parent reads init.log: say why, then end the host
        say(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    (folder / "ready").write_text(str(os.getpid()))
    say("ready")
    while not stopping:
        reap()
        time.sleep(0.2)
    say("stopping")
    stop(children, config, say)
    return 0


def start(folder: Path, config: dict, say) -> dict[str, subprocess.Popen]:
    socket.sethostname(config["name"])
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"])
    for path in ("/run/sshd", "/run/lock"):
        os.mkdir(path, 0o755)
    for source, target in config["binds"].items():
        run(["mount", "--bind", source, target])
    for path in config.get("emptied", []):
        run(["mount", "--bind", "/dev/null", path])
    children: dict[str, subprocess.Popen] = {}
    storage = config.get("storage")
    if storage:
        run(["sshfs", "-p", str(storage["port"]), "-o",
             f"allow_other,IdentityFile={storage['identity']},UserKnownHostsFile="
             f"{storage['known_hosts']},StrictHostKeyChecking=yes,reconnect",
             f"root@{storage['address']}:{storage['export']}", storage["mountpoint"]])
        say(f"mounted {storage['address']}:{storage['export']} at {storage['mountpoint']}")
    if config.get("docker"):
        # a host killed before its engine stopped leaves the pid file; nothing of it runs now
        (folder / "dockerd.pid").unlink(missing_ok=True)
        children["dockerd"] = spawn(folder / "dockerd.log", [
            "dockerd", "--data-root", str(folder / "docker"), "--exec-root", str(folder / "docker-exec"),
            "-H", f"unix://{folder / 'docker.sock'}", "-H", f"unix://{ENGINE_SOCKET}",
            "--pidfile", str(folder / "dockerd.pid"),
            "--containerd-namespace", f"wa-lab-{config['name']}",
            "--containerd-plugins-namespace", f"wa-lab-{config['name']}-plugins",
            # no default bridge, no iptables, no port proxies: containers publish nothing
            "--bridge", "none", "--iptables=false", "--ip6tables=false", "--userland-proxy=false",
            "--default-address-pool", f"base={config['address_pool']},size=24"])
        wait_for(lambda: engine_answers(ENGINE_SOCKET), "the Docker engine", children["dockerd"])
        say("docker engine up")
    if config.get("cron"):
        run(["/usr/sbin/cron"])                    # forks itself; its pid file is in our /run
        say("cron up")
    sshd = config["sshd"]
    children["sshd"] = spawn(folder / "sshd-stderr.log", [
        "/usr/sbin/sshd", "-D", "-f", sshd["config"], "-E", sshd["log"]])
    wait_for(lambda: ssh_answers(config["address"], sshd["port"]), "sshd", children["sshd"])
    say(f"sshd up on {config['address']}:{sshd['port']}")
    return children


def stop(children: dict[str, subprocess.Popen], config: dict, say) -> None:
    dockerd = children.get("dockerd")
    if dockerd and dockerd.poll() is None:
        dockerd.terminate()          # the engine stops its containers and their endpoints
        try:
            dockerd.wait(60)
        except subprocess.TimeoutExpired:
            say("dockerd did not stop within 60 s")
    storage = config.get("storage")
    if storage:
        subprocess.run(["fusermount", "-u", "-z", storage["mountpoint"]], check=False)
    say("stopped")


def reap() -> None:
    """Collect every child that ended: orphans of the namespace are ours to reap."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode:
        raise RuntimeError(f"{' '.join(argv)}: exit {result.returncode}: {result.stderr.strip()[:300]}")


def spawn(log: Path, argv: list[str]) -> subprocess.Popen:
    with open(log, "a") as output:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output)


def wait_for(condition, what: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}) before serving")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not serve within {seconds:.0f} s")
        time.sleep(0.2)


def engine_answers(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(2)
            connection.connect(path)
            connection.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in connection.recv(64)
    except OSError:
        return False


def ssh_answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5) as connection:
            return connection.recv(4).startswith(b"SSH-")
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
