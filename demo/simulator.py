"""Realistic traffic for a business until a telephony core feeds real calls: calls with transcripts and
recordings, voicemails, booked appointments and inbound texts, spread over past days.

Everything goes through `phone.services`, so each simulated record emits exactly the events a
real one would (`call.started`, `transcript.ready`, `voicemail.created`, `appointment.booked`,
`call.completed`, `sms.received`, `contact.*`). Bulk traffic is live by default; `--mode test` makes
test-mode calls and texts: they answer with the test AI config (its greeting, whether voicemail is on),
their contacts are test contacts, their events are flagged test, and no live list ever shows them.

When the business has defined AI agents, every simulated call goes through the real greeter
router: the caller's first words pick the specialist that handles (and is named on) the call.
`simulate_handoff_call` plays one demo call end to end — caller → greeter → specialist → the
specialist's custom tool called for real → `call.completed` webhook naming the specialist. Bulk
traffic never calls tools: it would hit the business's endpoints hundreds of times.
"""

from __future__ import annotations

import datetime
import io
import math
import random
import wave
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.models import Organization
from agents import routing
from agents.models import Agent
from agents.services import (
    HandoffTrace,
    agent_profiles,
    agents_for,
    greeter_status,
    handoff_simulate,
)
from phone import services
from phone.models import AiConfig, BusinessNumber, Call, Direction
from phone.services import LIVE, TEST, Turn
from webhooks.models import Event

# Fictional numbers: the NANP reserves 555-0100 to 555-0199 in every area code for examples.
AREA_CODES = ("212", "312", "415", "512", "617", "702", "786", "917", "303", "206")

PEOPLE = (
    "Jordan Lee",
    "Priya Patel",
    "Marcus Johnson",
    "Sofia Garcia",
    "Ethan Brooks",
    "Amara Okafor",
    "Liam O'Connor",
    "Mei Chen",
    "Noah Williams",
    "Fatima Haddad",
    "Lucas Martin",
    "Grace Kim",
    "Diego Ramirez",
    "Hannah Schmidt",
    "Owen Davies",
    "Zara Ahmed",
)
SERVICES = ("Cleaning", "Check-up", "Whitening consultation", "Filling", "Emergency visit", "Crown fitting")
TEXTS = (
    "Hi, can I move my appointment to Thursday afternoon?",
    "Thanks for the reminder, see you tomorrow!",
    "Do you take Delta Dental insurance?",
    "Running 10 minutes late, sorry!",
    "What time do you open on Saturday?",
    "Can you send me the address again?",
    "Great, thank you 😊",
    "HELP",
    "STOP",
)
# How calls go, with weights that look like a small practice's week.
SCENARIOS: tuple[tuple[str, int], ...] = (
    ("booking", 35),
    ("question", 28),
    ("voicemail", 14),
    ("transfer", 10),
    ("spam", 5),
    ("abandoned", 8),
)


@dataclass
class SimulationReport:
    calls: int = 0
    transcripts: int = 0
    recordings: int = 0
    voicemails: int = 0
    appointments: int = 0
    texts: int = 0
    outcomes: Counter = field(default_factory=Counter)
    handoffs: Counter = field(default_factory=Counter)  # specialist name → calls the greeter handed over

    def __str__(self) -> str:
        return (
            f"{self.calls} calls ({self.transcripts} transcripts, {self.recordings} recordings), "
            f"{self.voicemails} voicemails, {self.appointments} appointments booked, {self.texts} inbound texts"
            + (f", {sum(self.handoffs.values())} handed to specialists" if self.handoffs else "")
        )


@dataclass
class HandoffCall:
    """One demo call played through the agents: the call row, what happened and the event it ended with."""

    call: Call
    trace: HandoffTrace
    completed: Event

    @property
    def steps(self) -> list[str]:
        deliveries = self.completed.deliveries.count()
        webhook = (
            f"call.completed ({self.completed.public_id}) queued for {deliveries} webhook "
            f"endpoint{'' if deliveries == 1 else 's'}."
            if deliveries
            else f"call.completed ({self.completed.public_id}) recorded; no webhook endpoint subscribes to it."
        )
        return [
            f"Call {self.call.public_id} from {self.call.from_number} to {self.call.to_number}.",
            *self.trace.steps,
            webhook,
        ]


def fictional_number(rng: random.Random) -> str:
    return f"+1{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}"


def ensure_business_number(organization: Organization, rng: random.Random) -> BusinessNumber:
    """The business's first voice number, or a new fictional one that no other business holds."""
    existing = BusinessNumber.objects.filter(organization=organization, voice_capable=True).first()
    if existing is not None:
        return existing
    taken = set(BusinessNumber.objects.values_list("e164", flat=True))
    for _ in range(2000):
        candidate = fictional_number(rng)
        if candidate not in taken:
            return services.business_number_add(organization=organization, number=candidate, label="Main line")
    raise RuntimeError("No free fictional number left for the simulator.")


def synthetic_recording(seconds: int, rng: random.Random) -> bytes:
    """A short 8 kHz mono WAV of alternating tones, one burst per speaker turn: a stand-in for audio."""
    rate, buffer = 8000, io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(rate)
        frames = bytearray()
        for second in range(seconds):
            pitch = 440 if second % 2 == 0 else 587 + rng.randint(0, 60)
            for n in range(rate):
                envelope = 0.0 if n > rate * 0.8 else 0.4
                frames.append(int(128 + 127 * envelope * math.sin(2 * math.pi * pitch * n / rate)))
        wav.writeframes(bytes(frames))
    return buffer.getvalue()


def _transcript(scenario: str, name: str, service: str, slot: datetime.datetime, greeting: str) -> list[Turn]:
    first = name.split()[0]
    lines: list[tuple[str, str]] = [("agent", greeting)]
    if scenario == "booking":
        lines += [
            ("caller", f"Hi, this is {name}. I'd like to book a {service.lower()}."),
            ("agent", f"Of course, {first}. I have {slot:%A} at {slot:%-I:%M %p} available. Does that work?"),
            ("caller", "Yes, that's perfect."),
            ("agent", f"You're booked for {slot:%A, %B %-d} at {slot:%-I:%M %p}. We'll text you a reminder."),
            ("caller", "Thank you!"),
        ]
    elif scenario == "question":
        lines += [
            ("caller", "Hi, do you accept new patients, and are you open on Saturdays?"),
            ("agent", "We do accept new patients, and we're open Saturdays from 9 to 1."),
            ("caller", "Great. And do you take Delta Dental?"),
            ("agent", "Yes, we're in network with Delta Dental PPO."),
            ("caller", "Perfect, thanks."),
        ]
    elif scenario == "transfer":
        lines += [
            ("caller", "I have a question about a charge on my last bill."),
            ("agent", "Let me connect you with our billing team now."),
            ("staff", f"Hi {first}, this is Dana from billing. Let me pull up your account."),
        ]
    elif scenario == "spam":
        lines += [("caller", "Congratulations! You have been selected for a limited-time business loan offer.")]
    else:  # abandoned
        lines += [("caller", "Hi, um... actually, never mind.")]
    turns, offset = [], 600
    for speaker, text in lines:
        turns.append(Turn(speaker=speaker, text=text, offset_ms=offset))
        offset += 1200 + 55 * len(text)
    return turns


def _summary(scenario: str, name: str, service: str, slot: datetime.datetime) -> tuple[str, str]:
    outcome = {
        "booking": Call.Outcome.APPOINTMENT_BOOKED,
        "question": Call.Outcome.QUESTION_ANSWERED,
        "voicemail": Call.Outcome.VOICEMAIL,
        "transfer": Call.Outcome.TRANSFERRED,
        "spam": Call.Outcome.SPAM,
        "abandoned": Call.Outcome.ABANDONED,
    }[scenario]
    text = {
        "booking": f"{name} booked a {service.lower()} for {slot:%a %b %-d at %-I:%M %p}.",
        "question": f"{name} asked about new-patient availability, Saturday hours and Delta Dental coverage.",
        "voicemail": f"{name} left a voicemail asking for a call back.",
        "transfer": f"{name} asked about a billing charge and was transferred to the billing team.",
        "spam": "Unsolicited sales call (business loan offer); ended by the AI.",
        "abandoned": "The caller hung up before stating a reason.",
    }[scenario]
    return text, outcome


def simulate_handoff_call(
    *,
    organization: Organization,
    utterance: str,
    mode: str = "test",
    tool_name: str | None = None,
    arguments: dict | None = None,
    rng: random.Random | None = None,
) -> HandoffCall:
    """A demo call end to end: the greeter answers, the router hands the caller to a specialist,
    the specialist calls its custom tool (a real signed request, in ``mode``: test by default, so
    flagged and never billed), and the finished call emits `call.completed` naming the specialist.
    Makes outbound requests: run it from a worker or the command line, never in a web request."""
    rng = rng or random.Random()
    number = ensure_business_number(organization, rng)
    greeter = greeter_status(organization=organization, mode=mode)
    started = timezone.now()
    call = services.call_start(
        organization=organization,
        direction=Direction.INBOUND,
        from_number=fictional_number(rng),
        to_number=number.e164,
        started_at=started,
        agent_public_id=greeter.agent.public_id if greeter.agent else "",
        agent_name=greeter.name,
        mode=mode,
    )
    trace = handoff_simulate(
        organization=organization,
        utterance=utterance,
        call_session_id=call.public_id,
        mode=mode,
        tool_name=tool_name,
        arguments=arguments,
    )
    lines = [
        ("agent", f"Thanks for calling {organization.name}, this is {greeter.name}. How can I help?"),
        ("caller", utterance),
    ]
    if trace.specialist is None:
        lines.append(("agent", "I can help you with that myself."))
        summary = f"{greeter.name} answered and kept the call: no specialist matched what the caller said."
    else:
        specialist = trace.specialist.display_name
        services.call_handoff(call=call, agent_public_id=trace.specialist.public_id, agent_name=specialist)
        lines += [
            ("agent", f"Let me pass you to {specialist}, who handles that."),
            ("agent", f"Hi, this is {specialist}."),
        ]
        summary = f"{greeter.name} handed the caller to {specialist}"
        if trace.tool is None or trace.result is None:
            summary += "."
        elif trace.result.ok:
            # The tool's answer is untrusted data for the model; the transcript only says it was used.
            lines.append(("agent", "One moment while I look that up… Thanks, I have the details now."))
            summary += f", who looked up the answer with {trace.tool.name}."
        else:
            lines.append(("agent", "I'm sorry, I can't reach that system right now. Someone will call you back."))
            summary += f", whose call to {trace.tool.name} failed ({trace.result.error_code})."
    turns, offset = [], 400
    for speaker, text in lines:
        turns.append(Turn(speaker=speaker, text=text, offset_ms=offset))
        offset += 1200 + 55 * len(text)
    services.call_transcript_save(call=call, turns=turns)
    ended = max(timezone.now(), started + datetime.timedelta(milliseconds=offset))
    services.call_complete(call=call, ended_at=ended, summary=summary, outcome=Call.Outcome.QUESTION_ANSWERED)
    # Bodies are stored compressed, so the event is found by its payload here, not by the database.
    candidates = Event.objects.filter(organization=organization, type="call.completed", created_at__gte=started)
    completed = next(e for e in candidates.order_by("-created_at") if e.payload["data"]["id"] == call.public_id)
    return HandoffCall(call=call, trace=trace, completed=completed)


def _business_time(day: datetime.date, zone: ZoneInfo, rng: random.Random) -> datetime.datetime:
    # Most calls come in office hours; a few early or late.
    hour = rng.choices(range(7, 21), weights=[1, 4, 8, 9, 8, 6, 7, 8, 8, 7, 5, 3, 2, 1])[0]
    return datetime.datetime.combine(day, datetime.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=zone)


def simulate_traffic(
    *,
    organization: Organization,
    calls: int,
    days: int = 30,
    rng: random.Random | None = None,
    now: datetime.datetime | None = None,
    mode: str = LIVE,
) -> SimulationReport:
    """Create `calls` finished calls (and about one inbound text per four calls) over the last `days` days,
    in `mode`, answered as that mode's AI config says."""
    if calls < 0 or days < 1:
        raise ValueError("calls must be >= 0 and days >= 1")
    if mode not in (LIVE, TEST):
        raise ValueError(f"mode must be live or test, not {mode!r}")
    rng = rng or random.Random()
    now = now or timezone.now()
    zone = ZoneInfo(organization.timezone)
    number = ensure_business_number(organization, rng)
    people = [(name, fictional_number(rng)) for name in PEOPLE]
    report = SimulationReport()
    desk = _FrontDesk.load(organization, mode)
    config = services.ai_config_for(organization=organization, mode=mode)

    starts = []
    for _ in range(calls):
        day = (now.astimezone(zone) - datetime.timedelta(days=rng.randrange(days))).date()
        started = _business_time(day, zone, rng)
        starts.append(min(started, now - datetime.timedelta(minutes=15)))
    for started in sorted(starts):
        _one_call(
            organization=organization,
            number=number,
            people=people,
            started=started,
            now=now,
            rng=rng,
            report=report,
            desk=desk,
            config=config,
        )

    for _ in range(max(0, calls // 4)):
        _, phone = rng.choice(people)
        received = now - datetime.timedelta(minutes=rng.randint(5, days * 24 * 60))
        services.sms_receive(
            to_number=number.e164, from_number=phone, body=rng.choice(TEXTS), received_at=received, mode=mode
        )
        report.texts += 1
    return report


@dataclass
class _FrontDesk:
    """The business's agents as the router sees them, loaded once per simulation run."""

    greeter: Agent | None
    greeter_name: str
    specialists: dict[str, Agent]
    profiles: list

    @classmethod
    def load(cls, organization: Organization, mode: str = LIVE) -> _FrontDesk | None:
        """The agents of ``mode`` only: calls of one mode never route through the other's definitions."""
        agents = list(agents_for(organization=organization, mode=mode))
        if not agents:
            return None  # the built-in agent handles everything
        status = greeter_status(organization=organization, mode=mode)
        return cls(status.agent, status.name, {a.agent_key: a for a in agents}, agent_profiles(agents))

    def specialist_for(self, said: str) -> Agent | None:
        return self.specialists.get(routing.route(said, self.profiles).agent_key or "")


def _one_call(
    *,
    organization: Organization,
    number: BusinessNumber,
    people: list[tuple[str, str]],
    started: datetime.datetime,
    now: datetime.datetime,
    rng: random.Random,
    report: SimulationReport,
    config: AiConfig,
    desk: _FrontDesk | None = None,
) -> None:
    """One call in `config`'s mode: its greeting opens the transcript; with voicemail off, a caller who
    would have left a message hangs up instead."""
    scenario = rng.choices([s for s, _ in SCENARIOS], weights=[w for _, w in SCENARIOS])[0]
    if scenario == "voicemail" and not config.voicemail_enabled:
        scenario = "abandoned"
    name, phone = rng.choice(people)
    if scenario == "spam":
        name, phone = "", fictional_number(rng)
    inbound = scenario in ("spam", "voicemail", "abandoned") or rng.random() < 0.85
    service = rng.choice(SERVICES)
    slot_day = started.date() + datetime.timedelta(days=rng.randint(1, 14))
    slot = datetime.datetime.combine(
        slot_day, datetime.time(rng.choice([9, 10, 11, 13, 14, 15, 16]), rng.choice([0, 30])), tzinfo=started.tzinfo
    )
    agent_id, agent_name = "", "Scheduling agent" if scenario == "booking" else "Receptionist"
    if desk is not None:
        agent_id, agent_name = (desk.greeter.public_id if desk.greeter else ""), desk.greeter_name
    call = services.call_start(
        organization=organization,
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        from_number=phone if inbound else number.e164,
        to_number=number.e164 if inbound else phone,
        started_at=started,
        agent_public_id=agent_id,
        agent_name=agent_name,
        contact_name=name,
        mode=config.mode,
    )
    report.calls += 1
    summary, outcome = _summary(scenario, name or "An unknown caller", service, slot)

    if scenario == "voicemail":
        seconds = rng.randint(20, 70)
        ended = started + datetime.timedelta(seconds=seconds)
        call.ended_at = ended
        services.voicemail_create(
            call=call,
            duration_seconds=seconds - 8,
            transcription=f"Hi, this is {name}. Please call me back at {phone} about my {service.lower()}. Thanks.",
        )
        report.voicemails += 1
        services.call_complete(
            call=call, ended_at=ended, status=Call.Status.VOICEMAIL, summary=summary, outcome=outcome
        )
        report.outcomes[outcome] += 1
        return

    turns = _transcript(scenario, name or "there", service, slot, config.greeting)
    specialist = desk.specialist_for(next(t.text for t in turns if t.speaker == "caller")) if desk else None
    if specialist is not None:
        services.call_handoff(call=call, agent_public_id=specialist.public_id, agent_name=specialist.display_name)
        report.handoffs[specialist.display_name] += 1
    seconds = max(8, turns[-1].offset_ms // 1000 + rng.randint(5, 90))
    ended = min(started + datetime.timedelta(seconds=seconds), now)
    services.call_transcript_save(call=call, turns=turns)
    report.transcripts += 1
    if scenario not in ("spam", "abandoned"):
        services.call_recording_attach(
            call=call, audio=synthetic_recording(min(seconds, 6), rng), duration_seconds=min(seconds, 6)
        )
        report.recordings += 1
    if scenario == "booking" and call.contact is not None:
        services.appointment_book(
            organization=organization,
            contact=call.contact,
            call=call,
            service=service,
            starts_at=slot,
            duration_minutes=rng.choice([30, 45, 60]),
        )
        report.appointments += 1
    status = Call.Status.MISSED if scenario == "abandoned" and seconds < 10 else Call.Status.COMPLETED
    services.call_complete(call=call, ended_at=ended, status=status, summary=summary, outcome=outcome)
    report.outcomes[outcome] += 1
