"""A real audio element seeks inside a recording served from its signed URL: Chromium asks for byte
ranges, the app answers 206, and `seeked` fires at the requested time.

Chromium opens media with `Range: bytes=0-` and treats the file as seekable only if that is answered
206 with `Accept-Ranges`; served without ranges (as before), the same seek lands back at 0 s.
"""

from __future__ import annotations

import io
import math
import struct
import time
import wave
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Organization
from phone import recording_urls, services
from tests.phone.conftest import make_call

# CD-like 48 kHz stereo (192 kB a second), so the file is not trivially small.
SAMPLE_RATE = 48_000
SECONDS = 4


def _tone_wav() -> bytes:
    """A valid 16-bit stereo WAV: a 480 Hz tone (100 samples a period) lasting SECONDS seconds."""
    period = b"".join(
        struct.pack("<hh", sample, sample)
        for sample in (int(8000 * math.sin(2 * math.pi * n / 100)) for n in range(100))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(period * (SAMPLE_RATE * SECONDS // 100))
    return buffer.getvalue()


SEEK_TO_2_5 = """() => new Promise((resolve, reject) => {
    const audio = document.querySelector("audio");
    audio.addEventListener("seeked", () => resolve({
        currentTime: audio.currentTime,
        duration: audio.duration,
        seekableEnd: audio.seekable.length ? audio.seekable.end(0) : 0,
    }), {once: true});
    audio.addEventListener("error", () => reject(new Error("media error " + audio.error.code)));
    audio.currentTime = 2.5;
})"""


def test_an_audio_element_seeks_within_a_signed_recording(
    page: Any, live_server: Any, org: Organization, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    audio = _tone_wav()
    recording = services.call_recording_attach(call=make_call(org), audio=audio, duration_seconds=SECONDS)
    path = reverse("phone:recording-media", args=[recording.public_id])
    signed_url = f"{live_server.url}{path}?{recording_urls.sign(recording.public_id, int(time.time()) + 3600)}"

    # A page on the live server's origin holding only the player (served by Playwright, not the app).
    player_url = f"{live_server.url}/__recording-player__"
    page.route(
        player_url,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<!doctype html><audio preload="metadata" controls src="{signed_url}"></audio>',
        ),
    )
    media_responses: list[Any] = []
    page.on("response", lambda response: media_responses.append(response) if path in response.url else None)

    page.goto(player_url)
    page.wait_for_function("document.querySelector('audio').readyState >= 1")  # metadata loaded
    result = page.evaluate(SEEK_TO_2_5)

    assert result["currentTime"] == pytest.approx(2.5, abs=0.01)
    assert result["duration"] == pytest.approx(SECONDS, abs=0.01)
    assert result["seekableEnd"] == pytest.approx(SECONDS, abs=0.01)  # Chromium trusts the ranges
    seen = [(r.request.header_value("range"), r.status, r.all_headers()) for r in media_responses]
    ranged = [(header, status, headers) for header, status, headers in seen if header]
    assert ranged, f"no Range request reached the recording: {seen}"
    for header, status, headers in ranged:
        assert status == 206, (header, status)
        assert headers["accept-ranges"] == "bytes"
        assert headers["content-type"] == "audio/wav"
        start = int(header.removeprefix("bytes=").split("-")[0])
        assert headers["content-range"].startswith(f"bytes {start}-")
        assert headers["content-range"].endswith(f"/{len(audio)}")
