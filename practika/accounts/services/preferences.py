"""A person's preferences: what they may choose, and the defaults for what they never set."""

from __future__ import annotations

from practika.accounts.models import Profile

# The form's value, its label, and what preferences["playback_speed"] holds.
TIMES = "\N{MULTIPLICATION SIGN}"
PLAYBACK_SPEEDS = {
    "0.25": (f"0.25{TIMES} (slowest)", 0.25),
    "0.5": (f"0.5{TIMES} (slow)", 0.5),
    "0.75": (f"0.75{TIMES}", 0.75),
    "0.9": (f"0.9{TIMES}", 0.9),
    "1": (f"1{TIMES} (normal)", 1.0),
}
DEFAULT_PREFERENCES = {"email_notifications": True, "playback_speed": 1.0}


def preferences_of(profile: Profile) -> dict:
    """The person's preferences, with the defaults for whatever they never set."""
    return {**DEFAULT_PREFERENCES, **(profile.preferences or {})}


def speed_choice(speed: object) -> str:
    """The form's value for a stored speed; normal speed for one the form does not offer."""
    for value, (_, number) in PLAYBACK_SPEEDS.items():
        if speed == number:
            return value
    return "1"
