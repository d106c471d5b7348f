"""Values that are obviously made up, for entity substitution and generated data.

Nobody is called "Alex Example" or lives in "Sampletown": a variant that carries these names
reads naturally and still holds no personal data. The service adds them to the PII scrubber's
allow list for variants (a real name a paraphrase invents is still scrubbed).
"""

from __future__ import annotations

NAMES = (
    "Alex Example",
    "Sam Sample",
    "Jordan Placeholder",
    "Taylor Testcase",
    "Robin Fictional",
    "Casey Demo",
    "Morgan Madeup",
    "Jamie Nobody",
)
PLACES = ("Sampletown", "Exampleville", "Testford", "Demoburg", "Mockingham", "Fakesbury")
STREETS = (
    "1 Example Street",
    "22 Sample Road",
    "7 Placeholder Lane",
    "300 Test Avenue",
    "45 Demo Way",
    "9 Fiction Close",
)
# (singular, plural): "the shoes arrived" stays plural when the product changes.
PRODUCTS = (
    ("blender", "blenders"),
    ("toaster", "toasters"),
    ("kettle", "kettles"),
    ("lamp", "lamps"),
    ("backpack", "backpacks"),
    ("jacket", "jackets"),
    ("headphones", "headphones"),
    ("shoes", "shoes"),
    ("mug", "mugs"),
    ("chair", "chairs"),
    ("monitor", "monitors"),
    ("keyboard", "keyboards"),
    ("sofa", "sofas"),
    ("vacuum cleaner", "vacuum cleaners"),
    ("coffee machine", "coffee machines"),
    ("phone case", "phone cases"),
)


def allow_list() -> tuple[str, ...]:
    """Every synthetic name, place and street: never PII, so the scrubber leaves them."""
    return (*NAMES, *PLACES, *STREETS)
