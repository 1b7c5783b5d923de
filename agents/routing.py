"""Greeter routing: which specialist takes the call, decided from what the caller said.

Pure module (no Django). Deterministic and explainable on purpose: a business must be able to
predict where a sentence goes and see why, so there is no model and no randomness here.

1. Normalise the utterance and every match hint the same way: drop accents, fold case, turn
   punctuation into spaces, split into words and reduce each word to a crude stem so simple word
   forms meet (``billing``/``billed``/``bills`` → ``bil``, ``refunds`` → ``refund``,
   ``scheduling``/``schedule`` → ``schedul``, ``companies`` → ``company``).
2. A hint matches when its stemmed words appear in the utterance as a contiguous run; it scores
   its number of words, so a specific phrase ("cancel my subscription", 3) outweighs a single
   word ("cancel", 1). Each hint counts once.
3. The enabled specialist with the highest total wins. No match, or a tie for the top score,
   stays with the greeter: handing a caller to the wrong specialist is worse than asking one
   more question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_WORD_RE = re.compile(r"[^\W_]+")
_VOWELS = frozenset("aeiouy")
# Contractions split at the apostrophe would leave these fragments as words of their own.
_CONTRACTION_TAILS = ("'s", "'re", "'ll", "'ve", "'d", "'m", "n't")


def stem(word: str) -> str:
    """A small suffix stripper (plural, -ing, -ed, final -e, doubled consonant).

    It only has to map a word's simple forms onto one key, never to produce a real word, and it
    must stay obvious enough to explain in a sentence. Short words are left alone.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "ches", "shes", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        # Only strip when a syllable remains ("booking" → "book", but not "bed" or "ring").
        if word.endswith(suffix) and len(base) >= 3 and any(c in _VOWELS for c in base):
            word = base
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _VOWELS:
        word = word[:-1]
    return word


def normalise(text: str) -> tuple[str, ...]:
    """The stemmed words of ``text``: accents folded, case and punctuation ignored."""
    text = text.replace("\u2019", "'")
    # Drop accents (combining marks) but keep letters of every script; any other symbol splits words.
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    for tail in _CONTRACTION_TAILS:
        folded = folded.replace(tail, " ")
    return tuple(stem(word) for word in _WORD_RE.findall(folded))


@dataclass(frozen=True)
class AgentProfile:
    """What the router needs to know about one agent."""

    key: str
    display_name: str
    match_hints: Sequence[str]
    enabled: bool = True
    is_default: bool = False


@dataclass(frozen=True)
class Candidate:
    key: str
    display_name: str
    score: int
    matched_hints: tuple[str, ...]


@dataclass(frozen=True)
class RoutingDecision:
    """Where the call goes and why. ``agent_key`` is None when the greeter keeps the call."""

    agent_key: str | None
    display_name: str | None
    matched_hints: tuple[str, ...]
    score: int
    reason: str
    outcome: str  # "matched", "tie" or "no_match"
    normalised: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def handed_off(self) -> bool:
        return self.agent_key is not None


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    if not phrase or len(phrase) > len(words):
        return False
    size = len(phrase)
    return any(tuple(words[i : i + size]) == tuple(phrase) for i in range(len(words) - size + 1))


def score_agent(words: Sequence[str], hints: Iterable[str]) -> tuple[int, tuple[str, ...]]:
    """Total score and matched hints (as the business wrote them) of one agent for these words."""
    score, matched, seen = 0, [], set()
    for hint in hints:
        phrase = normalise(hint)
        if not phrase or phrase in seen:
            continue
        seen.add(phrase)
        if _contains(words, phrase):
            score += len(phrase)
            matched.append(hint)
    return score, tuple(matched)


def route(text: str, agents: Iterable[AgentProfile]) -> RoutingDecision:
    """Choose the specialist for ``text`` among the enabled, non-default agents."""
    words = normalise(text)
    candidates = []
    for agent in agents:
        if not agent.enabled or agent.is_default:
            continue
        score, matched = score_agent(words, agent.match_hints)
        if score:
            candidates.append(Candidate(agent.key, agent.display_name, score, matched))
    candidates.sort(key=lambda c: (-c.score, c.key))
    ranked = tuple(candidates)

    if not candidates:
        return RoutingDecision(
            agent_key=None,
            display_name=None,
            matched_hints=(),
            score=0,
            outcome="no_match",
            normalised=words,
            reason="No specialist's match hints appear in what the caller said, so the greeter keeps the call.",
        )
    best = candidates[0]
    tied = [c for c in candidates if c.score == best.score]
    if len(tied) > 1:
        names = ", ".join(c.display_name for c in tied)
        return RoutingDecision(
            agent_key=None,
            display_name=None,
            matched_hints=(),
            score=best.score,
            outcome="tie",
            normalised=words,
            candidates=ranked,
            reason=f"{names} tie with a score of {best.score}, so the greeter keeps the call and asks the "
            "caller what they need.",
        )
    quoted = ", ".join(f"“{h}”" for h in best.matched_hints)
    runner_up = f"; next best scored {candidates[1].score}" if len(candidates) > 1 else ""
    return RoutingDecision(
        agent_key=best.key,
        display_name=best.display_name,
        matched_hints=best.matched_hints,
        score=best.score,
        outcome="matched",
        normalised=words,
        candidates=ranked,
        reason=f"Matched {quoted} (score {best.score}{runner_up}), so the greeter hands the call to "
        f"{best.display_name}.",
    )
