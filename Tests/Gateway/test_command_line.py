"""
The chat example's command line: --help prints the usage and exits 0; a flag it does not know,
a flag without its value, or a value it cannot take is said on standard error with the usage,
and the process exits 2 without starting (no crash, no listening socket).
"""
from __future__ import annotations

import subprocess

import pytest

from .conftest import default_binary


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(default_binary()), *args], capture_output=True, text=True, timeout=30)


def test_help_prints_the_usage():
    done = run("--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: chat-example") and "--metrics-token" in done.stdout


@pytest.mark.parametrize("args, said", [
    (("--bogus", "1"), "unknown flag --bogus"),
    (("--port",), "--port needs a value"),
    (("--deflate", "fast"), "--deflate takes shared or dedicated"),
    (("--socketio-client", "/nonexistent/socket.io.js"), "cannot read /nonexistent/socket.io.js"),
])
def test_a_bad_command_line_is_refused_with_the_usage(args, said):
    done = run(*args)
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    assert done.stderr.startswith(f"chat-example: {said}\nusage: chat-example"), done.stderr[-500:]
    assert "listening" not in done.stdout
