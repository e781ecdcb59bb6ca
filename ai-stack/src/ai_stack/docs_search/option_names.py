"""Option names of the NixOS module system: segments, placeholders, and which declared option a name is.

`attrsOf`/`listOf` submodules are declared once under a placeholder segment (`<name>` for an attribute
set, `*` for a list), so `services.nginx.virtualHosts.example.root` is documented as
`services.nginx.virtualHosts.<name>.root`. A segment may be a quoted string holding dots
(`boot.kernel.sysctl."net.ipv4.ip_forward"`): it is one segment here, as it is to Nix.
`placeholder_pattern` follows Nix (a placeholder is one segment, quoted or not); `resolve` also
accepts the unquoted dotted names people type, where a placeholder spans several segments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A quoted segment (with backslash escapes) or a run of anything but dots.
_SEGMENT = r'"(?:[^"\\]|\\.)*"|[^."]+'
_SEGMENTS = re.compile(_SEGMENT)
_PLACEHOLDER = re.compile(r"<[^<>]*>|\*")


def split_option_name(name: str) -> list[str]:
    """The segments of an option name, a quoted segment kept whole with its quotes."""
    return _SEGMENTS.findall(name)


def is_placeholder(segment: str) -> bool:
    """Whether a segment stands for any one attribute name (`<name>`) or list element (`*`)."""
    return _PLACEHOLDER.fullmatch(segment) is not None


def placeholder_pattern(name: str) -> re.Pattern[str] | None:
    """A regex for the concrete names of a placeholder option (anchored at the end: use `match`).

    None when the name has no placeholder segment: then only the name itself is that option.
    """
    return _compiled_pattern(name)


@lru_cache(maxsize=4096)
def _compiled_pattern(name: str) -> re.Pattern[str] | None:
    segments = split_option_name(name)
    if not any(is_placeholder(s) for s in segments):
        return None
    parts = [f"(?:{_SEGMENT})" if is_placeholder(s) else re.escape(s) for s in segments]
    return re.compile(r"\.".join(parts) + r"\Z")


def resolve(concrete: str, patterns: Iterable[str]) -> str | None:
    """The most specific declared option name that `concrete` is an instance of, or None.

    A placeholder stands for one segment, but may span several: people write
    `services.nginx.virtualHosts.example.org.root` without the quotes Nix would need. So the
    best match swallows the fewest extra segments into placeholders (0 is an exact fit), then
    has the fewest placeholders, then its first placeholder comes latest (the longer literal
    prefix), then sorts first by name, so the answer never depends on the input order.
    """
    wanted = tuple(split_option_name(concrete))
    best: tuple[int, int, int, str] | None = None
    for name in patterns:
        pattern = _split_cached(name)
        if not pattern or len(pattern) > len(wanted) or not _ends_fit(wanted, pattern):
            continue
        if not _matches(wanted, pattern):
            continue
        holes = [i for i, segment in enumerate(pattern) if is_placeholder(segment)]
        rank = (len(wanted) - len(pattern), len(holes), -holes[0] if holes else 0, name)
        if best is None or rank < best:
            best = rank
    return None if best is None else best[3]


@lru_cache(maxsize=65536)
def _split_cached(name: str) -> tuple[str, ...]:
    return tuple(split_option_name(name))


def _ends_fit(concrete: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """A cheap first test: literal first and last segments must be equal (most patterns fail it)."""
    first, last = pattern[0], pattern[-1]
    return (is_placeholder(first) or first == concrete[0]) and (is_placeholder(last) or last == concrete[-1])


def _matches(concrete: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Segment-wise match in which a placeholder takes one or more concrete segments.

    Dynamic programming over (pattern position, concrete position): O(len(pattern) x
    len(concrete)^2) at worst, where trying every split recursively was exponential in the
    number of placeholders (a crafted name stalled a lookup for seconds)."""
    # reachable[j]: the first i pattern segments can consume exactly the first j concrete ones.
    reachable = [True] + [False] * len(concrete)
    for segment in pattern:
        following = [False] * (len(concrete) + 1)
        if is_placeholder(segment):
            seen = False
            for j in range(1, len(concrete) + 1):
                seen = seen or reachable[j - 1]  # some earlier end, then one or more segments
                following[j] = seen
        else:
            for j in range(1, len(concrete) + 1):
                following[j] = reachable[j - 1] and concrete[j - 1] == segment
        reachable = following
        if not any(reachable):
            return False
    return reachable[len(concrete)]
