"""The co-review lead-time distribution of the dashboard."""

from __future__ import annotations

from datetime import timedelta

from engine.dashboard import Bucket, lead_times


def test_no_completed_co_review_gives_empty_buckets_and_no_median() -> None:
    result = lead_times([])
    assert result.count == 0
    assert result.median_days is None and result.p90_days is None
    assert [b.count for b in result.buckets] == [0, 0, 0, 0, 0, 0]


def test_each_run_falls_in_the_bucket_of_its_whole_days() -> None:
    runs = [timedelta(hours=5), timedelta(days=1), timedelta(days=2, hours=23), timedelta(days=40)]
    result = lead_times(runs)
    assert result.buckets == (
        Bucket(0, 1, 1),
        Bucket(1, 3, 2),
        Bucket(3, 7, 0),
        Bucket(7, 14, 0),
        Bucket(14, 30, 0),
        Bucket(30, None, 1),
    )
    assert result.count == 4


def test_median_and_90th_percentile_are_in_days() -> None:
    result = lead_times([timedelta(days=d) for d in range(1, 11)])
    assert result.median_days == 5.5
    assert result.p90_days == 9.1


def test_a_single_run_is_its_own_median_and_percentile() -> None:
    result = lead_times([timedelta(days=2)])
    assert result.median_days == result.p90_days == 2.0
