"""Shared assertions for the exercise-checker tests (tests/test_exercises_chNN.py)."""


def assert_rejected_with_hint(result, hint, printed):
    """A wrong solution fails, counts as attempted, prints exactly its message, and that
    message carries ``hint``."""
    assert not result.passed and result.attempted
    assert hint in " ".join(result.message.split()), result.message
    assert printed.strip() == result.message.strip()
    assert "Traceback" not in printed
