"""The login limiter's windows, on a clock the test moves."""

from __future__ import annotations

from central.auth.ratelimit import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_attacker_elsewhere_cannot_lock_the_owner_out() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_account=5, per_address=20, window=900, clock=clock)
    for _ in range(50):
        if limiter.retry_after("anna", "192.0.2.66") == 0:
            limiter.failed("anna", "192.0.2.66")
    assert limiter.retry_after("anna", "192.0.2.66") > 0
    assert limiter.retry_after("Anna", "192.0.2.10") == 0  # the owner, at home


def test_pairs_and_addresses_are_limited_and_windows_slide() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_account=3, per_address=5, window=100, clock=clock)
    for _ in range(3):
        limiter.failed("anna", "a")
        clock.now += 10
    assert limiter.retry_after("ANNA ", "a") == 70  # the first failure leaves the window then
    assert limiter.retry_after("ben", "a") == 0
    limiter.failed("ben", "a")
    limiter.failed("carl", "a")
    assert limiter.retry_after("dora", "a") > 0  # five failures from one address, any names
    assert limiter.retry_after("dora", "b") == 0
    clock.now += 100
    assert limiter.retry_after("anna", "a") == 0
    assert limiter.retry_after("dora", "a") == 0


def test_success_clears_its_pair_and_memory_is_bounded() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_account=2, per_address=100, window=100, max_keys=10, clock=clock)
    limiter.failed("anna", "a")
    limiter.failed("anna", "a")
    assert limiter.retry_after("anna", "a") > 0
    limiter.succeeded("anna", "a")
    assert limiter.retry_after("anna", "a") == 0
    for i in range(1000):
        limiter.failed(f"user{i}", f"addr{i}")
    assert len(limiter._pairs._times) == 10 and len(limiter._addresses._times) == 10
