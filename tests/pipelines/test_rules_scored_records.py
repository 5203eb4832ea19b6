"""The rule filter on records without a positive/negative: CLAIF random pairs and ranked lists (issue 4)."""

from pipelines.filters.rules import RulesFilter, RulesSpec
from synth.records import Record

ANCHOR = "Two young boys of opposing teams play football, wearing full protective uniforms and helmets."


def test_random_pairs_are_checked_on_text_b_only():
    ok = Record(task="judge", anchor_id="a", anchor=ANCHOR, text_b="A woman is slicing tomatoes in the kitchen now.")
    bad = Record(task="judge", anchor_id="a", anchor=ANCHOR, text_b="Hi.")
    assert RulesFilter(RulesSpec()).verdicts([ok, bad]) == [None, "text_b:too_short"]


def test_every_ranked_step_is_measured_against_the_anchor():
    long_step = "Two boys from rival teams are playing a game of football in full protective gear and helmets."
    r = Record(task="ranked", anchor_id="a", anchor=ANCHOR, ranked=[long_step, "Boys play a football game outside."])
    assert RulesFilter(RulesSpec()).verdicts([r]) == [None]
