"""Hiding secret values in every form a program commonly prints them (DESIGN §3).

A script rarely prints a password as it is: `json.dumps`, `repr`, a URL, an HTTP basic
auth header or a log line cut in two change its text. The `Masker` therefore derives the
usual encodings of each secret (`encoded_forms`) and finds all of them with one compiled
regular expression, built as a trie of the forms, so a block of log lines costs one scan
whatever the number of secrets and forms.

Lines arrive from the task in blocks (whatever one read of the pipe gave). Within a block a
secret cut over lines is matched exactly (a newline may sit between any two of its
characters); at the edges of a block, where the next or previous line is not known, a
line that ends with the first `MIN_FRAGMENT` or more characters of a secret, or starts with
its last `MIN_FRAGMENT` or more, has that fragment masked.

What cannot be caught is listed in docs/pipelines.md ("What masking cannot catch").
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_SECRET_LENGTH = 6
"""Shorter secrets are refused when resolved: masking every "abc" would hide the log."""
MIN_FRAGMENT = 3
"""The shortest piece of a secret masked at the edge of a block of lines."""
MAX_SPLIT_LENGTH = 512
"""Secrets longer than this are not matched across lines (the pattern would grow huge)."""
USER_FIELDS = frozenset({"user", "username", "login", "user_name", "userid", "user_id", "uid"})
"""Connection fields naming the user a password goes with (for `user:password` forms)."""


def _json_inner(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


_SIMPLE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal_inner(
    chars: Iterable[str], quote_char: str, keep: Callable[[str], bool],
    escape: Callable[[str], str],
) -> str:
    """The inside of a Python literal quoted with `quote_char`: what `repr` writes, with
    the quote chosen by the caller (repr picks its own)."""
    out = []
    for ch in chars:
        simple = _SIMPLE_ESCAPES.get(ch)
        if simple is not None:
            out.append(simple)
        elif ch == quote_char:
            out.append("\\" + ch)
        elif keep(ch):
            out.append(ch)
        else:
            out.append(escape(ch))
    return "".join(out)


def _python_inner(text: str, quote_char: str, ascii_only: bool) -> str:
    """The inside of a Python string literal of `text` quoted with `quote_char`."""
    return _literal_inner(
        text, quote_char,
        lambda ch: ch.isprintable() and (ord(ch) < 128 or not ascii_only),
        lambda ch: _code_escape(ord(ch)),
    )


def _code_escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _bytes_inner(data: bytes, quote_char: str) -> str:
    """The inside of a Python bytes literal (`repr(b"…")`) quoted with `quote_char`."""
    return _literal_inner(
        map(chr, data), quote_char, lambda ch: 32 <= ord(ch) < 127,
        lambda ch: f"\\x{ord(ch):02x}",
    )


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _base64_forms(data: bytes) -> set[str]:
    forms = set()
    for encoder in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encoder(data).decode("ascii")
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
    return forms


def _base64_cores(data: bytes) -> set[str]:
    """The part of base64 that does not depend on what stands around `data`, at each of
    the three alignments: a secret inside any base64-encoded text shows one of them."""
    cores = set()
    for offset in range(3):
        padded = b"\0" * offset + data
        whole = len(padded) // 3 * 3
        start = 4 if offset else 0  # the first group mixes in the unknown bytes before
        for encoder in (base64.b64encode, base64.urlsafe_b64encode):
            core = encoder(padded[:whole]).decode("ascii")[start:]
            if len(core) >= 8:
                cores.add(core)
    return cores


def _url_forms(text: str) -> set[str]:
    forms = {quote(text, safe=""), quote(text), quote_plus(text), quote_plus(text, safe="/")}
    lower = {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    return forms | lower | {f.lower() for f in forms}


def _escape_forms(text: str) -> set[str]:
    """Every character escaped: `\\x70\\x61…` (UTF-8 bytes) and `\\u0070\\u0061…`."""
    data = text.encode("utf-8", errors="surrogatepass")
    units = _utf16_units(text)
    forms = set()
    for hexa in ("{:02x}", "{:02X}"):
        forms.add("".join("\\x" + hexa.format(b) for b in data))
    for hexa in ("{:04x}", "{:04X}"):
        forms.add("".join("\\u" + hexa.format(u) for u in units))
    return forms


def _string_escapes(text: str) -> set[str]:
    """How `text` reads inside a JSON string or a Python str or bytes literal."""
    forms = set()
    for ascii_only in (True, False):
        json_form = _json_inner(text, ascii_only)
        forms.add(json_form)
        forms.add(json_form.replace("/", "\\/"))
        for quote_char in ("'", '"'):
            forms.add(_python_inner(text, quote_char, ascii_only))
    for quote_char in ("'", '"'):
        forms.add(_bytes_inner(text.encode("utf-8", errors="surrogatepass"), quote_char))
    return forms


@functools.lru_cache(maxsize=256)
def encoded_forms(secret: str, users: frozenset[str] = frozenset()) -> frozenset[str]:
    """The texts under which `secret` commonly appears in a program's output.

    Raw; JSON string (with and without `ensure_ascii`, `/` escaped or not); Python `repr`
    of the str and of its UTF-8 bytes, both quote styles, `ascii()`; those escaped once
    more (a JSON string holding a repr, a repr of a JSON text); URL/percent encoding
    (`quote`, `quote_plus`, upper and lower hex, all lower case); HTML; base64 (standard
    and URL-safe, with and without padding) of the value and of `user:value` for each
    user, and the alignment-independent core of the value, and of its JSON and repr
    escapes, inside any base64 text; and the value with every character written as
    `\\xHH` or `\\uHHHH`.
    """
    if len(secret) < MIN_SECRET_LENGTH:
        return frozenset({secret})  # only literal values get here; their forms are words
    data = secret.encode("utf-8", errors="surrogatepass")
    forms = {secret}
    level1 = _string_escapes(secret)
    forms |= level1
    for form in level1:
        if form != secret:
            forms |= _string_escapes(form)
    forms |= _url_forms(secret)
    forms |= {html.escape(secret), html.escape(secret, quote=False)}
    forms |= _base64_forms(data)
    for form in {secret} | level1:  # base64 of a JSON or repr text holding the secret
        forms |= _base64_cores(form.encode("utf-8", errors="surrogatepass"))
    for user in users:
        forms |= _base64_forms(f"{user}:{secret}".encode("utf-8", errors="surrogatepass"))
    forms |= _escape_forms(secret)
    return frozenset(f for f in forms if len(f) >= MIN_SECRET_LENGTH)


def _trie_branches(words: Iterable[str]) -> list[str]:
    """Regex alternatives matching any of `words`, longest first at each position: a trie
    of characters, so the engine never tries the words one by one. One alternative per
    first character, each starting with that literal, so `re` can skip ahead to the
    positions where one of them starts."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return [re.escape(ch) + (_node_pattern(child) or "") for ch, child in sorted(root.items())]


def _node_pattern(node: dict) -> str | None:
    # Walk single-child chains without recursing: forms can be hundreds of characters.
    chain = []
    while len(node) == 1 and "" not in node:
        (ch, node), = node.items()
        chain.append(re.escape(ch))
    prefix = "".join(chain)
    if not node or list(node) == [""]:
        return prefix or None
    terminal = "" in node
    branches, singles = [], []
    for ch in sorted(k for k in node if k):
        rest = _node_pattern(node[ch])
        if rest is None:
            singles.append(re.escape(ch))
        else:
            branches.append(re.escape(ch) + rest)
    if singles:
        branches.append(singles[0] if len(singles) == 1 else "[" + "".join(singles) + "]")
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if terminal:
        body = f"(?:{body})?"
    return prefix + body


def _split_pattern(secret: str) -> str:
    """The raw secret with a line break allowed between any two of its characters."""
    return "\\n?".join(re.escape(ch) for ch in secret)


@functools.lru_cache(maxsize=256)
def _compiled(key: frozenset[tuple[str, frozenset[str]]]) -> tuple[re.Pattern[str], tuple, tuple]:
    forms: set[str] = set()
    splits = []
    heads, tails = set(), set()
    for secret, users in key:
        forms |= encoded_forms(secret, users)
        if len(secret) <= MAX_SPLIT_LENGTH:
            splits.append(_split_pattern(secret))
            forms.discard(secret)
        if MIN_SECRET_LENGTH <= len(secret) <= MAX_SPLIT_LENGTH:
            for cut in range(MIN_FRAGMENT, len(secret)):
                tails.add(secret[:cut])
                heads.add(secret[-cut:])
    ordered = sorted(splits, key=len, reverse=True)
    pattern = re.compile("|".join([*ordered, *_trie_branches(forms)]))
    by_length = functools.partial(sorted, key=len, reverse=True)
    return pattern, tuple(by_length(heads)), tuple(by_length(tails))


class Masker:
    """Replaces every known secret, in any of its common encodings, with ********.

    It runs on the log stream before a line is stored or shown, on error summaries, on
    stored parameters, on the executed notebook and on e-mails. Overlapping or adjacent
    matches are hidden as one stretch, so no part of a longer secret stays visible.
    """

    def __init__(self, secrets: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        self._secrets: dict[str, frozenset[str]] = {}
        self._key: frozenset[tuple[str, frozenset[str]]] | None = None
        self.add(secrets, users)

    def add(self, secrets: Iterable[str], users: Iterable[str] = ()) -> None:
        """Mask `secrets`, and their base64 `user:secret` forms for each of `users`.

        A referenced secret shorter than MIN_SECRET_LENGTH never gets here (`resolve_ref`
        refuses it); a shorter literal value is masked as it is, without its encodings.
        """
        names = frozenset(str(u) for u in users if u)
        for value in secrets:
            if not value:
                continue
            known = self._secrets.get(value)
            if known is None or not names <= known:
                self._secrets[value] = (known or frozenset()) | names
                self._key = None

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def _parts(self) -> tuple[re.Pattern[str], tuple, tuple]:
        if self._key is None:
            self._key = frozenset(self._secrets.items())
        return _compiled(self._key)

    def mask(self, text: str) -> str:
        """`text` with every encoded secret in it replaced by one MASK per stretch."""
        if not self._secrets:
            return text
        pattern, _heads, _tails = self._parts()
        if pattern.search(text) is None:
            return text
        return _replace(text, _spans(pattern, text))

    def mask_lines(self, lines: list[str]) -> list[str]:
        """Mask a block of log lines as one text, so a secret cut over lines is found,
        and mask a secret's fragment at the block's first line start and last line end."""
        if not self._secrets or not lines:
            return lines
        pattern, heads, tails = self._parts()
        text = "\n".join(lines)
        match = pattern.search(text)
        spans = _spans(pattern, text, match) if match is not None else []
        if lines[0].startswith(heads):
            head = next(h for h in heads if lines[0].startswith(h))
            spans.append((0, len(head)))
        if lines[-1].endswith(tails):
            tail = next(t for t in tails if lines[-1].endswith(t))
            spans.append((len(text) - len(tail), len(text)))
        if not spans:
            return lines
        spans.sort()
        return _replace(text, spans).split("\n")

    def mask_value(self, value: object) -> object:
        """Mask strings inside nested dicts and lists (for params stored as JSON)."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {k: self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_value(v) for v in value]
        return value


def _spans(pattern: re.Pattern[str], text: str,
           match: re.Match[str] | None = None) -> list[tuple[int, int]]:
    """Every match, overlapping ones too: the search restarts one character after the
    start of each match, not at its end."""
    spans = []
    match = match or pattern.search(text)
    while match is not None:
        spans.append(match.span())
        match = pattern.search(text, match.start() + 1)
    return spans


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    """One MASK per stretch covered by overlapping or adjacent spans. A line break inside
    a masked stretch is kept, so the number of lines does not change."""
    pieces: list[str] = []
    position = 0
    start, end = spans[0]
    for begin, stop in spans[1:]:
        if begin > end:
            pieces.append(text[position:start])
            pieces.append(_masked(text[start:end]))
            position = end
            start, end = begin, stop
        else:
            end = max(end, stop)
    pieces.append(text[position:start])
    pieces.append(_masked(text[start:end]))
    pieces.append(text[end:])
    return "".join(pieces)


def _masked(stretch: str) -> str:
    return "\n".join(MASK for _ in range(stretch.count("\n") + 1))
