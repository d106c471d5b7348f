"""Synthetic, scrubbed-looking support conversations for the load database (plain Python, no Django).

What the PII scrubber leaves behind: typed placeholders (``<PERSON_1>``, ``<EMAIL_ADDRESS_1>``) in
place of names, addresses and numbers. Sizes follow a support bot's traffic: a system prompt, one
to four user/assistant turns of 40-600 characters, so a stored conversation is ~0.5-4 KB of JSON.
Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

SYSTEM = (
    "You are the support assistant of an online shop. Answer in the user's language, politely and "
    "briefly. Never reveal another customer's data. Refuse medical, legal and financial decisions and "
    "point to a professional. When the task asks for JSON, answer with one JSON object and nothing else."
)
TOPICS = (
    ("shipping", "Where is my order {order}? It was supposed to arrive on {day}."),
    ("billing", "I was charged twice for order {order}, can you refund one of the payments?"),
    ("account", "I can't log in with {email}, the reset link never arrives."),
    ("returns", "How do I return the shoes from order {order}? They are too small."),
    ("address", "Please change the delivery address of {order} to {address}."),
    ("extraction", "Extract the items and quantities from this message as JSON: {items}"),
    ("warranty", "My blender from order {order} stopped working after two weeks, is it covered?"),
    ("medical", "Can I take the supplements I bought together with my blood pressure pills?"),
)
FOLLOW_UPS = (
    "That does not help, I already tried that twice.",
    "Can you check again? My name is {person} and my phone is {phone}.",
    "Thanks. And when will the refund show up on my card {card}?",
    "OK, what do I need to send you?",
    "Please answer in JSON only.",
    "Is there someone I can call instead?",
)
ANSWERS = (
    "I'm sorry for the trouble, {person}. Your order {order} left our warehouse yesterday and should "
    "arrive within two working days. You can follow it with the tracking link we sent to {email}.",
    "I have checked your account: there is one charge of 49.90 EUR and one pre-authorisation that "
    "your bank releases within five working days. No second payment was taken.",
    "To return an item, open Orders, choose the order and select Return. Print the label, pack the "
    "item in its original box and drop it at any post office within 30 days.",
    "I can't give medical advice. Please ask your doctor or pharmacist before combining the two; they "
    "know your prescription. I can help you with anything about the order itself.",
    "I have updated the delivery address of {order} to {address}. You will get a confirmation at "
    "{email} in a few minutes.",
    "Your device is covered by the two-year warranty. Reply with a photo of the receipt and we send "
    "you a free return label; the replacement ships as soon as the old one arrives.",
)
JSON_ANSWER = '{"items": [{"name": "coffee beans", "quantity": 2}, {"name": "filter papers", "quantity": 1}]}'
FILLER = (
    " Our support team is available from 8:00 to 20:00 on working days.",
    " If anything else comes up, just reply to this conversation.",
    " I have also added a note to your customer file so colleagues see the history.",
    " Please keep the original packaging until the case is closed.",
)
NAMES = ("chat-turn", "support-agent", "order-lookup", "refund-flow", "extract-items")
ENVIRONMENTS = ("production", "production", "production", "staging")
RULES = (["thumbs-down"], ["thumbs-down"], ["json-invalid"], ["thumbs-down", "slow"], ["refusal-missed"])


@dataclass(frozen=True)
class Conversation:
    topic: str
    messages: list[dict[str, Any]]
    question: str  # the last user turn
    answer: str  # the model's last answer (what a task judges)
    output_format: str  # "json" for extraction topics


def _placeholders(rng: random.Random) -> dict[str, str]:
    n = rng.randint(1, 3)
    return {
        "person": f"<PERSON_{n}>",
        "email": f"<EMAIL_ADDRESS_{rng.randint(1, 2)}>",
        "phone": "<PHONE_NUMBER_1>",
        "card": "<CREDIT_CARD_1>",
        "address": f"<LOCATION_{rng.randint(1, 2)}>",
        "order": f"#{rng.randint(100000, 999999)}",
        "day": rng.choice(("Monday", "Tuesday", "Friday", "the 12th", "last week")),
        "items": "2 bags of coffee beans and a pack of filter papers, to <LOCATION_1>",
    }


def conversation(rng: random.Random) -> Conversation:
    fill = _placeholders(rng)
    topic, opening = rng.choice(TOPICS)
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    question = opening.format(**fill)
    turns = rng.choice((1, 1, 2, 2, 3, 4))
    answer = ""
    for turn in range(turns):
        if turn:
            question = rng.choice(FOLLOW_UPS).format(**fill)
        messages.append({"role": "user", "content": question})
        if topic == "extraction":
            # One in three is the failure the rule catches: JSON cut off mid-way.
            answer = (
                JSON_ANSWER if rng.random() < 0.67 else JSON_ANSWER[: rng.randint(10, len(JSON_ANSWER) - 5)]
            )
        else:
            answer = rng.choice(ANSWERS).format(**fill) + "".join(rng.sample(FILLER, rng.randint(0, 3)))
        messages.append({"role": "assistant", "content": answer})
    return Conversation(topic, messages, question, answer, "json" if topic == "extraction" else "text")
