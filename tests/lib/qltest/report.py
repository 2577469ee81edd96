"""How a test says how it went: the one fail/check/ok/skip of the suite.

A test ends in one of three ways, each an exit status CTest understands:
0 passed, 1 failed (fail() or any uncaught exception), SKIP (77) skipped:
CTest's SKIP_RETURN_CODE, set on every Python test in tests/CMakeLists.txt.
A test that cannot run here (a missing kernel feature, a missing tool)
calls skip() with the reason; it never exits 0 having tested nothing.
"""
import sys

SKIP = 77


def fail(msg):
    """The test failed: say why on stderr and exit 1."""
    print("FAIL:", msg, file=sys.stderr, flush=True)
    sys.exit(1)


def check(cond, msg):
    """fail(msg) unless cond."""
    if not cond:
        fail(msg)


def ok(msg):
    """One passed check worth a line in the test's output."""
    print("ok:", msg, flush=True)


def skip(reason):
    """The test cannot run here: say why and exit SKIP, which CTest
    reports as skipped (never as passed)."""
    print("SKIP:", reason, flush=True)
    sys.exit(SKIP)
