"""Every random draw of the checkers contains what tells right from wrong, by construction.

No network, no event loop: each test runs a checker's generator over thousands of seeds and
asserts the guarantee the checker relies on (CI once failed because 1 draw in 12 of 10.1 had no
'1,234 points' score).  The matching wrong answers are in tests/test_exercises_nbNN.py.
"""

from __future__ import annotations

import random

import pytest

from helpers.exercises import common, nb00, nb01, nb03, nb04, nb07, nb10, nb12
from helpers.services.api import fraction

SEEDS = range(2000)


@pytest.mark.parametrize("count", [2, 3, 4, 5, 8])
def test_shuffled_delays_finish_out_of_input_order_by_a_margin(count):
    for seed in SEEDS:
        delays = common.shuffled_delays(count, 0.06, random.Random(seed))
        assert sorted(delays) == [round(0.06 * (i + 1), 3) for i in range(count)]
        assert delays[0] - min(delays) >= 0.06 * min(2, count - 1) - 1e-9, delays
        assert delays != sorted(delays)


def test_0_1_and_1_1_calls_finish_out_of_order():
    for seed in SEEDS:
        for call in nb00.plan(random.Random(seed)):
            delays = [d for _, d in call]
            assert common.late_first(delays, 2 * nb00.STEP), delays
        for call in nb01.plan_posts(random.Random(seed)):
            delays = list(call.values())
            assert common.late_first(delays, 2 * nb01.STEP), delays


@pytest.mark.parametrize("size", nb03.SETTLED_SIZES)
def test_3_1_successes_and_failures_each_finish_out_of_order(size):
    """Before: with 2 failures, the failed URLs finished in input order 1 draw in 2."""
    for seed in SEEDS:
        run_seed, ids, delays = nb03.settled_plan(random.Random(seed), size)
        failing = {n for n in ids if fraction("unreliable", run_seed, n) < nb03.SETTLED_RATE}
        assert 2 <= len(failing) <= size - 2
        bad = [d for n, d in zip(ids, delays) if n in failing]
        good = [d for n, d in zip(ids, delays) if n not in failing]
        assert common.late_first(bad, 2 * nb03.SETTLED_STEP), (bad, good)
        assert common.late_first(good, 2 * nb03.SETTLED_STEP), (bad, good)


def test_3_3_the_500_is_never_first():
    """Before: 1 draw in 3 put it first, and awaiting the tasks in input order passed."""
    positions = {nb03.failing_paths(random.Random(seed)).index(nb03.ONE_FAILS[1]) for seed in SEEDS}
    assert positions == {1, 2}


def test_4_1_no_fixed_heartbeat_length_fits_both_requests():
    (short_low, short_high), (long_low, long_high) = nb04.JOBS
    # a fixed run of beats lasting D passes the short job only if D <= short + MAX_LATE,
    # and the long job only if D >= long - MAX_GAP: those two ranges must not meet
    assert short_high + nb04.MAX_LATE < long_low - nb04.MAX_GAP


def test_7_1_no_fixed_deadline_fits_both_calls():
    # passes the tight call only if D < tight + SLACK; gets the patient body only if D > patient
    assert nb07.TIGHT_7_1[1] + nb07.SLACK + 0.05 <= nb07.PATIENT_7_1[0]


def test_7_2_the_first_url_always_misses_the_deadline():
    """Before: 1 draw in ~60 let a 'results as they arrive, padded with None' answer pass."""
    for seed in SEEDS:
        delays = nb07.plan_7_2(random.Random(seed))
        assert sorted(delays) == sorted(nb07.DELAYS)
        assert delays[0] > nb07.DEADLINE


def test_10_1_every_draw_shows_small_and_large_scores():
    """Before: about 1 seed in 3 showed no score under 1,000 on a page that answers 200."""
    from helpers.services import data

    for seed in range(500):
        run_seed = nb10.story_seed(random.Random(seed))
        shown = [s.points for s in data.stories(run_seed) if not s.missing and s.points is not None]
        assert any(p < 1000 for p in shown) and any(p >= 1000 for p in shown), run_seed
        assert any(s.author is None and not s.missing for s in data.stories(run_seed))
        assert sum(s.missing for s in data.stories(run_seed)) == 1


def test_10_2_every_wiki_links_a_page_with_and_without_a_fragment():
    """Before: about 1 seed in 400 had no such page, and a crawler keeping '#section-2' passed."""
    for seed in range(500):
        token, run_seed = nb10.wiki_seed(random.Random(seed))
        assert run_seed == f"ex102-{token}" and nb10.fragment_twin(run_seed)


def test_10_2_two_crawls_limits_three_then_one_on_different_wikis():
    """Before: one crawl with max_per_host drawn from {2, 3}, judged by "at most": a hard-coded
    limit_per_host=2 passed every run. Now no fixed number both stays <= 1 and reaches 3."""
    for seed in range(300):
        plans = nb10.crawl_plans(random.Random(seed))
        assert [limit for *_, limit in plans] == [3, 1]
        tokens = [token for token, _, _ in plans]
        assert len({t[:4] for t in tokens}) == len(plans)
        assert all(run_seed == f"ex102-{token}" and nb10.fragment_twin(run_seed) for token, run_seed, _ in plans)
    for fixed in range(1, 10):
        assert any(fixed > limit for limit in nb10.CRAWL_LIMITS) or all(fixed < limit for limit in nb10.CRAWL_LIMITS[:1])


def test_10_2_fragment_twin_is_not_always_true():
    """The draw above is a real filter: some seeds lack the feature (so the test above means something)."""
    assert not all(nb10.fragment_twin(f"ex102-{i:08x}") for i in range(2000))


def test_12_2_blockers_never_first_and_at_distinct_positions():
    """Before: a blocker at position 0 in all 3 pipelines (1 draw in 216) let 'the first step
    reported with slow_callback_duration = 0' pass."""
    for seed in SEEDS:
        pipelines = nb12.make_pipelines(random.Random(seed))
        positions = [p.names.index(p.blocker) for p in pipelines]
        assert 0 not in positions
        assert len(set(positions)) == len(pipelines) == nb12.ATTEMPTS
        assert len({p.blocker for p in pipelines}) == nb12.ATTEMPTS
        assert all(p.decoy != p.blocker and p.decoy in p.names for p in pipelines)


def test_13_1_no_fixed_worker_count_passes_both_cases():
    """Before: about 1 draw in 45 let some fixed number of workers pass both cases."""
    from helpers.exercises import nb13

    for seed in SEEDS:
        fast, slow = nb13.tune_cases(random.Random(seed))
        # a fixed W passes a case only within [SLACK * needed, HOG * needed]: the ranges never meet
        assert nb13.HOG * nb13._needed(*fast) < nb13.SLACK * nb13._needed(*slow)


def test_13_2_two_runs_with_limits_two_apart():
    """Before: one run with a limit in 3..6, and a semaphore hard-coded to 3 always passed."""
    from helpers.exercises import nb13

    for seed in SEEDS:
        plans = nb13.stage_plans(random.Random(seed))
        (first, ids1, *_), (second, ids2, *_) = plans
        assert second == first + 2 and first in (3, 4)
        assert not set(ids1) & set(ids2) or ids1 != ids2


def test_9_1_every_run_meets_every_permanent_code_and_transient_status():
    """Before: one 4xx drawn per run, and an answer that retried only 409 passed 5 runs in 6."""
    from helpers.exercises import nb09

    for seed in SEEDS:
        scripts = nb09.scripts_9_1(random.Random(seed))
        perm = {name: script for name, script in scripts.items() if name.startswith("perm")}
        codes = nb09.PERMANENT_CODES + nb09.SERVER_ERRORS
        assert sorted(perm.values()) == sorted(f"steps={c},200" for c in codes)
        transient = scripts["transient"].removeprefix("steps=").split(",")
        assert sorted(transient[:3]) == ["502", "503", "504"] and transient[3] == "200"


def test_9_2_every_run_ends_one_collection_with_a_full_page_and_one_with_a_short_page():
    """Before: only 1 run in 27 had a total that was a multiple of the page size, so an answer
    that stopped at a short page instead of `next: null` nearly always passed."""
    from helpers.exercises import nb09

    for seed in SEEDS:
        plan = nb09.plan_9_2(random.Random(seed))
        short, exact, early = plan["short"], plan["exact"], plan["early"]
        assert exact.total % exact.limit == 0 and exact.pages >= 4
        assert 2 <= short.total % short.limit <= short.limit - 2 and short.pages >= 8
        assert short.limit != exact.limit
        assert early.stop is not None and early.limit + 2 <= early.stop < 2 * early.limit
        assert len({c.seed for c in plan.values()}) == 3


def test_9_3_every_run_holds_every_named_status_in_a_drawn_order():
    """Before: 3 of the 4 retry statuses per run, and filing 429 as permanent passed 1 run in 4."""
    from helpers.exercises import nb09

    orders = set()
    for seed in SEEDS:
        kinds = nb09.kinds_9_3(random.Random(seed))
        statuses = [k.split(":")[1] for k in kinds if ":" in k]
        for status in ("429", "502", "503", "504", "500", "501", "400", "401", "403", "404", "410", "422"):
            assert statuses.count(status) == 1, (status, kinds)
        assert kinds.count("ok") == 3
        retries = [k for k in kinds if k.startswith("retry:")]
        assert retries.index("retry:slow") < max(i for i, k in enumerate(retries) if k != "retry:slow")
        orders.add(tuple(kinds))
    assert len(orders) > len(SEEDS) * 0.99  # the order is drawn: no learner can predict it
