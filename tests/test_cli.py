"""cli.main as a program: its exit status, and the exit without the interpreter's teardown still running every
exit handler, flushing stdout and waiting for non-daemon threads."""
import subprocess
import sys

from runner import REPO, clean_env

PROGRAM = r'''
import atexit, sys, threading, time
from kubectl_jetstream import cli

def command(argv, program=False):  # stands in for a command that registers exit handlers and starts a thread
    assert program
    atexit.register(print, "second handler", flush=True)
    atexit.register(lambda: sys.stdout.write("first handler\n"))
    threading.Thread(target=lambda: (time.sleep(0.3), sys.stdout.write("thread done\n"))).start()
    sys.stdout.write("output, not flushed yet\n")
    return 4

class Noisy:
    def __del__(self):  # only the interpreter's teardown would run this
        sys.stdout.write("teardown ran\n")

noisy = Noisy()
cli._main = command
sys.argv = ["kubectl-jetstream", "ls"]
raise SystemExit(cli.main())
'''


def test_program_exit_runs_handlers_flushes_and_skips_teardown():
    proc = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, cwd=REPO,
                          env=clean_env(), timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout.splitlines() == ["output, not flushed yet", "thread done", "first handler", "second handler"]

