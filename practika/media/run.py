"""Run FFmpeg tools as argument lists with a hard timeout, and never leave one running.

Every tool runs in its own process group and is killed with that group on a timeout or on any
exception in the caller (an RQ job timeout raises inside the work horse; the job timeout alone
does not stop a child). On Linux the child also asks the kernel to kill it if its parent dies,
which covers a work horse killed by SIGKILL, where no ``except`` clause runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO

PR_SET_PDEATHSIG = 1
STDERR_TAIL_CHARS = 2000
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

Progress = Callable[[float], None]


class MediaToolError(RuntimeError):
    """ffmpeg or ffprobe failed; ``stderr`` holds the tail of what it said.

    ``returncode`` is None when the tool never finished on its own (missing, timed out, stopped
    because the caller failed): the file is not known to be at fault, so a job may retry.
    """

    def __init__(self, message: str, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


def run_tool(args: Sequence[str], timeout: float) -> str:
    """Run ``args`` (never through a shell); return stdout; raise MediaToolError on failure."""
    return run_tool_bytes(args, timeout).decode("utf-8", errors="replace")


def run_tool_bytes(args: Sequence[str], timeout: float) -> bytes:
    """run_tool for a tool that writes data, not text, to stdout (raw samples to a pipe)."""
    with tempfile.TemporaryFile() as errors:
        process = _spawn(args, errors)
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise _timed_out(args, timeout) from None
        finally:
            _stop(process)
        _check(args, process.returncode, errors)
    return stdout


def run_with_progress(
    args: Sequence[str],
    *,
    duration: float,
    timeout: float,
    progress: Progress | None = None,
    interval: float = 1.0,
) -> None:
    """Run an ffmpeg command, reporting the fraction done from its ``-progress`` output.

    ``progress`` is called with increasing fractions, at most once per ``interval`` seconds,
    and with 1.0 once ffmpeg has finished successfully. ``duration`` (seconds of input) turns
    ffmpeg's ``out_time_us`` into a fraction.
    """
    command = [args[0], "-progress", "pipe:1", "-nostats", *args[1:]]
    deadline = time.monotonic() + timeout
    reporter = _Reporter(progress, duration, interval)
    with tempfile.TemporaryFile() as errors:
        process = _spawn(command, errors)
        try:
            for line in _lines(process, deadline):
                reporter.feed(line)
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            raise _timed_out(args, timeout) from None
        finally:
            _stop(process)
        _check(args, process.returncode, errors)
    reporter.finish()


def _lines(process: subprocess.Popen[bytes], deadline: float) -> Iterator[bytes]:
    """The lines of the tool's stdout until it closes; TimeoutExpired at ``deadline``, even
    if the tool hangs without writing."""
    assert process.stdout is not None
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(process.args, 0)
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            yield from lines


class _Reporter:
    """Turns ``key=value`` lines from ``-progress`` into throttled progress calls."""

    def __init__(self, callback: Progress | None, duration: float, interval: float) -> None:
        self.callback = callback
        self.duration_us = max(duration, 0.001) * 1_000_000
        self.interval = interval
        self.position_us = 0
        self.reported = 0.0
        self.reported_at = float("-inf")

    def feed(self, line: bytes) -> None:
        key, _, value = line.strip().partition(b"=")
        if key == b"out_time_us" and value.isdigit():
            self.position_us = int(value)
        elif key == b"progress":  # the last line of each block ffmpeg writes
            # 1.0 is kept for "finished": an output can run a little past the input duration.
            self._report(min(self.position_us / self.duration_us, 0.99))

    def finish(self) -> None:
        self.reported_at = float("-inf")
        self._report(1.0)

    def _report(self, fraction: float) -> None:
        now = time.monotonic()
        if self.callback is None or fraction <= self.reported:
            return
        if now - self.reported_at < self.interval:
            return
        self.reported, self.reported_at = fraction, now
        self.callback(fraction)


def _spawn(args: Sequence[str], errors: IO[bytes]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,  # its own process group, so the whole group can be killed
            preexec_fn=_die_with_parent(os.getpid()) if _LIBC else None,
        )
    except FileNotFoundError:
        raise MediaToolError(f"{args[0]} is not installed") from None


def _die_with_parent(parent: int) -> Callable[[], None]:
    """In the child, before exec: be killed when the parent dies, even by SIGKILL."""

    def prepare() -> None:
        assert _LIBC is not None
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return prepare


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the tool's process group unless it already exited, and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _timed_out(args: Sequence[str], timeout: float) -> MediaToolError:
    return MediaToolError(f"{args[0]} took longer than {timeout:.0f} s and was stopped")


def _check(args: Sequence[str], returncode: int, errors: IO[bytes]) -> None:
    if returncode == 0:
        return
    errors.seek(0, os.SEEK_END)
    errors.seek(max(errors.tell() - STDERR_TAIL_CHARS, 0))
    tail = errors.read().decode("utf-8", errors="replace").strip()
    raise MediaToolError(f"{args[0]} exited with {returncode}", tail, returncode)
