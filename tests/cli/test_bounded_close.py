"""``serve``'s bounded close leaves at once only for its own stuck threads: a thread the host
process had before (a test runner's timer, say) must not make it end the whole process — in the
test run that once ended pytest with status 0 after seven tests. Run in a process of its own, so
a regression fails here instead of ending the run."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import threading
from bot.cli.serve import run_bounded

async def nothing():
    return None

stop = threading.Event()
host = threading.Thread(target=stop.wait, name="host-timer")  # non-daemon, the host's own
host.start()
run_bounded(nothing(), linger=0.1)
print("returned")
stop.set()
"""


def test_a_hosts_own_thread_does_not_end_the_process() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "returned", (done.stdout, done.stderr)
