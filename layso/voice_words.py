"""What a call says: Vietnamese (and English) reading of numbers and ticket codes, and the
manager-configured call phrase with its {số}/{quầy} placeholders (see layso.voice)."""

import re
import string
import unicodedata

DEFAULT_TEMPLATE_VI = "Kính mời công dân có số thứ tự {số} đến quầy số {quầy}"
DEFAULT_TEMPLATE_EN = "Ticket number {number}, please go to counter {counter}"

# --------------------------------------------------------------------------------------------
# Vietnamese numbers
# --------------------------------------------------------------------------------------------

_DIGITS_VI = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_ODD_WORDS = ("linh", "lẻ")
_MAX_NUMBER = 999_999_999


def _read_triple_vi(n: int, *, full: bool, odd: str) -> list[str]:
    """Words for 0 < n < 1000; ``full`` reads an empty hundreds place as "không trăm"."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS_VI[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:  # 101 → "một trăm linh một", 1005 → "... không trăm linh năm"
                words.append(odd)
            words.append(_DIGITS_VI[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else _DIGITS_VI[units])  # 15 → "mười lăm"
    else:
        words += [_DIGITS_VI[tens], "mươi"]
        if units == 1:
            words.append("mốt")  # 21 → "hai mươi mốt"
        elif units == 4:
            words.append("tư")  # 24 → "hai mươi tư"
        elif units == 5:
            words.append("lăm")  # 25 → "hai mươi lăm"
        elif units:
            words.append(_DIGITS_VI[units])
    return words


def read_number_vi(n: int, odd: str = "linh") -> str:
    """Read a whole number 0..999,999,999 in Vietnamese, the way a hall announcer says it.

    Rules: "mười" for 10–19 ("mười lăm" for 15, "mười bốn" for 14); "mươi" for the tens from 20,
    with "mốt" for a final 1, "tư" for a final 4 and "lăm" for a final 5 (21 "hai mươi mốt",
    24 "hai mươi tư", 25 "hai mươi lăm"); an empty tens place between hundreds and units is
    read with ``odd`` ("linh", Northern, the default; or "lẻ", Southern): 101 "một trăm linh
    một". After "nghìn" or "triệu" an empty hundreds place is read aloud, "không trăm"
    (1023 "một nghìn không trăm hai mươi ba"), while whole empty groups are skipped
    (2000 "hai nghìn", 1000001 "một triệu không trăm linh một").

    Raises ``ValueError`` for negatives, numbers above 999,999,999 or an unknown ``odd`` word,
    and ``TypeError`` for anything that is not an ``int``.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"read_number_vi needs an int, got {type(n).__name__}")
    if not 0 <= n <= _MAX_NUMBER:
        raise ValueError(f"read_number_vi covers 0..{_MAX_NUMBER:,}, got {n:,}")
    if odd not in _ODD_WORDS:
        raise ValueError(f"odd must be one of {_ODD_WORDS}, got {odd!r}")
    if n == 0:
        return _DIGITS_VI[0]
    words: list[str] = []
    for value, unit in ((n // 1_000_000, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")):
        if value == 0:
            continue
        words += _read_triple_vi(value, full=bool(words), odd=odd)
        if unit:
            words.append(unit)
    return " ".join(words)


# --------------------------------------------------------------------------------------------
# Ticket codes
# --------------------------------------------------------------------------------------------

#: How each letter of a ticket prefix is spelled aloud in Vietnamese (Northern letter names).
LETTER_NAMES_VI = {
    "A": "A", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "E",
    "Ê": "ê", "F": "ép", "G": "giê", "H": "hát", "I": "I", "J": "gi", "K": "ca", "L": "e-lờ",
    "M": "em-mờ", "N": "en-nờ", "O": "O", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy",
    "R": "e-rờ", "S": "ét-xì", "T": "tê", "U": "U", "Ư": "ư", "V": "vê", "W": "vê kép",
    "X": "ích-xì", "Y": "i dài", "Z": "dét",
}  # fmt: skip

_TOKEN_RE = re.compile(r"\d+|[^\W\d_]")
_MAX_NUMBER_DIGITS = 9


def _ticket_tokens(display_number: str | int) -> list[str]:
    if isinstance(display_number, bool):
        raise TypeError("a ticket number cannot be a bool")
    if isinstance(display_number, int):
        display_number = str(display_number)
    if not isinstance(display_number, str):
        raise TypeError(f"a ticket number must be a str, got {type(display_number).__name__}")
    tokens = _TOKEN_RE.findall(unicodedata.normalize("NFC", display_number))
    if not tokens:
        raise ValueError(f"ticket number {display_number!r} has no letter or digit to read")
    return tokens


def read_ticket_vi(display_number: str, odd: str = "linh") -> str:
    """What the announcer says for a ticket code such as "1023" or "A023".

    - Digits are read as one number, leading zeros dropped, as announcers do for the printed,
      zero-padded codes: "1023" → "một nghìn không trăm hai mươi ba", "A023" → "A hai mươi
      ba", "A000" → "A không". A digit run longer than 9 digits is read digit by digit.
    - Letters are spelled one by one with their Vietnamese names (:data:`LETTER_NAMES_VI`):
      vowels as themselves ("A", "E", "O"...), "B" "bê", "C" "xê", "D" "dê", "K" "ca",
      "L" "e-lờ", "S" "ét-xì", "X" "ích-xì"...; "AB012" → "A bê mười hai".
    - Separators (spaces, "-", ".") are ignored: "A-023" reads like "A023".

    ``odd`` is passed to :func:`read_number_vi`. Raises ``ValueError`` when the code has no
    letter or digit.
    """
    words: list[str] = []
    for token in _ticket_tokens(display_number):
        if token.isdigit():
            if len(token) <= _MAX_NUMBER_DIGITS:
                words.append(read_number_vi(int(token), odd=odd))
            else:
                words += [_DIGITS_VI[int(d)] for d in token]
        else:
            words.append(LETTER_NAMES_VI.get(token.upper(), token))
    return " ".join(words)


def read_ticket_en(display_number: str) -> str:
    """Ticket code as text for an English voice: "A023" → "A-23", "1023" → "1023".

    Leading zeros are dropped and the digits stay digits (the English voice reads "23" as
    "twenty-three" and "1023" as "one thousand and twenty-three"). Letters are upper-cased and
    joined to the number with hyphens ("AB012" → "A-B-12"): espeak-ng's English voice reads a
    free-standing "A" as the article ("uh"), but "A-23" as the letter "ay" then "twenty-three".
    A digit run longer than 9 digits is spelled digit by digit.
    """
    parts: list[str] = []
    for token in _ticket_tokens(display_number):
        if token.isdigit():
            parts.append(str(int(token)) if len(token) <= _MAX_NUMBER_DIGITS else " ".join(token))
        else:
            parts.append(token.upper())
    return "-".join(parts)


# --------------------------------------------------------------------------------------------
# Call phrase templates
# --------------------------------------------------------------------------------------------

#: Placeholder names accepted in a call template, and what each stands for.
PLACEHOLDERS = {"số": "number", "number": "number", "quầy": "counter", "counter": "counter"}
_ALLOWED_TEXT = "{số} (or {number}) and {quầy} (or {counter})"
LANGS = ("vi", "en")


def _template_parts(template: str) -> list[tuple[str, str | None]]:
    """Split a template into (literal text, placeholder kind or None); raise on any error."""
    if not isinstance(template, str):
        raise TypeError(f"a call template must be a str, got {type(template).__name__}")
    template = unicodedata.normalize("NFC", template)  # "số" typed decomposed still matches
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"call template {template!r} is malformed ({exc}); placeholders are "
            f"{_ALLOWED_TEXT}, and a literal brace is written twice: {{{{ or }}}}"
        ) from None
    parts: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        kind = None
        if field is not None:
            name = field.strip()
            if name not in PLACEHOLDERS:
                shown = "{" + field + "}" if field else "{} (an empty placeholder)"
                raise ValueError(
                    f"call template {template!r} has an unknown placeholder {shown}; "
                    f"allowed: {_ALLOWED_TEXT}"
                )
            if spec or conversion:
                raise ValueError(
                    f"call template {template!r}: placeholder {{{name}}} takes no format "
                    f"spec or conversion; write it plainly as {{{name}}}"
                )
            kind = PLACEHOLDERS[name]
        parts.append((literal, kind))
    return parts


RESULTS_PURPOSE = {"vi": "để nhận kết quả", "en": "to collect your results"}


def with_results_purpose(template: str, lang: str = "vi") -> str:
    """The call sentence of a results area (trả kết quả): the hall's sentence, then what the
    citizen comes for ("… đến quầy số 5 để nhận kết quả"), unless it already says so."""
    purpose = RESULTS_PURPOSE["en" if lang == "en" else "vi"]
    text = template.rstrip().rstrip(".")
    if purpose.casefold() in text.casefold():
        return template
    return f"{text} {purpose}"


def validate_template(template: str) -> None:
    """Check a manager-configured call template; raise ``ValueError`` with a clear message.

    Allowed placeholders: ``{số}`` / ``{number}`` (the ticket) and ``{quầy}`` / ``{counter}``
    (the counter), each any number of times, without format specs; literal braces are doubled.
    """
    _template_parts(template)


def _read_counter(counter: int | str, lang: str) -> str:
    if lang == "vi":
        if isinstance(counter, int) and not isinstance(counter, bool):
            return read_number_vi(counter)
        return read_ticket_vi(counter)
    return read_ticket_en(counter)


def render_phrase(template: str, *, number: str, counter: int | str, lang: str = "vi") -> str:
    """Fill a call template, the ticket and counter written the way the voice should say them.

    For ``lang="vi"`` both are read in Vietnamese words ("1023" → "một nghìn không trăm hai
    mươi ba", counter 3 → "ba"); for ``lang="en"`` they are given as :func:`read_ticket_en`
    text ("A-23", "3"). Raises ``ValueError`` for an invalid template or an unknown language.
    """
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGS}")
    parts = _template_parts(template)
    values = {
        "number": read_ticket_vi(number) if lang == "vi" else read_ticket_en(number),
        "counter": _read_counter(counter, lang),
    }
    text = "".join(literal + (values[kind] if kind else "") for literal, kind in parts)
    return " ".join(text.split())
