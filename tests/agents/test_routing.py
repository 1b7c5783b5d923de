"""Greeter routing (pure): word forms meet, phrases outweigh words, ties and misses stay with the greeter."""

from __future__ import annotations

import pytest

from agents.routing import AgentProfile, normalise, route, score_agent, stem

AGENTS = [
    AgentProfile("front-desk", "Front desk", ["hello"], is_default=True),
    AgentProfile("billing", "Billing", ["bill", "invoice", "refund", "charged twice", "payment"]),
    AgentProfile("support", "Product support", ["broken", "not working", "serial number", "repair"]),
    AgentProfile("booking", "Appointments", ["appointment", "book", "schedule", "reschedule"]),
    AgentProfile("cancellations", "Cancellations", ["cancel my subscription", "cancel"]),
    AgentProfile("retired", "Old billing desk", ["bill", "invoice"], enabled=False),
]

# utterance → (agent key or None, outcome, matched hints)
ROUTING_TABLE = [
    ("I have a question about my BILLING.", "billing", "matched", ("bill",)),
    ("Why was I charged twice?!", "billing", "matched", ("charged twice",)),
    ("Can I get a refund on invoices 12 and 13", "billing", "matched", ("invoice", "refund")),
    ("my dishwasher is not working", "support", "matched", ("not working",)),
    ("It's broken, where do I find the serial number", "support", "matched", ("broken", "serial number")),
    ("I'd like to book an appointment", "booking", "matched", ("appointment", "book")),
    ("Scheduling a visit for Tuesday", "booking", "matched", ("schedule",)),
    ("I need to reschedule", "booking", "matched", ("reschedule",)),
    ("Please cancel my subscription", "cancellations", "matched", ("cancel my subscription", "cancel")),
    ("What are your opening hours?", None, "no_match", ()),
    ("hello", None, "no_match", ()),  # the greeter's own hints never hand off to itself
    ("", None, "no_match", ()),
    # Billing (bill 1) vs Appointments (book 1): a tie stays with the greeter.
    ("I want to book something about my bill", None, "tie", ()),
    # The disabled desk shares billing's hints but is never chosen and never ties.
    ("invoice please", "billing", "matched", ("invoice",)),
]


@pytest.mark.parametrize(("utterance", "agent_key", "outcome", "matched"), ROUTING_TABLE)
def test_routing_table(utterance: str, agent_key: str | None, outcome: str, matched: tuple[str, ...]) -> None:
    decision = route(utterance, AGENTS)
    assert (decision.agent_key, decision.outcome, decision.matched_hints) == (agent_key, outcome, matched)
    assert decision.handed_off is (agent_key is not None)


def test_a_decision_explains_itself_with_hints_score_and_runner_up() -> None:
    decision = route("Refund my bill, the product is broken", AGENTS)
    assert decision.agent_key == "billing" and decision.score == 2
    assert "“bill”" in decision.reason and "“refund”" in decision.reason and "next best scored 1" in decision.reason
    assert [(c.key, c.score) for c in decision.candidates] == [("billing", 2), ("support", 1)]


def test_a_tie_names_the_tied_agents() -> None:
    decision = route("book my bill", AGENTS)
    assert decision.agent_key is None and decision.outcome == "tie"
    assert (
        "Billing" in decision.reason
        and "Appointments" in decision.reason
        and "greeter keeps the call" in decision.reason
    )


def test_routing_is_deterministic_whatever_the_agent_order() -> None:
    for text, *_ in ROUTING_TABLE:
        assert route(text, AGENTS) == route(text, list(reversed(AGENTS)))


def test_a_hint_counts_once_and_a_phrase_scores_its_word_count() -> None:
    words = normalise("bill bill bill, cancel my subscription")
    assert score_agent(words, ["bill", "bills", "Bill!"]) == (1, ("bill",))
    assert score_agent(words, ["cancel my subscription"]) == (3, ("cancel my subscription",))
    assert score_agent(words, ["subscription cancel"]) == (0, ())  # word order matters in a phrase


@pytest.mark.parametrize(
    ("forms", "key"),
    [
        (["bill", "bills", "billing", "billed", "Billing's"], "bil"),
        (["refund", "refunds", "refunded", "refunding"], "refund"),
        (["schedule", "scheduled", "scheduling", "schedules"], "schedul"),
        (["book", "books", "booked", "booking"], "book"),
        (["company", "companies"], "company"),
        (["cancel", "cancelled", "canceled", "cancels"], "cancel"),
        (["invoice", "invoices", "invoiced"], "invoic"),
    ],
)
def test_simple_word_forms_share_one_stem(forms: list[str], key: str) -> None:
    assert {normalise(form)[0] for form in forms} == {key}


def test_normalise_folds_case_accents_punctuation_and_contractions() -> None:
    assert normalise("Café—RÉSUMÉ, please!!") == ("cafe", "resum", "pleas")
    assert normalise("I’m sure it's my bill") == ("i", "sure", "it", "my", "bil")


def test_short_words_and_numbers_are_left_alone() -> None:
    assert [stem(w) for w in ("is", "bus", "red", "1234", "ring", "need")] == [
        "is",
        "bus",
        "red",
        "1234",
        "ring",
        "need",
    ]


def test_no_enabled_specialist_means_the_greeter_keeps_every_call() -> None:
    only_greeter = [AgentProfile("desk", "Desk", ["bill"], is_default=True)]
    decision = route("my bill", only_greeter)
    assert decision.agent_key is None and decision.outcome == "no_match"
