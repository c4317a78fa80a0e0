"""HTTP Range for private files the site streams itself (trainer videos, library recordings):
browsers seek in video with single `bytes=` ranges, and Django's FileResponse ignores them."""

import re

READ_SIZE = 512 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header, size):
    """(start, end) inclusive for one `bytes=` range, None for the whole file (no header, or
    several ranges, which may be answered with all of it), or "invalid" (answer 416)."""
    if not header:
        return None
    match = RANGE_RE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None if "," in header else "invalid"
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "invalid"
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return "invalid"
    return start, min(end, size - 1)


def file_chunks(handle, start, length):
    """`length` bytes of the open file `handle` from `start`, a piece at a time; closes it."""
    try:
        handle.seek(start)
        left = length
        while left > 0:
            data = handle.read(min(READ_SIZE, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        handle.close()
