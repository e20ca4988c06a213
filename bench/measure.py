"""Run a command as a child process and measure it: wall time and the child's own peak RSS (os.wait4)."""
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass


@dataclass
class Sample:
    argv: list
    wall: float          # seconds
    rss_mb: float        # peak resident set size of the child (and its waited-for children), MiB
    cpu: float           # user + system CPU seconds of the child: steadier than wall time on a busy machine
    returncode: int
    stdout: str
    stderr: str


class CommandFailed(RuntimeError):
    pass


# Linux counts the parent's memory in a child's ru_maxrss when the child was forked from it (the high-water
# mark of the address space it replaced at exec). Measuring straight from this process (~40 MB with nats-py
# imported) would report 40 MB for `python -c pass`. So a minimal interpreter (-S -I, ~8 MB, below any Python
# child's own peak) forks and execs the command, and reports the wall time and the rusage of that child.
LAUNCHER = """
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as f:
    f.write("%r %d %r" % (wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run(argv, env=None, cwd=None, timeout=600, expect=(0,)):
    """Run argv to completion; raise CommandFailed when its exit status is not in `expect`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", prefix="kjs-bench-", suffix=".rusage") as report:
        proc = subprocess.Popen([sys.executable, "-S", "-I", "-c", LAUNCHER, report.name, *map(str, argv)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        try:
            returncode = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise CommandFailed(f"{' '.join(map(str, argv))} did not finish within {timeout}s") from None
        wall, maxrss_kb, cpu = report.read().split()
        out.seek(0)
        err.seek(0)
        sample = Sample(list(argv), float(wall), int(maxrss_kb) / 1024.0, float(cpu), returncode,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if expect is not None and sample.returncode not in expect:
        tail = "\n".join((sample.stderr or sample.stdout).strip().splitlines()[-15:])
        raise CommandFailed(f"{' '.join(map(str, argv))} exited {sample.returncode} (expected "
                            f"{'/'.join(map(str, expect))}):\n{tail}")
    return sample


def summary(samples, **extra):
    """{"median", "min", "max" (wall seconds), "runs", "cpu": {median, min, max}, "rss_mb": {median, max}}."""
    walls = [s.wall for s in samples]
    rss = [s.rss_mb for s in samples]
    cpu = [s.cpu for s in samples]
    out = {"median": statistics.median(walls), "min": min(walls), "max": max(walls), "n": len(walls),
           "runs": [round(w, 4) for w in walls],
           "cpu": {"median": statistics.median(cpu), "min": min(cpu), "max": max(cpu)},
           "rss_mb": {"median": statistics.median(rss), "max": max(rss)}}
    out.update(extra)
    return out
