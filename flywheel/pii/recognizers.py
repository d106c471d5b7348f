"""Our recognizers on top of Presidio's (filters.py judges what they all find).

Each one was measured three ways (see bench/pii_recall.py and config.py): recall on
pii_dev_small.json, and false positives on 8,600 CLINC150 queries and 3,000 blocks of Python
source (LLM traces about code are a large share of ours). The patterns are generic; they were
written while looking at the dev set, so its recall for them is optimistic.
"""

from __future__ import annotations

import re

import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer, UrlRecognizer


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's EmailRecognizer validates the domain with the module-level
    ``tldextract.extract``, whose default extractor downloads the public-suffix list on first
    use (offline: a ConnectionError traceback in the logs, then the bundled snapshot). This
    one reads the snapshot shipped inside tldextract: no network, no disk cache."""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_language=supported_language)
        self._tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str) -> bool:
        return self._tld(pattern_text).fqdn != ""


class ChatUrlRecognizer(UrlRecognizer):
    """Presidio's URL patterns minus bare ``name.tld`` words.

    The stock recognizer matches "main.py", "README.md" and "setup.sh" (country TLDs), which
    traces about code are full of. A match is kept if it has a scheme, a ``www.`` prefix or a
    path. A bare personal domain ("janedoe.com") is the gap we accept for that.
    """

    def invalidate_result(self, pattern_text: str) -> bool:
        text = pattern_text.strip("\"'").casefold()
        return not (text.startswith(("http://", "https://", "www")) or "/" in text)


class GroupedPhoneRecognizer(PatternRecognizer):
    """Digit groups laid out like a phone number, which python-phonenumbers rejects for the
    default regions: "(96) 627-277", "69 987 88 37", "001-420-335-7509x38548".

    Presidio's PhoneRecognizer found 5 of the 10 dev phone numbers; with this one 10 of 10.
    0 hits on CLINC; on code it adds "123 456 789"-style literals. Dates and IPs are excluded.
    Same score as PhoneRecognizer (0.4): context words ("call", "phone") raise it.
    """

    PATTERN = (
        r"(?<![\w.+(-])(?:(?:\+|00)?\d{1,4}(?:[ .-]?\(\d{1,4}\))?|\(\d{1,4}\))(?:[ .-]\d{2,5}){2,5}"
        r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\w-])"
    )

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="GroupedPhoneRecognizer",
            patterns=[Pattern("digit groups", self.PATTERN, 0.4)],
            context=["phone", "telephone", "cell", "mobile", "call", "fax", "tel"],
            supported_language=supported_language,
            global_regex_flags=0,
        )

    # Dates and IPv4 addresses have the same shape; their own recognizers handle them.
    NOT_PHONES = re.compile(r"\d{4}-\d\d-\d\d|\d{1,2}[./-]\d{1,2}[./-]\d{4}$|\d{1,3}(?:\.\d{1,3}){3}$")

    def invalidate_result(self, pattern_text: str) -> bool:
        number = re.split(r"\s?(?:x|ext)", pattern_text)[0]  # the extension does not count
        digits = sum(ch.isdigit() for ch in number)
        return digits < 8 or digits > 15 or bool(self.NOT_PHONES.match(pattern_text))


class AddressRecognizer(PatternRecognizer):
    """Street addresses and unit numbers; Presidio has no recognizer for them.

    "8 wressle road", "1755 Nelson Mandela Drive", "Apt. 018", "Nassaustraat 123". In the
    scrubbed output of 8,600 CLINC queries it shows twice: "27 moss lane" (a real address) and
    "7 people in st louis"; 0 times in 3,000 code blocks. Postcodes and city lines stay out of
    reach without a gazetteer.
    """

    _SUFFIX = (
        r"(?:street|st|road|rd|avenue|ave|drive|dr|lane|ln|boulevard|blvd|place|pl|court|ct"
        r"|terrace|highway|hwy|square|sq|parkway|pkwy|crescent|close)"
    )
    PATTERNS = (
        ("street", r"(?i)\b\d{1,5}[a-z]?\s+(?:[^\W\d_][\w'.-]*\s+){1,3}" + _SUFFIX + r"\b\.?"),
        ("unit", r"(?i)\b(?:apt|apartment|suite|unit|flat)\.?\s*#?\s*\d{1,5}[a-z]?\b"),
        (
            "compound street",
            r"(?i)\b[^\W\d_]+(?:straat|strasse|straße|gasse|weg|laan|gatan|vej|väg)\s+\d{1,5}[a-z]?\b",
        ),
    )

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="ADDRESS",
            name="AddressRecognizer",
            patterns=[Pattern(name, regex, 0.5) for name, regex in self.PATTERNS],
            context=["address", "live", "lives", "ship", "deliver", "street"],
            supported_language=supported_language,
            global_regex_flags=0,
        )


class HonorificNameRecognizer(PatternRecognizer):
    """The capitalised word(s) after Mr/Mrs/Ms/Dr/Prof: "ms. Wijtze". spaCy's small model
    misses rare names even after a title. 0 hits on CLINC and on code."""

    PATTERN = r"(?<=\b(?i:mr|mrs|ms|miss|mx|dr|prof)\.?\s{1,3})[A-Z][^\W\d_]+(?:[ -][A-Z][^\W\d_]+)?"

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="PERSON",
            name="HonorificNameRecognizer",
            patterns=[Pattern("title and name", self.PATTERN, 0.6)],
            supported_language=supported_language,
            global_regex_flags=0,
        )


def extra_recognizers(language: str) -> list[EntityRecognizer]:
    return [
        GroupedPhoneRecognizer(language),
        AddressRecognizer(language),
        HonorificNameRecognizer(language),
    ]
