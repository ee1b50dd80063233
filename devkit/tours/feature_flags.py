"""Feature flags (challenge 13): a flag flipped mid-demo changes what a running function answers, within the cache age."""

from __future__ import annotations

import time

from devkit.flags import FlagsClient, set_flag
from devkit.tour import Tour, expect, scenario

CACHE_AGE_SECONDS = 5  # infra/constants.py FLAGS_MAX_AGE_SECONDS


@scenario("flags: a flag flipped at run time reaches the running function within its cache age, no deploy")
def _flag_flip(tour: Tour) -> list[str]:
    token = tour.token("t2", "fiona")

    def enabled() -> list[str]:
        response = tour.call("GET", "/me/features", token=token)
        expect(response.status_code == 200, f"/me/features gave {response.status_code}: {response.text}")
        features: list[str] = response.json()["enabled"]
        return features

    before = enabled()
    client = FlagsClient(tour.endpoint_url)
    _, flags = client.current()
    flipped = set_flag(flags, "sms_notifications", default=None, tenants=["t1", "t2"], percent=None)
    started = time.monotonic()
    version = client.deploy(flipped)
    seen = None
    try:
        while time.monotonic() - started < CACHE_AGE_SECONDS + 5:
            if "sms_notifications" in enabled():
                seen = time.monotonic() - started
                break
            time.sleep(0.25)
    finally:
        client.deploy(flags)  # restored even when a call above failed: later scenarios expect the initial flags
    expect("sms_notifications" not in before, f"t2 had SMS before the flip: {before}")
    expect(seen is not None, "the flip never reached the function")
    return [
        f"t2 before: {before}",
        f"`marquee flags set sms_notifications --tenants t1,t2` deployed flags version {version}",
        f"t2 saw sms_notifications after {seen:.1f} s (cache age {CACHE_AGE_SECONDS} s); flags restored",
    ]
