"""Say whether every byte of a file is UTF-8: the child process of a large split.

Run as a script, by path (``python .../utf8_scan.py PATH [ORJSON_ERROR]``), so that
it imports nothing of streambatch (whose imports cost more than scanning a large
file takes here); it prints ``ok`` or ``bad``. With ``ORJSON_ERROR`` (how orjson's
message for invalid UTF-8 begins, as ``streambatch._core.utf8`` checked it in the
parent) the bytes are checked by orjson, which validates its whole input before
it parses, behind a ``]`` so that it then fails at once; without it, each line is
decoded. Which lines are bad is found by the parent, only if this says ``bad``.

Memory: one buffer of about two read blocks. The file is read into it after the held
end of the previous block; the buffer is checked up to its last newline (or, in a
line longer than a block, up to the last byte that starts a character: cutting
there never splits a valid character, and never makes a bad sequence good), and
what follows is moved to its front.
"""

from __future__ import annotations

import sys

__all__ = ("BLOCK_BYTES", "scan")

BLOCK_BYTES = 1024 * 1024
"""How much is read at a time."""


def scan(path: str, orjson_error: str | None, block: int = BLOCK_BYTES) -> bool:
    """Whether the file ``path`` is all UTF-8."""
    if orjson_error:
        import orjson  # only where the parent found it

        loads, error = orjson.loads, orjson.JSONDecodeError

        def valid(data: memoryview) -> bool:  # data[0] is "]"
            try:
                loads(data)
            except error as exc:
                return not str(exc).startswith(orjson_error)
            return True  # pragma: no cover  # "]" never parses

    else:

        def valid(data: memoryview) -> bool:
            try:
                for line in data[1:].tobytes().split(b"\n"):
                    if not line.isascii():
                        line.decode()
            except UnicodeDecodeError:
                return False
            return True

    # "]", then what is held (less than a block, or at most 4 bytes), then a block
    buffer = bytearray(1 + 4 + 2 * block)
    buffer[0] = ord("]")
    view = memoryview(buffer)
    held = 0  # bytes of the last block not checked yet, at buffer[1 : 1 + held]
    with open(path, "rb", buffering=0) as file:
        while count := file.readinto(view[1 + held : 1 + held + block]):
            end = 1 + held + count
            cut = buffer.rfind(b"\n", 1, end) + 1
            if not cut:  # inside a long line: before a character's first byte
                cut = end - 1
                while cut > max(1, end - 4) and 0x80 <= buffer[cut] < 0xC0:
                    cut -= 1
            if not valid(view[:cut]):
                return False
            held = end - cut
            view[1 : 1 + held] = view[cut:end]
    return valid(view[: 1 + held])


if __name__ == "__main__":
    print(
        "ok" if scan(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None) else "bad"
    )
